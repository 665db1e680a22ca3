package io.strata.migration;

import java.time.Instant;
import java.util.List;
import java.util.function.UnaryOperator;

/** One run of a transfer: a numbered task graph with its overall status, and the worker that runs it. */
public record Execution(String id, String projectId, String transferId, int number, String type, String status,
        boolean shutdownInstances, List<Task> tasks, String workerId, Instant createdAt, Instant updatedAt) implements MigrationStore.Document {
    public static final String TYPE_REPLICA_EXECUTION = "replica_execution";
    public static final String TYPE_REPLICA_DISKS_DELETE = "replica_disks_delete";
    public static final String TYPE_REPLICA_DEPLOY = "replica_deploy";
    public static final String TYPE_MIGRATION = "migration";

    public Execution {
        tasks = List.copyOf(tasks);
    }

    @Override
    public String parentId() {
        return transferId;
    }

    public Execution withStatus(String newStatus, Instant now) {
        return new Execution(id, projectId, transferId, number, type, newStatus, shutdownInstances, tasks, workerId, createdAt, now);
    }

    public Execution withTask(String taskId, UnaryOperator<Task> change, Instant now) {
        List<Task> changed = tasks.stream().map(t -> t.id().equals(taskId) ? change.apply(t) : t).toList();
        return new Execution(id, projectId, transferId, number, type, status, shutdownInstances, changed, workerId, createdAt, now);
    }

    /** The worker service that runs (or is to run) this execution. */
    public Execution withWorker(String worker, Instant now) {
        return new Execution(id, projectId, transferId, number, type, status, shutdownInstances, tasks, worker, createdAt, now);
    }

    public Task task(String taskId) {
        return tasks.stream().filter(t -> t.id().equals(taskId)).findFirst()
                .orElseThrow(() -> new IllegalStateException("execution " + id + " has no task " + taskId));
    }

    public boolean isActive() {
        return ExecutionStatus.isActive(status);
    }
}
