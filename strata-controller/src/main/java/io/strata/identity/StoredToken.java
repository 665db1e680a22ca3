package io.strata.identity;

import java.time.Instant;

/** A token row: the SHA-256 of the token, never the token itself. */
public record StoredToken(
        String tokenHash, String userId, String projectId, String domainId, String methods, String auditId, Instant issuedAt, Instant expiresAt) {}
