package io.strata.identity;

import java.time.Instant;

public record Role(String id, String name, String description, Instant createdAt) {}
