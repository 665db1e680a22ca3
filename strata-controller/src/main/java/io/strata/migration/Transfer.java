package io.strata.migration;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;

/**
 * A replica (kept in sync by repeated executions, deployed later) or a migration (one execution
 * that copies and deploys). {@code info} holds, per instance, what the tasks learnt and created:
 * export info, the destination volumes, the deployed instance; it is what cleanup works from.
 * {@code skipOsMorphing} (migrations and replica deployments) leaves the disks as they were copied.
 */
public record Transfer(
        String id,
        String projectId,
        String scenario,
        String originEndpointId,
        String destinationEndpointId,
        String originMinionPoolId,
        String destinationMinionPoolId,
        List<String> instances,
        ObjectNode sourceEnvironment,
        ObjectNode destinationEnvironment,
        ObjectNode networkMap,
        ObjectNode storageMappings,
        String notes,
        boolean shutdownInstances,
        String replicaId,
        boolean cloneDisks,
        boolean skipOsMorphing,
        ObjectNode info,
        String lastExecutionStatus,
        Instant createdAt,
        Instant updatedAt) implements MigrationStore.Document {
    public static final String REPLICA = "replica";
    public static final String MIGRATION = "migration";

    public Transfer {
        instances = List.copyOf(instances);
        sourceEnvironment = orEmpty(sourceEnvironment);
        destinationEnvironment = orEmpty(destinationEnvironment);
        networkMap = orEmpty(networkMap);
        storageMappings = orEmpty(storageMappings);
        info = orEmpty(info);
    }

    public boolean isReplica() {
        return REPLICA.equals(scenario);
    }

    /** The info object of one instance, created when absent (the record's info is mutable scratch). */
    public ObjectNode instanceInfo(String instance) {
        if (!info.has(instance) || !info.get(instance).isObject()) {
            info.putObject(instance);
        }
        return (ObjectNode) info.get(instance);
    }

    public Transfer withStatus(String status, Instant now) {
        return new Transfer(id, projectId, scenario, originEndpointId, destinationEndpointId, originMinionPoolId, destinationMinionPoolId,
                instances, sourceEnvironment, destinationEnvironment, networkMap, storageMappings, notes, shutdownInstances, replicaId,
                cloneDisks, skipOsMorphing, info, status, createdAt, now);
    }

    public Transfer withSettings(ObjectNode newSourceEnvironment, ObjectNode newDestinationEnvironment, ObjectNode newNetworkMap,
            ObjectNode newStorageMappings, String newNotes, Instant now) {
        return new Transfer(id, projectId, scenario, originEndpointId, destinationEndpointId, originMinionPoolId, destinationMinionPoolId,
                instances, newSourceEnvironment, newDestinationEnvironment, newNetworkMap, newStorageMappings, newNotes, shutdownInstances,
                replicaId, cloneDisks, skipOsMorphing, info, lastExecutionStatus, createdAt, now);
    }

    private static ObjectNode orEmpty(ObjectNode node) {
        return node == null ? JsonNodeFactory.instance.objectNode() : node;
    }
}
