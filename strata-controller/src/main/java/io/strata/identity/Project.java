package io.strata.identity;

import java.time.Instant;

public record Project(String id, String domainId, String name, String description, boolean enabled, Instant createdAt) {}
