package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import io.strata.migration.provider.MigrationProvider;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Minion pools with Coriolis' life cycle: DEALLOCATED → allocate → ALLOCATING → ALLOCATED (with
 * the minimum number of machines) → deallocate → DEALLOCATING → DEALLOCATED, ERROR when the
 * endpoint failed (the machines made so far stay listed; a forced deallocation removes them).
 * On platforms whose provider boots minions (strata, openstack) each machine is a real server on
 * the pool's endpoint, booted and deleted in the background and tagged with the pool's id;
 * refresh deletes minions in ERROR, forgets vanished ones and boots the missing. On qemu-host,
 * whose disks the worker reads and writes itself, machines are records only and every action
 * completes at once. Transfers that name a pool require it to be allocated.
 */
public final class MinionPoolService {
    public static final String DEALLOCATED = "DEALLOCATED";
    public static final String ALLOCATING = "ALLOCATING";
    public static final String ALLOCATED = "ALLOCATED";
    public static final String DEALLOCATING = "DEALLOCATING";
    public static final String ERROR = "ERROR";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MinionPoolService.class);

    private final MigrationStore store;
    private final EndpointService endpoints;
    private final Clock clock;

    public MinionPoolService(MigrationStore store, EndpointService endpoints, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.endpoints = requireNonNull(endpoints, "endpoints is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public MinionPool create(String projectId, String name, String endpointId, String platform, String osType, ObjectNode options,
            int minimum, int maximum, int maxIdle, String retention, String notes, boolean skipAllocation) {
        endpoints.get(projectId, endpointId);
        if (!platform.equals("source") && !platform.equals("destination")) {
            throw CloudException.badRequest("platform must be 'source' or 'destination', not '%s'", platform);
        }
        checkSizes(minimum, maximum);
        if (!retention.equals("delete") && !retention.equals("poweroff")) {
            throw CloudException.badRequest("minion_retention_strategy must be 'delete' or 'poweroff'");
        }
        Instant now = clock.instant();
        MinionPool pool = new MinionPool(UUID.randomUUID().toString(), projectId, name, endpointId, platform, osType,
                options == null ? JsonNodeFactory.instance.objectNode() : options, minimum, maximum, maxIdle, retention, notes, DEALLOCATED,
                List.of(), now, now);
        store.insert(Kind.MINION_POOL, pool);
        return skipAllocation ? pool : allocate(projectId, pool.id());
    }

    private static void checkSizes(int minimum, int maximum) {
        if (minimum < 0 || maximum < 1 || minimum > maximum) {
            throw CloudException.badRequest("minimum_minions (%d) must be at least 0 and at most maximum_minions (%d), which must be at least 1",
                    minimum, maximum);
        }
    }

    public List<MinionPool> list(String projectId) {
        return store.list(Kind.MINION_POOL, projectId, MinionPool.class);
    }

    public MinionPool get(String projectId, String id) {
        return store.find(Kind.MINION_POOL, id, MinionPool.class).filter(p -> p.projectId().equals(projectId))
                .orElseThrow(() -> CloudException.notFound("Minion pool with ID '%s' not found.", id));
    }

    public MinionPool allocate(String projectId, String id) {
        MinionPool pool = get(projectId, id);
        if (!pool.status().equals(DEALLOCATED)) {
            throw CloudException.conflict("Minion pool %s is %s; only a DEALLOCATED pool can be allocated", id, pool.status());
        }
        Endpoint endpoint = endpoints.get(projectId, pool.endpointId());
        MigrationProvider provider = endpoints.provider(endpoint);
        if (!provider.bootsMinions()) {
            return setMachines(pool, ALLOCATED, machines(pool, pool.minimumMinions()));
        }
        MinionPool allocating = setMachines(pool, ALLOCATING, pool.minionMachines());
        inBackground(pool.id(), ALLOCATED, () -> topUp(pool.id(), provider, endpoints.connection(endpoint)));
        return allocating;
    }

    public MinionPool deallocate(String projectId, String id, boolean force) {
        MinionPool pool = get(projectId, id);
        if (pool.status().equals(ALLOCATING) || pool.status().equals(DEALLOCATING)) {
            throw CloudException.conflict("Minion pool %s is %s; wait until it is done", id, pool.status());
        }
        if (!pool.status().equals(ALLOCATED) && !force) {
            throw CloudException.conflict("Minion pool %s is %s; only an ALLOCATED pool can be deallocated", id, pool.status());
        }
        if (!force && inUse(pool)) {
            throw CloudException.conflict("Minion pool %s is used by a running transfer", id);
        }
        Endpoint endpoint = endpoints.get(projectId, pool.endpointId());
        MigrationProvider provider = endpoints.provider(endpoint);
        if (!provider.bootsMinions()) {
            return setMachines(pool, DEALLOCATED, List.of());
        }
        MinionPool deallocating = setMachines(pool, DEALLOCATING, pool.minionMachines());
        inBackground(pool.id(), DEALLOCATED, () -> {
            JsonNode connection = endpoints.connection(endpoint);
            for (ObjectNode machine : current(pool.id()).minionMachines()) {
                if (machine.has("provider_properties")) {
                    provider.deleteMinion(connection, (ObjectNode) machine.get("provider_properties"));
                }
                // Saved one by one: a failure leaves exactly the minions still there listed.
                store.update(Kind.MINION_POOL, pool.id(), MinionPool.class, p -> p.withStatus(p.status(),
                        p.minionMachines().stream().filter(m -> !m.get("id").equals(machine.get("id"))).toList(), clock.instant()));
            }
        });
        return deallocating;
    }

    /** Brings the pool back to its minimum: missing machines are added (vanished or failed minions replaced). */
    public MinionPool refresh(String projectId, String id) {
        MinionPool pool = get(projectId, id);
        if (!pool.status().equals(ALLOCATED)) {
            throw CloudException.conflict("Minion pool %s is %s; only an ALLOCATED pool can be refreshed", id, pool.status());
        }
        Endpoint endpoint = endpoints.get(projectId, pool.endpointId());
        MigrationProvider provider = endpoints.provider(endpoint);
        if (!provider.bootsMinions()) {
            return setMachines(pool, ALLOCATED, machines(pool, pool.minimumMinions()));
        }
        MinionPool refreshing = setMachines(pool, ALLOCATING, pool.minionMachines());
        inBackground(pool.id(), ALLOCATED, () -> topUp(pool.id(), provider, endpoints.connection(endpoint)));
        return refreshing;
    }

    private interface Work {
        void run() throws Exception;
    }

    /** Runs slow endpoint work off the request; the pool ends in {@code done}, or ERROR with what it has. */
    private void inBackground(String poolId, String done, Work work) {
        Thread.ofVirtual().name("minion-pool-" + poolId).start(() -> {
            try {
                work.run();
                store.update(Kind.MINION_POOL, poolId, MinionPool.class, p -> p.withStatus(done, p.minionMachines(), clock.instant()));
            } catch (Exception e) {
                LOG.error("minion pool {} failed: {}", poolId, e.getMessage(), e);
                store.update(Kind.MINION_POOL, poolId, MinionPool.class, p -> p.withStatus(ERROR, p.minionMachines(), clock.instant()));
            }
        });
    }

    private MinionPool current(String poolId) {
        return store.find(Kind.MINION_POOL, poolId, MinionPool.class).orElseThrow();
    }

    /** Forgets vanished minions, deletes failed ones, and boots new ones up to the pool's minimum. */
    private void topUp(String poolId, MigrationProvider provider, JsonNode connection) throws Exception {
        MinionPool pool = current(poolId);
        List<ObjectNode> machines = new ArrayList<>();
        for (ObjectNode machine : pool.minionMachines()) {
            ObjectNode properties = (ObjectNode) machine.get("provider_properties");
            String status = properties == null ? null : provider.minionStatus(connection, properties);
            if (status == null) {
                continue;
            }
            if (status.equals("ERROR")) {
                provider.deleteMinion(connection, properties);
                continue;
            }
            ObjectNode updated = machine.deepCopy();
            updated.put("power_status", status);
            machines.add(updated);
        }
        save(poolId, machines);
        int next = machines.size();
        while (machines.size() < pool.minimumMinions()) {
            ObjectNode machine = machine(pool);
            String name = "coriolis-minion-" + pool.id().substring(0, 8) + "-" + next++;
            machine.set("provider_properties", provider.createMinion(connection, pool.environmentOptions(), pool.id(), name));
            machines.add(machine);
            save(poolId, machines);
        }
    }

    private void save(String poolId, List<ObjectNode> machines) {
        List<ObjectNode> copy = List.copyOf(machines);
        store.update(Kind.MINION_POOL, poolId, MinionPool.class, p -> p.withStatus(p.status(), copy, clock.instant()));
    }

    public MinionPool update(String projectId, String id, String name, ObjectNode options, Integer minimum, Integer maximum, Integer maxIdle,
            String retention, String notes) {
        MinionPool pool = get(projectId, id);
        int newMinimum = minimum == null ? pool.minimumMinions() : minimum;
        int newMaximum = maximum == null ? pool.maximumMinions() : maximum;
        checkSizes(newMinimum, newMaximum);
        if (options != null && !pool.status().equals(DEALLOCATED)) {
            throw CloudException.conflict("environment_options of minion pool %s can only change while it is DEALLOCATED", id);
        }
        return store.update(Kind.MINION_POOL, id, MinionPool.class, p -> p.withSettings(name == null ? p.name() : name,
                options == null ? p.environmentOptions() : options, newMinimum, newMaximum, maxIdle == null ? p.minionMaxIdleTime() : maxIdle,
                retention == null ? p.minionRetentionStrategy() : retention, notes == null ? p.notes() : notes, clock.instant())).orElseThrow();
    }

    public void delete(String projectId, String id) {
        MinionPool pool = get(projectId, id);
        if (!pool.status().equals(DEALLOCATED)) {
            throw CloudException.conflict("Minion pool %s is %s; deallocate it before deleting it", id, pool.status());
        }
        store.delete(Kind.MINION_POOL, id);
    }

    private boolean inUse(MinionPool pool) {
        return store.list(Kind.TRANSFER, pool.projectId(), Transfer.class).stream()
                .filter(t -> pool.id().equals(t.originMinionPoolId()) || pool.id().equals(t.destinationMinionPoolId()))
                .anyMatch(t -> ExecutionStatus.isActive(t.lastExecutionStatus()));
    }

    private List<ObjectNode> machines(MinionPool pool, int count) {
        List<ObjectNode> machines = new ArrayList<>();
        for (ObjectNode existing : pool.minionMachines()) {
            if (machines.size() < count) {
                machines.add(existing);
            }
        }
        while (machines.size() < count) {
            machines.add(machine(pool));
        }
        return machines;
    }

    private ObjectNode machine(MinionPool pool) {
        ObjectNode machine = JsonNodeFactory.instance.objectNode();
        machine.put("id", UUID.randomUUID().toString());
        machine.put("pool_id", pool.id());
        machine.put("allocation_status", "AVAILABLE");
        machine.put("power_status", "POWERED_ON");
        machine.putNull("allocated_action");
        machine.put("created_at", clock.instant().toString());
        return machine;
    }

    private MinionPool setMachines(MinionPool pool, String status, List<ObjectNode> machines) {
        return store.update(Kind.MINION_POOL, pool.id(), MinionPool.class, p -> p.withStatus(status, machines, clock.instant())).orElseThrow();
    }
}
