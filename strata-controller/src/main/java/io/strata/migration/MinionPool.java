package io.strata.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;

/**
 * A pool of helper machines kept ready on an endpoint for transfers: allocation, refresh and
 * deallocation follow Coriolis' states. {@code workerId} is the worker service (controller) that
 * runs the pool's current allocation or deallocation, so that another one takes it over only when
 * that one is down, and a restarted one resumes its own.
 */
public record MinionPool(String id, String projectId, String name, String endpointId, String platform, String osType,
        ObjectNode environmentOptions, int minimumMinions, int maximumMinions, int minionMaxIdleTime, String minionRetentionStrategy,
        String notes, String status, List<ObjectNode> minionMachines, Instant createdAt, Instant updatedAt, String workerId)
        implements MigrationStore.Document {
    public MinionPool {
        minionMachines = List.copyOf(minionMachines);
    }

    public MinionPool withStatus(String newStatus, List<ObjectNode> machines, Instant now) {
        return new MinionPool(id, projectId, name, endpointId, platform, osType, environmentOptions, minimumMinions, maximumMinions,
                minionMaxIdleTime, minionRetentionStrategy, notes, newStatus, machines, createdAt, now, workerId);
    }

    public MinionPool withWorker(String newWorkerId, Instant now) {
        return new MinionPool(id, projectId, name, endpointId, platform, osType, environmentOptions, minimumMinions, maximumMinions,
                minionMaxIdleTime, minionRetentionStrategy, notes, status, minionMachines, createdAt, now, newWorkerId);
    }

    public MinionPool withSettings(String newName, ObjectNode newOptions, int newMinimum, int newMaximum, int newIdle, String newRetention,
            String newNotes, Instant now) {
        return new MinionPool(id, projectId, newName, endpointId, platform, osType, newOptions, newMinimum, newMaximum, newIdle, newRetention,
                newNotes, status, minionMachines, createdAt, now, workerId);
    }
}
