package io.strata.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/**
 * A cron-style trigger of a replica's executions: {@code schedule} holds any of minute, hour,
 * dom, month and dow (UTC; absent means every). Disabled and expired schedules do not fire.
 */
public record Schedule(String id, String projectId, String replicaId, ObjectNode schedule, boolean enabled, Instant expirationDate,
        boolean shutdownInstance, Instant lastFiredAt, Instant createdAt, Instant updatedAt) implements MigrationStore.Document {
    @Override
    public String parentId() {
        return replicaId;
    }

    public Schedule with(ObjectNode newSchedule, boolean newEnabled, Instant newExpiration, boolean newShutdown, Instant now) {
        return new Schedule(id, projectId, replicaId, newSchedule, newEnabled, newExpiration, newShutdown, lastFiredAt, createdAt, now);
    }

    public Schedule fired(Instant minute) {
        return new Schedule(id, projectId, replicaId, schedule, enabled, expirationDate, shutdownInstance, minute, createdAt, updatedAt);
    }
}
