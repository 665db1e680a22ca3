package io.strata.migration;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** The task graphs of each kind of execution, per instance, in Coriolis' task type names. */
final class TaskPlans {
    static final String GET_INSTANCE_INFO = "GET_INSTANCE_INFO";
    static final String DEPLOY_REPLICA_DISKS = "DEPLOY_REPLICA_DISKS";
    static final String SHUTDOWN_INSTANCE = "SHUTDOWN_INSTANCE";
    static final String REPLICATE_DISKS = "REPLICATE_DISKS";
    static final String DELETE_REPLICA_DISKS = "DELETE_REPLICA_DISKS";
    static final String OS_MORPHING = "OS_MORPHING";
    static final String DEPLOY_REPLICA_INSTANCE_RESOURCES = "DEPLOY_REPLICA_INSTANCE_RESOURCES";
    static final String FINALIZE_REPLICA_INSTANCE_DEPLOYMENT = "FINALIZE_REPLICA_INSTANCE_DEPLOYMENT";
    static final String CLEANUP_FAILED_REPLICA_INSTANCE_DEPLOYMENT = "CLEANUP_FAILED_REPLICA_INSTANCE_DEPLOYMENT";
    static final String DEPLOY_MIGRATION_TARGET_RESOURCES = "DEPLOY_MIGRATION_TARGET_RESOURCES";
    static final String DEPLOY_INSTANCE_RESOURCES = "DEPLOY_INSTANCE_RESOURCES";
    static final String FINALIZE_INSTANCE_DEPLOYMENT = "FINALIZE_INSTANCE_DEPLOYMENT";
    static final String CLEANUP_FAILED_INSTANCE_DEPLOYMENT = "CLEANUP_FAILED_INSTANCE_DEPLOYMENT";
    static final String DELETE_MIGRATION_TARGET_RESOURCES = "DELETE_MIGRATION_TARGET_RESOURCES";

    private TaskPlans() {}

    /** Replica execution: info, volumes, optional shutdown, incremental copy. */
    static List<Task> replicaExecution(List<String> instances, boolean shutdown, Instant now) {
        Plan plan = new Plan(now);
        for (String instance : instances) {
            String info = plan.add(GET_INSTANCE_INFO, instance, List.of(), false);
            String disks = plan.add(DEPLOY_REPLICA_DISKS, instance, List.of(info), false);
            String before = disks;
            if (shutdown) {
                before = plan.add(SHUTDOWN_INSTANCE, instance, List.of(disks), false);
            }
            plan.add(REPLICATE_DISKS, instance, List.of(before), false);
        }
        return plan.tasks;
    }

    static List<Task> deleteReplicaDisks(List<String> instances, Instant now) {
        Plan plan = new Plan(now);
        instances.forEach(instance -> plan.add(DELETE_REPLICA_DISKS, instance, List.of(), false));
        return plan.tasks;
    }

    /**
     * Deploying a replica: the volumes are adapted to the destination (OS morphing, which records
     * why when it is skipped), then an instance is made from (clones of) them; cleaned up when it fails.
     */
    static List<Task> replicaDeploy(List<String> instances, Instant now) {
        Plan plan = new Plan(now);
        for (String instance : instances) {
            String morph = plan.add(OS_MORPHING, instance, List.of(), false);
            String deploy = plan.add(DEPLOY_REPLICA_INSTANCE_RESOURCES, instance, List.of(morph), false);
            plan.add(FINALIZE_REPLICA_INSTANCE_DEPLOYMENT, instance, List.of(deploy), false);
            plan.add(CLEANUP_FAILED_REPLICA_INSTANCE_DEPLOYMENT, instance, List.of(deploy), true);
        }
        return plan.tasks;
    }

    /**
     * A migration: {@code replicationCount} copies, each of the blocks that changed since the one
     * before, while the source runs; when asked, the source is shut down before the last one (as
     * Coriolis' replication_count with shutdown_instances). Then the copied OS is adapted to the
     * destination (OS morphing) and deployed. On failure the deployed instance and the volumes go.
     */
    static List<Task> migration(List<String> instances, int replicationCount, boolean shutdown, Instant now) {
        if (replicationCount < 1) {
            throw new IllegalArgumentException("replicationCount must be at least 1, not " + replicationCount);
        }
        Plan plan = new Plan(now);
        for (String instance : instances) {
            String info = plan.add(GET_INSTANCE_INFO, instance, List.of(), false);
            String disks = plan.add(DEPLOY_MIGRATION_TARGET_RESOURCES, instance, List.of(info), false);
            String copy = disks;
            for (int round = 1; round <= replicationCount; round++) {
                if (shutdown && round == replicationCount) {
                    copy = plan.add(SHUTDOWN_INSTANCE, instance, List.of(copy), false);
                }
                copy = plan.add(REPLICATE_DISKS, instance, List.of(copy), false);
            }
            String morph = plan.add(OS_MORPHING, instance, List.of(copy), false);
            String deploy = plan.add(DEPLOY_INSTANCE_RESOURCES, instance, List.of(morph), false);
            String finish = plan.add(FINALIZE_INSTANCE_DEPLOYMENT, instance, List.of(deploy), false);
            plan.add(DELETE_MIGRATION_TARGET_RESOURCES, instance, List.of(finish), false);
            plan.add(CLEANUP_FAILED_INSTANCE_DEPLOYMENT, instance, List.of(deploy), true);
            plan.add(DELETE_MIGRATION_TARGET_RESOURCES, instance, List.of(disks), true);
        }
        return plan.tasks;
    }

    private static final class Plan {
        private final Instant now;
        private final List<Task> tasks = new ArrayList<>();

        Plan(Instant now) {
            this.now = now;
        }

        String add(String type, String instance, List<String> dependsOn, boolean onError) {
            String id = UUID.randomUUID().toString();
            tasks.add(new Task(id, tasks.size(), type, instance, onError ? ExecutionStatus.TASK_ON_ERROR_ONLY : ExecutionStatus.TASK_SCHEDULED,
                    dependsOn, onError, null, List.of(), now, now));
            return id;
        }
    }
}
