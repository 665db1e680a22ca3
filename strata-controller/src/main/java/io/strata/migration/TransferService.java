package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import io.strata.migration.provider.NetworkMap;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.UUID;

/** Replicas, migrations and their executions: creation, runs, cancellation, deletion. */
public final class TransferService {
    private final MigrationStore store;
    private final EndpointService endpoints;
    private final WorkerRegistry workers;
    private final TaskEngine engine;
    private final Clock clock;

    public TransferService(MigrationStore store, EndpointService endpoints, WorkerRegistry workers, TaskEngine engine, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.endpoints = requireNonNull(endpoints, "endpoints is null");
        this.workers = requireNonNull(workers, "workers is null");
        this.engine = requireNonNull(engine, "engine is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * What a replica or migration is created from. {@code replicationCount} (migrations only; null:
     * one copy, two with a shutdown), {@code userScripts} and {@code poolMappings} are as the API
     * gave them (null when absent) and are checked here.
     */
    public record Request(String originEndpointId, String destinationEndpointId, String originMinionPoolId, String destinationMinionPoolId,
            List<String> instances, ObjectNode sourceEnvironment, ObjectNode destinationEnvironment, ObjectNode networkMap,
            ObjectNode storageMappings, String notes, boolean shutdownInstances, boolean skipOsMorphing, Integer replicationCount,
            JsonNode userScripts, JsonNode poolMappings) {
        public Request(String originEndpointId, String destinationEndpointId, String originMinionPoolId, String destinationMinionPoolId,
                List<String> instances, ObjectNode sourceEnvironment, ObjectNode destinationEnvironment, ObjectNode networkMap,
                ObjectNode storageMappings, String notes, boolean shutdownInstances, boolean skipOsMorphing) {
            this(originEndpointId, destinationEndpointId, originMinionPoolId, destinationMinionPoolId, instances, sourceEnvironment,
                    destinationEnvironment, networkMap, storageMappings, notes, shutdownInstances, skipOsMorphing, null, null, null);
        }
    }

    /** Coriolis' bounds of replication_count. */
    public static final int MAX_REPLICATION_COUNT = 10;

    public Transfer createReplica(String projectId, Request request) {
        Transfer replica = newTransfer(projectId, Transfer.REPLICA, request, null, true);
        store.insert(Kind.TRANSFER, replica);
        return replica;
    }

    /** A migration straight from the source: copy, optionally shut down and copy again, deploy. */
    public Transfer createMigration(String projectId, Request request) {
        Transfer migration = newTransfer(projectId, Transfer.MIGRATION, request, null, false);
        workers.pick(endpoint(projectId, migration.originEndpointId()), endpoint(projectId, migration.destinationEndpointId()));
        store.insert(Kind.TRANSFER, migration);
        start(migration, Execution.TYPE_MIGRATION, TaskPlans.migration(migration.instances(), migration.replicationCount(),
                migration.shutdownInstances(), clock.instant()), migration.shutdownInstances());
        return transfer(projectId, migration.id(), Transfer.MIGRATION);
    }

    /**
     * Deploys a replica's latest copy as a migration of its own. {@code userScripts} and
     * {@code poolMappings}, when given, replace the replica's for this deployment (as Coriolis'
     * deployment from a replica takes them), else the replica's apply.
     */
    public Transfer deployReplica(String projectId, String replicaId, boolean cloneDisks, boolean skipOsMorphing, ObjectNode destinationEnvironment,
            List<String> instances, boolean force, JsonNode userScripts, JsonNode poolMappings) {
        Transfer replica = transfer(projectId, replicaId, Transfer.REPLICA);
        List<Execution> executions = executions(replica.id());
        if (executions.stream().anyMatch(Execution::isActive)) {
            throw CloudException.conflict("Replica %s has a running execution; wait for it or cancel it", replicaId);
        }
        // As Coriolis: disks that no execution ever completed may be partial; deploying them takes force.
        boolean completedOnce = executions.stream().anyMatch(e -> e.type().equals(Execution.TYPE_REPLICA_EXECUTION)
                && e.status().equals(ExecutionStatus.COMPLETED));
        if (!completedOnce && !force) {
            throw CloudException.conflict("Replica %s must have been executed successfully at least once to be deployed; "
                    + "force the deployment to use its disks as they are", replicaId);
        }
        List<String> chosen = instances == null || instances.isEmpty() ? replica.instances() : instances;
        for (String instance : chosen) {
            if (!replica.instances().contains(instance)) {
                throw CloudException.badRequest("Instance %s is not part of replica %s", instance, replicaId);
            }
            if (!replica.instanceInfo(instance).has("volumes_info") || replica.instanceInfo(instance).get("volumes_info").isEmpty()) {
                throw CloudException.conflict("Replica %s has no replicated disks for %s; execute it first", replicaId, instance);
            }
        }
        ObjectNode environment = replica.destinationEnvironment().deepCopy();
        if (destinationEnvironment != null) {
            environment.setAll(destinationEnvironment);
        }
        JsonNode scripts = userScripts != null ? userScripts : UserScripts.forInstances(replica.userScripts(), chosen);
        ObjectNode replicaMappings = replica.instanceOsmorphingMinionPoolMappings().deepCopy();
        replicaMappings.retain(chosen);
        Request request = new Request(replica.originEndpointId(), replica.destinationEndpointId(), null, null, chosen, replica.sourceEnvironment(),
                environment, replica.networkMap(), replica.storageMappings(), replica.notes(), false, skipOsMorphing, null, scripts,
                poolMappings != null ? poolMappings : replicaMappings);
        Transfer deployment = newTransfer(projectId, Transfer.MIGRATION, request, replica.id(), cloneDisks);
        store.insert(Kind.TRANSFER, deployment);
        start(deployment, Execution.TYPE_REPLICA_DEPLOY, TaskPlans.replicaDeploy(chosen, clock.instant()), false);
        return transfer(projectId, deployment.id(), Transfer.MIGRATION);
    }

    private Transfer newTransfer(String projectId, String scenario, Request request, String replicaId, boolean cloneDisks) {
        Endpoint origin = endpoint(projectId, request.originEndpointId());
        Endpoint destination = endpoint(projectId, request.destinationEndpointId());
        if (request.instances() == null || request.instances().isEmpty()) {
            throw CloudException.badRequest("At least one instance is required");
        }
        if (new LinkedHashSet<>(request.instances()).size() != request.instances().size()) {
            throw CloudException.badRequest("The instances list contains duplicates");
        }
        if (replicaId == null) {
            endpoints.checkEnvironment(origin, request.sourceEnvironment() == null ? MigrationStore.MAPPER.createObjectNode()
                    : request.sourceEnvironment(), false);
            endpoints.checkEnvironment(destination, request.destinationEnvironment() == null ? MigrationStore.MAPPER.createObjectNode()
                    : request.destinationEnvironment(), true);
        }
        if (replicaId == null) {
            checkStorageMappings(projectId, destination.id(), request.storageMappings(), request.destinationEnvironment());
            checkNetworkMap(projectId, destination.id(), request.networkMap(), request.destinationEnvironment());
        }
        checkPool(projectId, request.originMinionPoolId(), origin.id(), "source");
        checkPool(projectId, request.destinationMinionPoolId(), destination.id(), "destination");
        ObjectNode scripts = UserScripts.validate(request.userScripts(), request.instances());
        ObjectNode poolMappings = poolMappings(projectId, destination.id(), request.poolMappings(), request.instances(), false);
        Integer replicationCount = null;
        if (scenario.equals(Transfer.MIGRATION) && replicaId == null) {
            replicationCount = request.replicationCount() != null ? request.replicationCount() : request.shutdownInstances() ? 2 : 1;
            if (replicationCount < 1 || replicationCount > MAX_REPLICATION_COUNT) {
                throw CloudException.badRequest("replication_count must be an integer from 1 to %d, not %d", MAX_REPLICATION_COUNT, replicationCount);
            }
        }
        Instant now = clock.instant();
        return new Transfer(UUID.randomUUID().toString(), projectId, scenario, origin.id(), destination.id(), request.originMinionPoolId(),
                request.destinationMinionPoolId(), request.instances(), request.sourceEnvironment(), request.destinationEnvironment(),
                request.networkMap(), request.storageMappings(), request.notes(), request.shutdownInstances(), replicaId, cloneDisks,
                request.skipOsMorphing(), replicationCount, scripts, poolMappings, null,
                ExecutionStatus.UNEXECUTED, now, now);
    }

    /**
     * Coriolis' {@code instance_osmorphing_minion_pool_mappings}: instance to a destination minion
     * pool of the destination endpoint, for the instance's OS morphing. A null pool (on update)
     * removes the instance's mapping.
     */
    private ObjectNode poolMappings(String projectId, String destinationId, JsonNode mappings, List<String> instances, boolean nullsAllowed) {
        ObjectNode checked = MigrationStore.MAPPER.createObjectNode();
        if (mappings == null || mappings.isNull()) {
            return checked;
        }
        if (!mappings.isObject()) {
            throw CloudException.badRequest("instance_osmorphing_minion_pool_mappings must be an object of instance to minion pool ID");
        }
        for (var entry : mappings.properties()) {
            if (!instances.contains(entry.getKey())) {
                throw CloudException.badRequest("instance_osmorphing_minion_pool_mappings names '%s', which is not one of the instances (%s)",
                        entry.getKey(), String.join(", ", instances));
            }
            JsonNode pool = entry.getValue();
            if (pool.isNull() && nullsAllowed) {
                checked.putNull(entry.getKey());
                continue;
            }
            if (!pool.isTextual() || pool.textValue().isEmpty()) {
                throw CloudException.badRequest("instance_osmorphing_minion_pool_mappings.%s must be a minion pool ID", entry.getKey());
            }
            checkPool(projectId, pool.textValue(), destinationId, "destination");
            checked.put(entry.getKey(), pool.textValue());
        }
        return checked;
    }

    /**
     * The network map's shape (the transfer's, else the destination environment's own
     * {@code network_map}), and that every destination network it names is one the destination
     * lists, so a bad name is a 400 now rather than a failed deployment after the copy. Which
     * source networks the instances' NICs are on is known only once their info is read: a NIC the
     * map leaves out fails the deployment.
     */
    private void checkNetworkMap(String projectId, String destinationId, ObjectNode networkMap, ObjectNode environment) {
        ObjectNode env = environment == null ? MigrationStore.MAPPER.createObjectNode() : environment;
        JsonNode effective = networkMap != null && !networkMap.isEmpty() ? networkMap : env.get("network_map");
        NetworkMap map;
        try {
            map = NetworkMap.parse(effective);
        } catch (IllegalArgumentException e) {
            throw CloudException.badRequest("%s", e.getMessage());
        }
        if (map.isEmpty()) {
            return;
        }
        endpoints.query(projectId, destinationId, (provider, connection) -> {
            List<ObjectNode> networks = provider.networks(connection, env);
            map.targets().forEach(target -> NetworkMap.resolve(target.network(), networks));
            return networks;
        });
    }

    /**
     * The mappings' shape, and that every backend they name is one the destination lists (its
     * {@code storage} listing), so a bad name is a 400 now rather than a failed deployment after the copy.
     */
    private void checkStorageMappings(String projectId, String destinationId, ObjectNode mappings, ObjectNode environment) {
        java.util.Set<String> named = StorageMappings.validate(mappings);
        if (named.isEmpty()) {
            return;
        }
        ObjectNode env = environment == null ? MigrationStore.MAPPER.createObjectNode() : environment;
        java.util.Set<String> offered = new java.util.LinkedHashSet<>();
        endpoints.query(projectId, destinationId, (provider, connection) -> provider.storage(connection, env)).path("storage_backends")
                .forEach(b -> offered.add(b.path("name").asText()));
        for (String backend : named) {
            if (!offered.contains(backend)) {
                throw CloudException.badRequest("storage_mappings names the storage backend '%s', which the destination endpoint does not have "
                        + "(it has: %s)", backend, offered.isEmpty() ? "none" : String.join(", ", offered));
            }
        }
    }

    private void checkPool(String projectId, String poolId, String endpointId, String platform) {
        if (poolId == null) {
            return;
        }
        MinionPool pool = store.find(Kind.MINION_POOL, poolId, MinionPool.class).filter(p -> p.projectId().equals(projectId))
                .orElseThrow(() -> CloudException.badRequest("Minion pool %s could not be found", poolId));
        if (!pool.endpointId().equals(endpointId) || !pool.platform().equals(platform)) {
            throw CloudException.badRequest("Minion pool %s is not a %s pool of endpoint %s", poolId, platform, endpointId);
        }
        if (!pool.status().equals(MinionPoolService.ALLOCATED)) {
            throw CloudException.conflict("Minion pool %s is %s, not ALLOCATED", poolId, pool.status());
        }
    }

    private Endpoint endpoint(String projectId, String id) {
        if (id == null) {
            throw CloudException.badRequest("origin_endpoint_id and destination_endpoint_id are required");
        }
        try {
            return endpoints.get(projectId, id);
        } catch (CloudException e) {
            throw CloudException.badRequest("Endpoint %s could not be found", id);
        }
    }

    public Transfer transfer(String projectId, String id, String scenario) {
        return store.find(Kind.TRANSFER, id, Transfer.class).filter(t -> t.projectId().equals(projectId) && t.scenario().equals(scenario))
                .orElseThrow(() -> CloudException.notFound("%s with ID '%s' not found.", scenario.equals(Transfer.REPLICA) ? "Replica" : "Migration", id));
    }

    public List<Transfer> list(String projectId, String scenario) {
        return store.list(Kind.TRANSFER, projectId, Transfer.class).stream().filter(t -> t.scenario().equals(scenario)).toList();
    }

    private String poolUpdate(String projectId, JsonNode given, String current, String endpointId, String platform, String key) {
        if (given == null) {
            return current;
        }
        if (given.isNull()) {
            return null;
        }
        if (!given.isTextual() || given.textValue().isEmpty()) {
            throw CloudException.badRequest("%s must be a minion pool ID or null", key);
        }
        checkPool(projectId, given.textValue(), endpointId, platform);
        return given.textValue();
    }

    /**
     * Updates the given settings, all checked before any is stored; {@code userScripts} and
     * {@code poolMappings} are merged into the replica's (a null script or pool removes that one),
     * as the Coriolis client's update sends them. {@code originPool} and {@code destinationPool}
     * are the JSON values of origin_minion_pool_id and destination_minion_pool_id: an ID replaces
     * (checked as at creation), a JSON null removes, null (absent) keeps.
     */
    public Transfer updateReplica(String projectId, String id, ObjectNode sourceEnvironment, ObjectNode destinationEnvironment,
            ObjectNode networkMap, ObjectNode storageMappings, String notes, JsonNode userScripts, JsonNode poolMappings, JsonNode originPool,
            JsonNode destinationPool) {
        Transfer replica = transfer(projectId, id, Transfer.REPLICA);
        String origin = poolUpdate(projectId, originPool, replica.originMinionPoolId(), replica.originEndpointId(), "source",
                "origin_minion_pool_id");
        String destination = poolUpdate(projectId, destinationPool, replica.destinationMinionPoolId(), replica.destinationEndpointId(),
                "destination", "destination_minion_pool_id");
        ObjectNode scriptUpdate = userScripts == null ? null : UserScripts.validate(userScripts, replica.instances());
        ObjectNode mappingUpdate = poolMappings == null ? null
                : poolMappings(projectId, replica.destinationEndpointId(), poolMappings, replica.instances(), true);
        if (executions(id).stream().anyMatch(Execution::isActive)) {
            throw CloudException.conflict("Replica %s has a running execution", id);
        }
        if (sourceEnvironment != null) {
            endpoints.checkEnvironment(endpoints.get(projectId, replica.originEndpointId()), sourceEnvironment, false);
        }
        if (destinationEnvironment != null) {
            endpoints.checkEnvironment(endpoints.get(projectId, replica.destinationEndpointId()), destinationEnvironment, true);
        }
        if (storageMappings != null) {
            checkStorageMappings(projectId, replica.destinationEndpointId(), storageMappings,
                    destinationEnvironment == null ? replica.destinationEnvironment() : destinationEnvironment);
        }
        if (networkMap != null || destinationEnvironment != null) {
            checkNetworkMap(projectId, replica.destinationEndpointId(), networkMap == null ? replica.networkMap() : networkMap,
                    destinationEnvironment == null ? replica.destinationEnvironment() : destinationEnvironment);
        }
        return store.update(Kind.TRANSFER, id, Transfer.class, t -> t.withSettings(
                sourceEnvironment == null ? t.sourceEnvironment() : sourceEnvironment,
                destinationEnvironment == null ? t.destinationEnvironment() : destinationEnvironment,
                networkMap == null ? t.networkMap() : networkMap, storageMappings == null ? t.storageMappings() : storageMappings,
                notes == null ? t.notes() : notes,
                scriptUpdate == null ? t.userScripts() : UserScripts.merge(t.userScripts(), scriptUpdate),
                mappingUpdate == null ? t.instanceOsmorphingMinionPoolMappings() : mergeMappings(t.instanceOsmorphingMinionPoolMappings(), mappingUpdate),
                clock.instant()).withMinionPools(origin, destination, clock.instant())).orElseThrow();
    }

    private static ObjectNode mergeMappings(ObjectNode current, ObjectNode update) {
        ObjectNode merged = current.deepCopy();
        update.properties().forEach(e -> {
            if (e.getValue().isNull()) {
                merged.remove(e.getKey());
            } else {
                merged.set(e.getKey(), e.getValue());
            }
        });
        return merged;
    }

    public Execution execute(String projectId, String replicaId, boolean shutdownInstances) {
        Transfer replica = transfer(projectId, replicaId, Transfer.REPLICA);
        return start(replica, Execution.TYPE_REPLICA_EXECUTION, TaskPlans.replicaExecution(replica.instances(), shutdownInstances, clock.instant()),
                shutdownInstances);
    }

    public Execution deleteDisks(String projectId, String replicaId) {
        Transfer replica = transfer(projectId, replicaId, Transfer.REPLICA);
        boolean anyDisks = replica.instances().stream().anyMatch(i -> replica.instanceInfo(i).has("volumes_info"));
        if (!anyDisks) {
            throw CloudException.conflict("Replica %s has no disks to delete", replicaId);
        }
        return start(replica, Execution.TYPE_REPLICA_DISKS_DELETE, TaskPlans.deleteReplicaDisks(replica.instances(), clock.instant()), false);
    }

    /** Stores and starts an execution; one active execution per transfer at a time. */
    private synchronized Execution start(Transfer transfer, String type, List<Task> tasks, boolean shutdown) {
        List<Execution> existing = executions(transfer.id());
        if (existing.stream().anyMatch(Execution::isActive)) {
            throw CloudException.conflict("Another execution of %s is already running", transfer.id());
        }
        WorkerService worker = workers.pick(endpoints.get(transfer.projectId(), transfer.originEndpointId()),
                endpoints.get(transfer.projectId(), transfer.destinationEndpointId()));
        int number = existing.stream().mapToInt(Execution::number).max().orElse(0) + 1;
        Instant now = clock.instant();
        Execution execution = new Execution(UUID.randomUUID().toString(), transfer.projectId(), transfer.id(), number, type,
                ExecutionStatus.RUNNING, shutdown, tasks, worker.id(), now, now);
        store.insert(Kind.EXECUTION, execution);
        store.update(Kind.TRANSFER, transfer.id(), Transfer.class, t -> t.withStatus(ExecutionStatus.RUNNING, now));
        if (worker.id().equals(workers.selfId())) {
            engine.submit(execution.id());
        }
        // Otherwise the chosen worker (another controller) adopts it at its next tick.
        return execution;
    }

    public List<Execution> executions(String transferId) {
        return store.children(Kind.EXECUTION, transferId, Execution.class).stream().sorted(Comparator.comparingInt(Execution::number)).toList();
    }

    public Execution execution(String projectId, String replicaId, String executionId) {
        transfer(projectId, replicaId, Transfer.REPLICA);
        return store.find(Kind.EXECUTION, executionId, Execution.class).filter(e -> e.transferId().equals(replicaId))
                .orElseThrow(() -> CloudException.notFound("Execution with ID '%s' for replica '%s' not found.", executionId, replicaId));
    }

    public void cancelExecution(String projectId, String replicaId, String executionId) {
        Execution execution = execution(projectId, replicaId, executionId);
        if (!execution.isActive()) {
            throw CloudException.conflict("Execution %s is %s and cannot be cancelled", executionId, execution.status());
        }
        engine.cancel(executionId);
    }

    public void cancelMigration(String projectId, String migrationId) {
        transfer(projectId, migrationId, Transfer.MIGRATION);
        Execution active = executions(migrationId).stream().filter(Execution::isActive).findFirst()
                .orElseThrow(() -> CloudException.conflict("Migration %s is not running", migrationId));
        engine.cancel(active.id());
    }

    public void deleteExecution(String projectId, String replicaId, String executionId) {
        Execution execution = execution(projectId, replicaId, executionId);
        if (execution.isActive()) {
            throw CloudException.conflict("Execution %s is running; cancel it first", executionId);
        }
        store.delete(Kind.EXECUTION, executionId);
    }

    /** Deletes a transfer that is not running; a replica must have had its disks deleted first. */
    public void delete(String projectId, String id, String scenario) {
        Transfer transfer = transfer(projectId, id, scenario);
        List<Execution> executions = executions(id);
        if (executions.stream().anyMatch(Execution::isActive)) {
            throw CloudException.conflict("%s %s is running; cancel it first", scenario.equals(Transfer.REPLICA) ? "Replica" : "Migration", id);
        }
        if (transfer.isReplica()) {
            boolean hasDisks = transfer.instances().stream().anyMatch(i -> transfer.instanceInfo(i).path("volumes_info").size() > 0);
            if (hasDisks) {
                throw CloudException.conflict("Replica %s still has disks on the destination; delete them first (replica delete-disks)", id);
            }
            store.children(Kind.SCHEDULE, id, Schedule.class).forEach(s -> store.delete(Kind.SCHEDULE, s.id()));
        }
        executions.forEach(e -> store.delete(Kind.EXECUTION, e.id()));
        store.delete(Kind.TRANSFER, id);
    }
}
