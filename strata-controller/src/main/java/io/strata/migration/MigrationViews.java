package io.strata.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.api.Json;
import java.util.List;

/** The wire shapes of Coriolis' views (coriolis/api/v1/views), from Strata's records. */
final class MigrationViews {
    private MigrationViews() {}

    static ObjectNode endpoint(Endpoint e) {
        ObjectNode node = Json.object();
        node.put("id", e.id());
        node.put("name", e.name());
        node.put("type", e.type());
        node.put("description", e.description());
        // Never the connection info itself: only where it is kept.
        node.putObject("connection_info").put("secret_ref", e.secretId());
        ArrayNode regions = node.putArray("mapped_regions");
        e.mappedRegions().forEach(regions::add);
        node.put("project_id", e.projectId());
        timestamps(node, e.createdAt(), e.updatedAt());
        return node;
    }

    static ObjectNode transfer(Transfer t, List<Execution> executions) {
        ObjectNode node = Json.object();
        node.put("id", t.id());
        node.put("scenario", t.isReplica() ? "replica" : "migration");
        node.put("origin_endpoint_id", t.originEndpointId());
        node.put("destination_endpoint_id", t.destinationEndpointId());
        node.put("origin_minion_pool_id", t.originMinionPoolId());
        node.put("destination_minion_pool_id", t.destinationMinionPoolId());
        node.set("instance_osmorphing_minion_pool_mappings", t.instanceOsmorphingMinionPoolMappings());
        ArrayNode instances = node.putArray("instances");
        t.instances().forEach(instances::add);
        node.set("source_environment", t.sourceEnvironment());
        node.set("destination_environment", t.destinationEnvironment());
        node.set("network_map", t.networkMap());
        node.set("storage_mappings", t.storageMappings());
        node.set("user_scripts", t.userScripts());
        node.put("notes", t.notes());
        // From the newest execution shown in the same answer, as Coriolis derives it: the stored
        // status is written just after the execution's, and a reader in between saw them disagree.
        String lastStatus = executions.isEmpty() ? t.lastExecutionStatus() : executions.getLast().status();
        node.put("last_execution_status", lastStatus);
        node.set("info", t.info());
        node.put("project_id", t.projectId());
        ArrayNode list = node.putArray("executions");
        executions.forEach(e -> list.add(execution(e)));
        if (!t.isReplica()) {
            node.put("replica_id", t.replicaId());
            node.put("shutdown_instances", t.shutdownInstances());
            if (t.replicationCount() != null) {
                node.put("replication_count", t.replicationCount());
            } else {
                node.putNull("replication_count");
            }
            node.put("clone_disks", t.cloneDisks());
            node.put("skip_os_morphing", t.skipOsMorphing());
            node.put("status", lastStatus);
            ArrayNode tasks = node.putArray("tasks");
            if (!executions.isEmpty()) {
                list.get(list.size() - 1).get("tasks").forEach(tasks::add);
            }
            ObjectNode result = node.putObject("transfer_result");
            t.info().fields().forEachRemaining(entry -> {
                JsonNode deployed = entry.getValue().get("transfer_result");
                if (deployed != null) {
                    result.set(entry.getKey(), deployed);
                }
            });
        }
        timestamps(node, t.createdAt(), t.updatedAt());
        return node;
    }

    static ObjectNode execution(Execution e) {
        ObjectNode node = Json.object();
        node.put("id", e.id());
        node.put("number", e.number());
        node.put("status", e.status());
        node.put("type", e.type());
        node.put("action_id", e.transferId());
        node.put("shutdown_instances", e.shutdownInstances());
        ArrayNode tasks = node.putArray("tasks");
        for (Task task : e.tasks()) {
            if (!task.status().equals(ExecutionStatus.TASK_ON_ERROR_ONLY)) {
                tasks.add(task(task));
            }
        }
        timestamps(node, e.createdAt(), e.updatedAt());
        return node;
    }

    static ObjectNode task(Task t) {
        ObjectNode node = Json.object();
        node.put("id", t.id());
        node.put("index", t.index());
        node.put("task_type", t.taskType());
        node.put("instance", t.instance());
        node.put("status", t.status());
        ArrayNode depends = node.putArray("depends_on");
        t.dependsOn().forEach(depends::add);
        node.put("on_error", t.onError());
        node.put("exception_details", t.exceptionDetails());
        ArrayNode updates = node.putArray("progress_updates");
        for (Task.ProgressUpdate update : t.progressUpdates()) {
            ObjectNode u = updates.addObject();
            u.put("index", update.index());
            if (update.currentStep() == null) {
                u.putNull("current_step");
            } else {
                u.put("current_step", update.currentStep());
            }
            if (update.totalSteps() == null) {
                u.putNull("total_steps");
            } else {
                u.put("total_steps", update.totalSteps());
            }
            u.put("message", update.message());
            u.put("created_at", Json.isoMicrosNoZone(update.createdAt()));
        }
        timestamps(node, t.createdAt(), t.updatedAt());
        return node;
    }

    static ObjectNode schedule(Schedule s) {
        ObjectNode node = Json.object();
        node.put("id", s.id());
        node.put("replica_id", s.replicaId());
        node.set("schedule", s.schedule());
        node.put("enabled", s.enabled());
        node.put("expiration_date", Json.isoMicrosNoZone(s.expirationDate()));
        node.put("shutdown_instance", s.shutdownInstance());
        node.put("last_fired_at", Json.isoMicrosNoZone(s.lastFiredAt()));
        timestamps(node, s.createdAt(), s.updatedAt());
        return node;
    }

    static ObjectNode minionPool(MinionPool p) {
        ObjectNode node = Json.object();
        node.put("id", p.id());
        node.put("name", p.name());
        node.put("endpoint_id", p.endpointId());
        node.put("platform", p.platform());
        node.put("os_type", p.osType());
        node.set("environment_options", p.environmentOptions());
        node.put("minimum_minions", p.minimumMinions());
        node.put("maximum_minions", p.maximumMinions());
        node.put("minion_max_idle_time", p.minionMaxIdleTime());
        node.put("minion_retention_strategy", p.minionRetentionStrategy());
        node.put("notes", p.notes());
        node.put("status", p.status());
        ArrayNode machines = node.putArray("minion_machines");
        p.minionMachines().forEach(machines::add);
        node.putObject("shared_resources");
        node.putArray("progress_updates");
        timestamps(node, p.createdAt(), p.updatedAt());
        return node;
    }

    static ObjectNode region(Region r, List<String> endpoints, List<String> services) {
        ObjectNode node = Json.object();
        node.put("id", r.id());
        node.put("name", r.name());
        node.put("description", r.description());
        node.put("enabled", r.enabled());
        ArrayNode mappedEndpoints = node.putArray("mapped_endpoints");
        endpoints.forEach(mappedEndpoints::add);
        ArrayNode mappedServices = node.putArray("mapped_services");
        services.forEach(mappedServices::add);
        timestamps(node, r.createdAt(), r.updatedAt());
        return node;
    }

    static ObjectNode service(WorkerService s) {
        ObjectNode node = Json.object();
        node.put("id", s.id());
        node.put("host", s.host());
        node.put("binary", s.binary());
        node.put("topic", s.topic());
        node.put("enabled", s.enabled());
        node.put("status", s.status());
        ObjectNode providers = node.putObject("providers");
        s.providers().forEach(p -> providers.putObject(p));
        node.putObject("specs");
        ArrayNode regions = node.putArray("mapped_regions");
        s.mappedRegions().forEach(regions::add);
        node.put("last_seen_at", Json.isoMicrosNoZone(s.lastSeenAt()));
        timestamps(node, s.createdAt(), s.updatedAt());
        return node;
    }

    private static void timestamps(ObjectNode node, java.time.Instant created, java.time.Instant updated) {
        node.put("created_at", Json.isoMicrosNoZone(created));
        node.put("updated_at", Json.isoMicrosNoZone(updated));
        node.putNull("deleted_at");
        node.put("deleted", false);
    }
}
