package io.strata.migration;

import java.time.Instant;

/** A named location that endpoints and worker services are mapped to. */
public record Region(String id, String projectId, String name, String description, boolean enabled, Instant createdAt, Instant updatedAt)
        implements MigrationStore.Document {
    public Region with(String newName, String newDescription, boolean newEnabled, Instant now) {
        return new Region(id, projectId, newName, newDescription, newEnabled, createdAt, now);
    }
}
