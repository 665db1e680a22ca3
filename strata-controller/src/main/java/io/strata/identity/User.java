package io.strata.identity;

import java.time.Instant;

/** A user; the password hash never leaves the identity service. */
public record User(
        String id,
        String domainId,
        String name,
        String passwordHash,
        String email,
        String description,
        boolean enabled,
        String defaultProjectId,
        Instant createdAt) {}
