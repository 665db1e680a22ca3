package io.strata.migration;

import java.time.Instant;
import java.util.List;

/**
 * A worker that runs tasks: registered on start by each controller, disabled for maintenance
 * (a disabled worker takes no new executions), mapped to regions that executions are placed by.
 */
public record WorkerService(String id, String projectId, String host, String binary, String topic, boolean enabled, String status,
        List<String> providers, List<String> mappedRegions, Instant lastSeenAt, Instant createdAt, Instant updatedAt)
        implements MigrationStore.Document {
    public WorkerService {
        providers = List.copyOf(providers);
        mappedRegions = List.copyOf(mappedRegions);
    }

    public WorkerService with(boolean newEnabled, List<String> newRegions, String newStatus, Instant seen, Instant now) {
        return new WorkerService(id, projectId, host, binary, topic, newEnabled, newStatus, providers, newRegions, seen, createdAt, now);
    }
}
