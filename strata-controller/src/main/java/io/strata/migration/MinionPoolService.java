package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import io.strata.migration.provider.MigrationProvider;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Minion pools with Coriolis' life cycle: DEALLOCATED → allocate → ALLOCATING → ALLOCATED (with
 * the minimum number of machines) → deallocate → DEALLOCATING → DEALLOCATED, ERROR when the
 * endpoint failed (the machines made so far stay listed; a forced deallocation removes them).
 * On platforms whose provider boots minions (strata, openstack) each machine is a real server on
 * the pool's endpoint, booted and deleted in the background and tagged with the pool's id;
 * refresh deletes minions in ERROR, forgets vanished ones and boots the missing. On qemu-host,
 * whose disks the worker reads and writes itself, machines are records only and every action
 * completes at once. Transfers that name a pool require it to be allocated.
 * <p>
 * The background work is owned by this controller's worker service (stored in the pool). A pool
 * left ALLOCATING or DEALLOCATING by a controller that stopped or crashed is resumed by
 * {@link #adopt} at its next start, or by another controller once its worker is down: minions
 * tagged with the pool's id but missing from the pool's list (booted just before the crash) are
 * taken into the list first, so none is leaked; then the allocation is finished (ALLOCATED, or
 * ERROR with what it has) or every minion is deleted (DEALLOCATED).
 */
public final class MinionPoolService {
    public static final String DEALLOCATED = "DEALLOCATED";
    public static final String ALLOCATING = "ALLOCATING";
    public static final String ALLOCATED = "ALLOCATED";
    public static final String DEALLOCATING = "DEALLOCATING";
    public static final String ERROR = "ERROR";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MinionPoolService.class);

    /** How long a resumed allocation waits for minions that were still booting when their controller stopped. */
    private static final Duration BOOT_WAIT = Duration.ofMinutes(10);

    private final MigrationStore store;
    private final EndpointService endpoints;
    private final WorkerRegistry workers;
    private final Clock clock;
    /** Pools whose background work runs in this process. */
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    public MinionPoolService(MigrationStore store, EndpointService endpoints, WorkerRegistry workers, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.endpoints = requireNonNull(endpoints, "endpoints is null");
        this.workers = requireNonNull(workers, "workers is null");
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
                List.of(), now, now, null);
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
        inBackground(pool.id(), DEALLOCATED, () -> deleteAll(pool.id(), provider, endpoints.connection(endpoint)));
        return deallocating;
    }

    private void deleteAll(String poolId, MigrationProvider provider, JsonNode connection) throws Exception {
        for (ObjectNode machine : current(poolId).minionMachines()) {
            if (machine.has("provider_properties")) {
                provider.deleteMinion(connection, (ObjectNode) machine.get("provider_properties"));
            }
            // Saved one by one: a failure leaves exactly the minions still there listed.
            store.update(Kind.MINION_POOL, poolId, MinionPool.class, p -> p.withStatus(p.status(),
                    p.minionMachines().stream().filter(m -> !m.get("id").equals(machine.get("id"))).toList(), clock.instant()));
        }
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

    /**
     * Runs slow endpoint work off the request; the pool ends in {@code done}, or ERROR with what
     * it has. The pool was marked as this worker's when its status was set.
     */
    private void inBackground(String poolId, String done, Work work) {
        running.add(poolId);
        Thread.ofVirtual().name("minion-pool-" + poolId).start(() -> {
            try {
                work.run();
                store.update(Kind.MINION_POOL, poolId, MinionPool.class, p -> p.withStatus(done, p.minionMachines(), clock.instant()));
            } catch (Exception e) {
                if (closing) {
                    // Stopped with the controller, not failed: the next start (or another controller) resumes it.
                    LOG.info("minion pool {} stopped with the controller ({}); it is resumed at the next start", poolId, e.getMessage());
                    return;
                }
                LOG.error("minion pool {} failed: {}", poolId, e.getMessage(), e);
                store.update(Kind.MINION_POOL, poolId, MinionPool.class, p -> p.withStatus(ERROR, p.minionMachines(), clock.instant()));
            } finally {
                running.remove(poolId);
            }
        });
    }

    /**
     * Resumes the pools left ALLOCATING or DEALLOCATING by this worker in an earlier run, or by a
     * worker that is down; taking one over is a compare-and-set of its worker, so only one live
     * controller resumes it. Returns how many were resumed.
     */
    public int adopt(String selfId, Predicate<String> isDown) {
        int resumed = 0;
        for (MinionPool pool : store.list(Kind.MINION_POOL, null, MinionPool.class)) {
            String status = pool.status();
            if (closing || !(status.equals(ALLOCATING) || status.equals(DEALLOCATING)) || running.contains(pool.id())) {
                continue;
            }
            String owner = pool.workerId();
            if (owner != null && !owner.equals(selfId) && !isDown.test(owner)) {
                continue;
            }
            boolean[] claimed = {false};
            store.update(Kind.MINION_POOL, pool.id(), MinionPool.class, p -> {
                claimed[0] = java.util.Objects.equals(p.workerId(), owner) && p.status().equals(status);
                return claimed[0] ? p.withWorker(selfId, clock.instant()) : p;
            });
            if (!claimed[0]) {
                continue;
            }
            LOG.info("resuming minion pool {} ({}{})", pool.id(), status,
                    owner == null || owner.equals(selfId) ? "" : ", taken over from worker " + owner);
            resume(pool);
            resumed++;
        }
        return resumed;
    }

    private void resume(MinionPool pool) {
        MigrationProvider provider;
        JsonNode connection;
        try {
            Endpoint endpoint = endpoints.get(pool.projectId(), pool.endpointId());
            provider = endpoints.provider(endpoint);
            connection = endpoints.connection(endpoint);
        } catch (RuntimeException e) {
            // The endpoint (or its secret) is gone: nothing can be resumed; its minions stay listed for a forced deallocation.
            LOG.error("minion pool {} cannot be resumed: {}", pool.id(), e.getMessage());
            store.update(Kind.MINION_POOL, pool.id(), MinionPool.class, p -> p.withStatus(ERROR, p.minionMachines(), clock.instant()));
            return;
        }
        if (!provider.bootsMinions()) {
            // Records only (qemu-host): what the request would have done at once.
            setMachines(pool, pool.status().equals(ALLOCATING) ? ALLOCATED : DEALLOCATED,
                    pool.status().equals(ALLOCATING) ? machines(pool, pool.minimumMinions()) : List.of());
            return;
        }
        if (pool.status().equals(ALLOCATING)) {
            inBackground(pool.id(), ALLOCATED, () -> {
                takeUnlisted(pool.id(), provider, connection);
                topUp(pool.id(), provider, connection);
                awaitBooted(pool.id(), provider, connection);
            });
        } else {
            inBackground(pool.id(), DEALLOCATED, () -> {
                takeUnlisted(pool.id(), provider, connection);
                deleteAll(pool.id(), provider, connection);
            });
        }
    }

    /** Adds the minions tagged with the pool's id that its list misses (booted when the controller died, before it saved them). */
    private void takeUnlisted(String poolId, MigrationProvider provider, JsonNode connection) throws Exception {
        MinionPool pool = current(poolId);
        Set<String> listed = new java.util.HashSet<>();
        for (ObjectNode machine : pool.minionMachines()) {
            listed.add(machine.at("/provider_properties/server_id").asText());
        }
        List<ObjectNode> machines = new ArrayList<>(pool.minionMachines());
        for (ObjectNode properties : provider.minions(connection, poolId)) {
            if (listed.add(properties.path("server_id").asText())) {
                ObjectNode machine = machine(pool);
                machine.set("provider_properties", properties);
                machines.add(machine);
                LOG.info("minion pool {}: minion {} was booted but not listed; taken in", poolId, properties.path("server_id").asText());
            }
        }
        save(poolId, machines);
    }

    /** Waits for minions that were still booting; a minion that failed meanwhile is replaced by one more top-up. */
    private void awaitBooted(String poolId, MigrationProvider provider, JsonNode connection) throws Exception {
        Instant deadline = clock.instant().plus(BOOT_WAIT);
        while (current(poolId).minionMachines().stream().anyMatch(m -> m.path("power_status").asText().equals("POWERING_ON"))) {
            if (clock.instant().isAfter(deadline)) {
                throw new IllegalStateException("minions of pool " + poolId + " did not boot within " + BOOT_WAIT.toMinutes() + " minutes");
            }
            Thread.sleep(1_000);
            topUp(poolId, provider, connection);
        }
    }

    /** Stops resuming and starting background work; what runs is left for the next start to resume. */
    public void close() {
        closing = true;
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

    /** Sets the status and machines; the pool's work is this worker's from now on. */
    private MinionPool setMachines(MinionPool pool, String status, List<ObjectNode> machines) {
        return store.update(Kind.MINION_POOL, pool.id(), MinionPool.class,
                p -> p.withStatus(status, machines, clock.instant()).withWorker(workers.selfId(), clock.instant())).orElseThrow();
    }
}
