package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Minion pools with Coriolis' life cycle: DEALLOCATED → allocate → ALLOCATED (with at least the
 * minimum number of machines) → deallocate → DEALLOCATED. Strata's providers read and write
 * disks directly from the worker, so a pool's machines are bookkeeping entries (no helper VM is
 * booted); transfers that name a pool require it to be allocated.
 */
public final class MinionPoolService {
    public static final String DEALLOCATED = "DEALLOCATED";
    public static final String ALLOCATED = "ALLOCATED";

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
        return setMachines(pool, ALLOCATED, machines(pool, pool.minimumMinions()));
    }

    public MinionPool deallocate(String projectId, String id, boolean force) {
        MinionPool pool = get(projectId, id);
        if (!pool.status().equals(ALLOCATED) && !force) {
            throw CloudException.conflict("Minion pool %s is %s; only an ALLOCATED pool can be deallocated", id, pool.status());
        }
        if (!force && inUse(pool)) {
            throw CloudException.conflict("Minion pool %s is used by a running transfer", id);
        }
        return setMachines(pool, DEALLOCATED, List.of());
    }

    /** Brings the pool back to its minimum: missing machines are added, extra idle ones removed. */
    public MinionPool refresh(String projectId, String id) {
        MinionPool pool = get(projectId, id);
        if (!pool.status().equals(ALLOCATED)) {
            throw CloudException.conflict("Minion pool %s is %s; only an ALLOCATED pool can be refreshed", id, pool.status());
        }
        return setMachines(pool, ALLOCATED, machines(pool, pool.minimumMinions()));
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
            ObjectNode machine = JsonNodeFactory.instance.objectNode();
            machine.put("id", UUID.randomUUID().toString());
            machine.put("pool_id", pool.id());
            machine.put("allocation_status", "AVAILABLE");
            machine.put("power_status", "POWERED_ON");
            machine.putNull("allocated_action");
            machine.put("created_at", clock.instant().toString());
            machines.add(machine);
        }
        return machines;
    }

    private MinionPool setMachines(MinionPool pool, String status, List<ObjectNode> machines) {
        return store.update(Kind.MINION_POOL, pool.id(), MinionPool.class, p -> p.withStatus(status, machines, clock.instant())).orElseThrow();
    }
}
