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
 * {@code replicationCount} (migrations from the source) is how many copies run before the
 * deployment, the last one after the shutdown when {@code shutdownInstances}; null for replicas.
 * {@code userScripts} are run by OS morphing (see {@link UserScripts});
 * {@code instanceOsmorphingMinionPoolMappings} maps instances to destination minion pools.
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
        Integer replicationCount,
        ObjectNode userScripts,
        ObjectNode instanceOsmorphingMinionPoolMappings,
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
        userScripts = orEmpty(userScripts);
        instanceOsmorphingMinionPoolMappings = orEmpty(instanceOsmorphingMinionPoolMappings);
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
                cloneDisks, skipOsMorphing, replicationCount, userScripts, instanceOsmorphingMinionPoolMappings, info, status, createdAt, now);
    }

    public Transfer withSettings(ObjectNode newSourceEnvironment, ObjectNode newDestinationEnvironment, ObjectNode newNetworkMap,
            ObjectNode newStorageMappings, String newNotes, ObjectNode newUserScripts, ObjectNode newPoolMappings, Instant now) {
        return new Transfer(id, projectId, scenario, originEndpointId, destinationEndpointId, originMinionPoolId, destinationMinionPoolId,
                instances, newSourceEnvironment, newDestinationEnvironment, newNetworkMap, newStorageMappings, newNotes, shutdownInstances,
                replicaId, cloneDisks, skipOsMorphing, replicationCount, newUserScripts, newPoolMappings, info, lastExecutionStatus, createdAt, now);
    }

    public Transfer withMinionPools(String newOriginMinionPoolId, String newDestinationMinionPoolId, Instant now) {
        return new Transfer(id, projectId, scenario, originEndpointId, destinationEndpointId, newOriginMinionPoolId, newDestinationMinionPoolId,
                instances, sourceEnvironment, destinationEnvironment, networkMap, storageMappings, notes, shutdownInstances, replicaId, cloneDisks,
                skipOsMorphing, replicationCount, userScripts, instanceOsmorphingMinionPoolMappings, info, lastExecutionStatus, createdAt, now);
    }

    private static ObjectNode orEmpty(ObjectNode node) {
        return node == null ? JsonNodeFactory.instance.objectNode() : node;
    }
}
