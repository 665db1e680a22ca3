package io.strata.identity;

import java.time.Instant;

public record Domain(String id, String name, String description, boolean enabled, Instant createdAt) {
    /** Keystone's default domain has this fixed id; clients and docs rely on it. */
    public static final String DEFAULT_ID = "default";
    public static final String DEFAULT_NAME = "Default";
}
