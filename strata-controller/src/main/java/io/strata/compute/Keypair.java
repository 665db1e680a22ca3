package io.strata.compute;

import java.time.Instant;

/** An SSH (or x509) public key registered by a user, injected into servers booted with it. */
public record Keypair(long id, String userId, String name, String type, String publicKey, String fingerprint, Instant createdAt) {}
