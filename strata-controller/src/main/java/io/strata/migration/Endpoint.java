package io.strata.migration;

import java.time.Instant;
import java.util.List;

/** A cloud or host that instances are exported from or imported into; its credentials are a sealed secret. */
public record Endpoint(String id, String projectId, String name, String type, String description, String secretId,
        List<String> mappedRegions, Instant createdAt, Instant updatedAt) implements MigrationStore.Document {
    public Endpoint {
        mappedRegions = mappedRegions == null ? List.of() : List.copyOf(mappedRegions);
    }

    public Endpoint with(String newName, String newDescription, String newSecretId, List<String> newRegions, Instant now) {
        return new Endpoint(id, projectId, newName, type, newDescription, newSecretId, newRegions, createdAt, now);
    }
}
