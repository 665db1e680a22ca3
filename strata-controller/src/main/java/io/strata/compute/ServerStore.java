package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.core.CloudException;
import io.strata.store.Database;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.Update;

/**
 * Server rows. State changes are conditional updates ("only if the server is still in the state
 * I saw"), so two requests, or two controllers, can never both start an operation on a server.
 */
public final class ServerStore {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Map<String, String> SORT_COLUMNS = Map.of(
            "created_at", "created_at", "updated_at", "updated_at", "display_name", "name", "name", "name",
            "uuid", "id", "host", "host", "vm_state", "vm_state", "task_state", "task_state", "launched_at", "launched_at",
            "power_state", "power_state");

    private final Jdbi jdbi;
    private final Database.Dialect dialect;
    private final io.strata.store.GroupCommit steps;

    public ServerStore(Jdbi jdbi, Database.Dialect dialect) {
        this(jdbi, dialect, io.strata.store.GroupCommit.direct(jdbi));
    }

    /**
     * {@code steps} runs the writes that end a build or delete step (place, finish, mark
     * deleted): many servers take those steps at once, and sharing commits halves a
     * create-and-delete cycle's file writes on the embedded store.
     */
    public ServerStore(Jdbi jdbi, Database.Dialect dialect, io.strata.store.GroupCommit steps) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.dialect = requireNonNull(dialect, "dialect is null");
        this.steps = requireNonNull(steps, "steps is null");
    }

    public static boolean isSortKey(String key) {
        return SORT_COLUMNS.containsKey(key);
    }

    /** Inserts servers with their metadata and fixed IPs in one transaction: all or none. */
    public void insertAll(List<Server> servers) {
        jdbi.useTransaction(h -> insertAll(h, servers));
    }

    /**
     * Inserts servers and what {@code alsoInserting} writes with them, all or none, in a
     * transaction that concurrent creates may share (one commit, and on the embedded store one
     * file write, for all of them). For creates that check nothing but their own rows.
     */
    public void insertAllShared(List<Server> servers, java.util.function.Consumer<Handle> alsoInserting) {
        steps.run(h -> {
            insertAll(h, servers);
            alsoInserting.accept(h);
            return null;
        });
    }

    /** Inserts within the caller's transaction (the quota check's, which must cover the insert). */
    void insertAll(org.jdbi.v3.core.Handle h, List<Server> servers) {
        for (Server s : servers) {
            h.createUpdate("""
                    insert into servers (id, name, project_id, user_id, flavor_id, flavor_name, vcpus, ram_mb, disk_gb, ephemeral_gb,
                      swap_mb, flavor_extra_specs, image_id, key_name, host, availability_zone, requested_zone, vm_state, task_state,
                      power_state, progress, user_data, access_ipv4, access_ipv6, config_drive, locked, description, hostname,
                      reservation_id, launch_index, mac_address, ip_address, ssh_port, created_at, updated_at, metadata, tags, deleted)
                    values (:id, :name, :projectId, :userId, :flavorId, :flavorName, :vcpus, :ramMb, :diskGb, :ephemeralGb,
                      :swapMb, :extraSpecs, :imageId, :keyName, :host, :az, :requestedZone, :vmState, :taskState,
                      :powerState, :progress, :userData, :accessIpv4, :accessIpv6, :configDrive, :locked, :description, :hostname,
                      :reservationId, :launchIndex, :mac, :ip, :sshPort, :createdAt, :updatedAt, :metadata, :tags, false)""")
                    .bind("id", s.id()).bind("name", s.name()).bind("projectId", s.projectId()).bind("userId", s.userId())
                    .bind("flavorId", s.flavor().id()).bind("flavorName", s.flavor().name()).bind("vcpus", s.flavor().vcpus())
                    .bind("ramMb", s.flavor().ramMb()).bind("diskGb", s.flavor().diskGb())
                    .bind("ephemeralGb", s.flavor().ephemeralGb()).bind("swapMb", s.flavor().swapMb())
                    .bind("extraSpecs", toJson(s.flavor().extraSpecs())).bind("imageId", s.imageId())
                    .bind("keyName", s.keyName()).bind("host", s.host()).bind("az", s.availabilityZone())
                    .bind("requestedZone", s.requestedZone()).bind("vmState", s.vmState().wireName())
                    .bind("taskState", s.taskState() == null ? null : s.taskState().wireName())
                    .bind("powerState", s.powerState().code()).bind("progress", s.progress()).bind("userData", s.userData())
                    .bind("accessIpv4", s.accessIpv4()).bind("accessIpv6", s.accessIpv6()).bind("configDrive", s.configDrive())
                    .bind("locked", s.locked()).bind("description", s.description()).bind("hostname", s.hostname())
                    .bind("reservationId", s.reservationId()).bind("launchIndex", s.launchIndex()).bind("mac", s.macAddress())
                    .bind("ip", s.ipAddress()).bind("sshPort", s.sshPort()).bind("createdAt", s.createdAt())
                    .bind("updatedAt", s.updatedAt()).bind("metadata", toJson(s.metadata())).bind("tags", toJson(s.tags()))
                    .execute();
            h.createUpdate("insert into fixed_ips (address, server_id) values (:a, :s)").bind("a", s.ipAddress()).bind("s", s.id())
                    .execute();
        }
    }

    /** True if some live server holds the address (the allocator retries with the next one). */
    public boolean isAddressTaken(String address) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from fixed_ips where address = :a").bind("a", address)
                .mapTo(Integer.class).one() > 0);
    }

    public Set<String> takenAddresses() {
        return jdbi.withHandle(h -> Set.copyOf(h.createQuery("select address from fixed_ips").mapTo(String.class).list()));
    }

    public Optional<Server> find(String id) {
        return jdbi.withHandle(h -> {
            List<Server> found = load(h, h.createQuery("select * from servers where id = :id").bind("id", id));
            return found.stream().findFirst();
        });
    }

    public List<Server> list(ServerQuery q) {
        return jdbi.withHandle(h -> {
            StringBuilder sql = new StringBuilder("select * from servers where 1 = 1");
            Map<String, Object> args = new HashMap<>();
            if (!q.includeDeleted()) {
                sql.append(" and deleted = false");
            }
            if (q.projectId() != null) {
                sql.append(" and project_id = :projectId");
                args.put("projectId", q.projectId());
            }
            if (q.nameRegex() != null) {
                sql.append(dialect == Database.Dialect.POSTGRESQL ? " and name ~ :nameRegex" : " and regexp_like(name, :nameRegex)");
                args.put("nameRegex", q.nameRegex());
            }
            if (q.ipRegex() != null) {
                sql.append(dialect == Database.Dialect.POSTGRESQL ? " and ip_address ~ :ipRegex" : " and regexp_like(ip_address, :ipRegex)");
                args.put("ipRegex", q.ipRegex());
            }
            if (q.vmStates() != null) {
                List<String> states = q.vmStates().stream().map(VmState::wireName).toList();
                sql.append(" and vm_state in (<vmStates>)");
                args.put("vmStates", states);
            }
            if (q.host() != null) {
                sql.append(" and host = :host");
                args.put("host", q.host());
            }
            if (q.flavorId() != null) {
                sql.append(" and flavor_id = :flavorId");
                args.put("flavorId", q.flavorId());
            }
            if (q.imageId() != null) {
                sql.append(" and image_id = :imageId");
                args.put("imageId", q.imageId());
            }
            if (q.reservationId() != null) {
                sql.append(" and reservation_id = :reservationId");
                args.put("reservationId", q.reservationId());
            }
            if (q.changesSince() != null) {
                sql.append(" and updated_at >= :changesSince");
                args.put("changesSince", q.changesSince());
            }
            if (q.ids() != null) {
                if (q.ids().isEmpty()) {
                    return List.of();
                }
                sql.append(" and id in (<ids>)");
                args.put("ids", List.copyOf(q.ids()));
            }
            String column = SORT_COLUMNS.getOrDefault(q.sortKey(), "created_at");
            String direction = q.sortAscending() ? "asc" : "desc";
            if (q.markerId() != null) {
                Optional<Map<String, Object>> marker = h.createQuery("select id, " + column + " as sort_value from servers where id = :m")
                        .bind("m", q.markerId()).mapToMap().findOne();
                if (marker.isEmpty()) {
                    throw CloudException.badRequest("marker [%s] not found", q.markerId());
                }
                Object value = marker.get().get("sort_value");
                String cmp = q.sortAscending() ? ">" : "<";
                if (value == null) {
                    sql.append(" and (").append(column).append(" is not null or id ").append(cmp).append(" :markerId)");
                } else {
                    sql.append(" and (").append(column).append(' ').append(cmp).append(" :markerValue or (").append(column)
                            .append(" = :markerValue and id ").append(cmp).append(" :markerId))");
                    args.put("markerValue", value);
                }
                args.put("markerId", q.markerId());
            }
            sql.append(" order by ").append(column).append(' ').append(direction).append(", id ").append(direction);
            sql.append(" limit ").append(q.limit());
            Query query = h.createQuery(sql.toString());
            args.forEach((k, v) -> {
                if (v instanceof Collection<?> c) {
                    query.bindList(k, List.copyOf(c));
                } else {
                    query.bind(k, v);
                }
            });
            return load(h, query);
        });
    }

    /** Counts of live servers per vm_state (for metrics). */
    public Map<String, Long> countByState() {
        return jdbi.withHandle(h -> {
            Map<String, Long> counts = new TreeMap<>();
            h.createQuery("select vm_state, count(*) as n from servers where deleted = false group by vm_state")
                    .map((rs, ctx) -> Map.entry(rs.getString("vm_state"), rs.getLong("n"))).forEach(e -> counts.put(e.getKey(), e.getValue()));
            return counts;
        });
    }

    /** What a project's live servers use: instances, vcpus, ram. */
    public long[] projectUsage(String projectId) {
        return jdbi.withHandle(h -> projectUsage(h, projectId));
    }

    long[] projectUsage(org.jdbi.v3.core.Handle h, String projectId) {
        return h.createQuery("select count(*) as n, coalesce(sum(vcpus), 0) as v, coalesce(sum(ram_mb), 0) as r "
                        + "from servers where deleted = false and project_id = :p")
                .bind("p", projectId)
                .map((rs, ctx) -> new long[] {rs.getLong("n"), rs.getLong("v"), rs.getLong("r")}).one();
    }

    /** A placed server as the hierarchy's placement sees it. */
    public record PlacedDemand(String serverId, String host, int vcpus, long ramMb) {}

    /** Every placed, running-or-stopped server's host and size (live images excluded: they run nowhere). */
    public List<PlacedDemand> placedDemands() {
        return jdbi.withHandle(h -> h.createQuery("select id, host, vcpus, ram_mb from servers where deleted = false and host is not null "
                        + "and vm_state <> 'blessed'")
                .map((rs, ctx) -> new PlacedDemand(rs.getString("id"), rs.getString("host"), rs.getInt("vcpus"), rs.getLong("ram_mb")))
                .list());
    }

    /** Usage per host of the servers placed there: vcpus, ram and disk, and how many. */
    public Map<String, HostUsage> usageByHost() {
        return jdbi.withHandle(h -> {
            Map<String, HostUsage> usage = new HashMap<>();
            h.createQuery("select host, sum(vcpus) as v, sum(ram_mb) as r, sum(disk_gb + ephemeral_gb) as d, count(*) as n "
                            + "from servers where deleted = false and host is not null and vm_state <> 'blessed' group by host")
                    .map((rs, ctx) -> new HostUsage(rs.getString("host"), rs.getLong("v"), rs.getLong("r"), rs.getLong("d"), rs.getLong("n")))
                    .forEach(u -> usage.put(u.host(), u));
            return usage;
        });
    }

    /** What the servers on a host use. */
    public record HostUsage(String host, long vcpus, long ramMb, long diskGb, long servers) {
        public static HostUsage none(String host) {
            return new HostUsage(host, 0, 0, 0, 0);
        }
    }

    /** Servers with an operation in flight (a controller restart must finish or undo them). */
    public List<Server> inFlight() {
        return jdbi.withHandle(h -> load(h, h.createQuery(
                "select * from servers where deleted = false and (task_state is not null or vm_state = 'building')")));
    }

    public List<Server> onHost(String host) {
        return jdbi.withHandle(h -> load(h, h.createQuery("select * from servers where deleted = false and host = :h").bind("h", host)));
    }

    /**
     * Starts an operation: sets {@code task} if the server has no task in flight and is in one of
     * {@code allowed} vm states. False if it was not (the caller explains the conflict).
     */
    public boolean beginTask(String id, TaskState task, Set<VmState> allowed, Instant now) {
        return jdbi.withHandle(h -> h.createUpdate("update servers set task_state = :task, updated_at = :now where id = :id "
                        + "and deleted = false and task_state is null and vm_state in (<allowed>)")
                .bind("task", task.wireName()).bind("id", id).bind("now", now)
                .bindList("allowed", allowed.stream().map(VmState::wireName).toList())
                .execute() == 1);
    }

    /** Deletion may interrupt any other task; false only if the server is gone or already being deleted. */
    public boolean beginDelete(String id, Instant now) {
        return beginDelete(id, now, h -> {});
    }

    /** As above; {@code alsoWriting} runs in the same transaction when the delete begins (its action record). */
    public boolean beginDelete(String id, Instant now, java.util.function.Consumer<Handle> alsoWriting) {
        // Shared with concurrent deletes and build steps: one commit for all of them.
        return steps.run(h -> {
            boolean began = h.createUpdate("update servers set task_state = 'deleting', updated_at = :now where id = :id "
                            + "and deleted = false and (task_state is null or task_state <> 'deleting')")
                    .bind("id", id).bind("now", now).execute() == 1;
            if (began) {
                alsoWriting.accept(h);
            }
            return began;
        });
    }

    /** Ends an operation with the state the hypervisor reports; no-op if the server was deleted meanwhile. */
    public boolean finishTask(String id, TaskState expectedTask, VmState vmState, PowerState power, Instant now) {
        return finishTask(id, expectedTask, vmState, power, null, now);
    }

    /**
     * As {@link #finishTask(String, TaskState, VmState, PowerState, Instant)}, also recording the
     * SSH port the host forwards to the guest (kept when null): a build's end is one write.
     */
    public boolean finishTask(String id, TaskState expectedTask, VmState vmState, PowerState power, Integer sshPort, Instant now) {
        return steps.run(h -> {
            Update update = h.createUpdate("update servers set vm_state = :vm, power_state = :power, task_state = null, "
                            + "progress = :progress, updated_at = :now, launched_at = coalesce(launched_at, :launched), "
                            + "ssh_port = coalesce(:port, ssh_port) "
                            + "where id = :id and deleted = false and " + (expectedTask == null ? "task_state is null" : "task_state = :task"))
                    .bind("vm", vmState.wireName()).bind("power", power.code()).bind("id", id).bind("now", now)
                    .bind("progress", vmState == VmState.ACTIVE ? 100 : 0)
                    .bind("launched", vmState == VmState.ACTIVE ? now : null)
                    .bind("port", sshPort);
            if (expectedTask != null) {
                update.bind("task", expectedTask.wireName());
            }
            return update.execute() == 1;
        });
    }

    /** Moves a server to a new task without clearing it (e.g. scheduling → spawning). */
    public boolean advanceTask(String id, TaskState from, TaskState to, Instant now) {
        return jdbi.withHandle(h -> h.createUpdate("update servers set task_state = :to, updated_at = :now where id = :id "
                        + "and deleted = false and task_state = :from")
                .bind("to", to.wireName()).bind("from", from.wireName()).bind("id", id).bind("now", now).execute() == 1);
    }

    /** Records the scheduler's choice and moves the build on to spawning, in one write. */
    public boolean place(String id, String host, String zone, Instant now) {
        return steps.run(h -> h.createUpdate("update servers set host = :host, availability_zone = :zone, task_state = 'spawning', "
                        + "progress = 50, updated_at = :now where id = :id and deleted = false and task_state = 'scheduling'")
                .bind("host", host).bind("zone", zone).bind("id", id).bind("now", now).execute() == 1);
    }

    /** A server and the host chosen for it (see {@link #placeAll}). */
    public record Placing(String id, String host, String zone) {}

    /**
     * {@link #place} for the servers of one request in one write; answers the ids placed (the
     * others were deleted, or are no longer scheduling).
     */
    public Set<String> placeAll(List<Placing> placings, Instant now) {
        if (placings.isEmpty()) {
            return Set.of();
        }
        return steps.run(h -> {
            org.jdbi.v3.core.statement.PreparedBatch batch = h.prepareBatch("update servers set host = :host, availability_zone = :zone, "
                    + "task_state = 'spawning', progress = 50, updated_at = :now where id = :id and deleted = false and task_state = 'scheduling'");
            for (Placing placing : placings) {
                batch.bind("host", placing.host()).bind("zone", placing.zone()).bind("id", placing.id()).bind("now", now).add();
            }
            int[] counts = batch.execute();
            Set<String> placed = new java.util.HashSet<>();
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] == 1) {
                    placed.add(placings.get(i).id());
                }
            }
            return placed;
        });
    }

    /** What {@link #placeWithin} did. */
    public enum Placement { PLACED, GONE, FULL }

    /**
     * As {@link #place}, but only if the host still has room for {@code demand} within
     * {@code capacity} (vcpus, RAM MB, disk GB after allocation ratios), judged from the servers
     * the store has on it under a lock on the host's row. Controllers that share a database each
     * claim capacity in their own memory; this is where two of them choosing the same nearly
     * full host at once find out, so that one goes elsewhere instead of both overcommitting it.
     */
    public Placement placeWithin(String id, String host, String zone, Flavor demand, double[] capacity, Instant now) {
        return jdbi.inTransaction(h -> {
            h.createQuery("select host from hosts where host = :h for update").bind("h", host).mapTo(String.class).findOne();
            long[] used = h.createQuery("select coalesce(sum(vcpus), 0) as v, coalesce(sum(ram_mb), 0) as r, "
                            + "coalesce(sum(disk_gb + ephemeral_gb), 0) as d from servers "
                            + "where deleted = false and host = :h and vm_state <> 'blessed' and id <> :id")
                    .bind("h", host).bind("id", id)
                    .map((rs, ctx) -> new long[] {rs.getLong("v"), rs.getLong("r"), rs.getLong("d")}).one();
            if (used[0] + demand.vcpus() > capacity[0] || used[1] + demand.ramMb() > capacity[1]
                    || used[2] + demand.diskGb() + demand.ephemeralGb() > capacity[2]) {
                return Placement.FULL;
            }
            boolean placed = h.createUpdate("update servers set host = :host, availability_zone = :zone, task_state = 'spawning', "
                            + "progress = 50, updated_at = :now where id = :id and deleted = false and task_state = 'scheduling'")
                    .bind("host", host).bind("zone", zone).bind("id", id).bind("now", now).execute() == 1;
            return placed ? Placement.PLACED : Placement.GONE;
        });
    }

    /** What the servers on one host use, as {@link #usageByHost} counts it. */
    public HostUsage usageOf(String host) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) as n, coalesce(sum(vcpus), 0) as v, coalesce(sum(ram_mb), 0) as r, "
                        + "coalesce(sum(disk_gb + ephemeral_gb), 0) as d from servers where deleted = false and host = :h and vm_state <> 'blessed'")
                .bind("h", host)
                .map((rs, ctx) -> new HostUsage(host, rs.getLong("v"), rs.getLong("r"), rs.getLong("d"), rs.getLong("n"))).one());
    }

    /** Records that a live migration moved the server to {@code host}. */
    public void moveHost(String id, String host, String zone, Instant now) {
        jdbi.useHandle(h -> h.createUpdate("update servers set host = :host, availability_zone = coalesce(:zone, availability_zone), "
                        + "updated_at = :now where id = :id and deleted = false")
                .bind("host", host).bind("zone", zone).bind("now", now).bind("id", id).execute());
    }

    /**
     * Ends a step of a cold move in one transaction with its migration row: the server takes
     * {@code host} and {@code flavor} (the destination's after a migrate or resize, the source's
     * after a revert), leaves {@code expectedTask} for {@code vmState}, and the migration takes
     * {@code migrationStatus}. False (and nothing written) if the server left that task meanwhile.
     */
    public boolean settleColdMove(String id, TaskState expectedTask, String host, Flavor flavor, VmState vmState, PowerState power,
            String migrationUuid, String migrationStatus, Instant now) {
        return jdbi.inTransaction(h -> {
            int updated = h.createUpdate("update servers set host = :host, flavor_id = :fid, flavor_name = :fname, vcpus = :vcpus, "
                            + "ram_mb = :ram, disk_gb = :disk, ephemeral_gb = :eph, swap_mb = :swap, flavor_extra_specs = :specs, "
                            + "vm_state = :vm, task_state = null, power_state = :power, progress = :progress, updated_at = :now "
                            + "where id = :id and deleted = false and task_state = :task")
                    .bind("host", host).bind("fid", flavor.id()).bind("fname", flavor.name()).bind("vcpus", flavor.vcpus())
                    .bind("ram", flavor.ramMb()).bind("disk", flavor.diskGb()).bind("eph", flavor.ephemeralGb()).bind("swap", flavor.swapMb())
                    .bind("specs", toJson(flavor.extraSpecs())).bind("vm", vmState.wireName()).bind("power", power.code())
                    .bind("progress", vmState == VmState.STOPPED ? 0 : 100).bind("now", now).bind("id", id)
                    .bind("task", expectedTask.wireName()).execute();
            if (updated != 1) {
                return false;
            }
            h.execute("update migrations set status = ?, updated_at = ? where uuid = ?", migrationStatus, now, migrationUuid);
            return true;
        });
    }

    public void setProgress(String id, int progress) {
        jdbi.useHandle(h -> h.execute("update servers set progress = ? where id = ?", progress, id));
    }

    public void setSshPort(String id, int port) {
        jdbi.useHandle(h -> h.execute("update servers set ssh_port = ? where id = ?", port, id));
    }

    /** Puts the server in ERROR with a fault, clearing its task (unless it was deleted meanwhile). */
    public void fail(String id, Fault fault, PowerState power, Instant now) {
        jdbi.useHandle(h -> h.createUpdate("update servers set vm_state = 'error', task_state = null, power_state = :power, "
                        + "fault_code = :code, fault_message = :message, fault_details = :details, fault_created_at = :created, "
                        + "updated_at = :now where id = :id and deleted = false")
                .bind("power", power.code()).bind("code", fault.code()).bind("message", fault.message())
                .bind("details", fault.details()).bind("created", fault.created()).bind("now", now).bind("id", id).execute());
    }

    /** Records what the hypervisor says happened on its own (a guest powered off), only when no task is running. */
    public boolean syncPowerState(String id, VmState vmState, PowerState power, Instant now) {
        return jdbi.withHandle(h -> h.createUpdate("update servers set vm_state = :vm, power_state = :power, updated_at = :now "
                        + "where id = :id and deleted = false and task_state is null and vm_state in ('active', 'paused', 'suspended', 'stopped')")
                .bind("vm", vmState.wireName()).bind("power", power.code()).bind("now", now).bind("id", id).execute() == 1);
    }

    /** Sets state and power whatever the current state (used when the host lost the VM). */
    public void syncPowerStateForced(String id, VmState vmState, PowerState power, Instant now) {
        jdbi.useHandle(h -> h.createUpdate("update servers set vm_state = :vm, power_state = :power, updated_at = :now "
                        + "where id = :id and deleted = false")
                .bind("vm", vmState.wireName()).bind("power", power.code()).bind("now", now).bind("id", id).execute());
    }

    public void setLocked(String id, boolean locked, Instant now) {
        jdbi.useHandle(h -> h.execute("update servers set locked = ?, updated_at = ? where id = ? and deleted = false", locked, now, id));
    }

    /**
     * Evacuate: the server leaves its failed host and is built again elsewhere; false when its
     * state changed meanwhile (a task started, or it was deleted).
     */
    public boolean beginEvacuate(String id, String fromHost, Instant now) {
        return jdbi.withHandle(h -> h.createUpdate("update servers set host = null, vm_state = 'building', task_state = 'scheduling', "
                        + "progress = 0, updated_at = :now where id = :id and deleted = false and task_state is null and host = :host")
                .bind("now", now).bind("id", id).bind("host", fromHost).execute() == 1);
    }

    /** An admin's os-resetState: the state is set as told and any task forgotten. */
    public void resetState(String id, VmState vmState, Instant now) {
        jdbi.useHandle(h -> h.execute("update servers set vm_state = ?, task_state = null, updated_at = ? where id = ? and deleted = false",
                vmState.wireName(), now, id));
    }

    /**
     * The server is gone from its host: soft-delete the row (for history) and free its address.
     * False if it was deleted already (two deletes ran: only the one that marked it gives its
     * resources back).
     */
    public boolean markDeleted(String id, Instant now) {
        return steps.run(h -> {
            int marked = h.createUpdate("update servers set deleted = true, vm_state = 'deleted', task_state = null, power_state = 0, "
                            + "terminated_at = :now, updated_at = :now where id = :id and deleted = false")
                    .bind("now", now).bind("id", id).execute();
            h.execute("delete from fixed_ips where server_id = ?", id);
            return marked == 1;
        });
    }

    public void update(String id, String name, String accessIpv4, String accessIpv6, String description, boolean clearDescription,
            Instant now) {
        jdbi.useHandle(h -> {
            StringBuilder sql = new StringBuilder("update servers set updated_at = :now");
            if (name != null) {
                sql.append(", name = :name");
            }
            if (accessIpv4 != null) {
                sql.append(", access_ipv4 = :v4");
            }
            if (accessIpv6 != null) {
                sql.append(", access_ipv6 = :v6");
            }
            if (description != null || clearDescription) {
                sql.append(", description = :description");
            }
            sql.append(" where id = :id and deleted = false");
            Update update = h.createUpdate(sql.toString()).bind("now", now).bind("id", id);
            if (name != null) {
                update.bind("name", name);
            }
            if (accessIpv4 != null) {
                update.bind("v4", accessIpv4);
            }
            if (accessIpv6 != null) {
                update.bind("v6", accessIpv6);
            }
            if (description != null || clearDescription) {
                update.bind("description", description);
            }
            update.execute();
        });
    }

    // --- metadata and tags

    public void replaceMetadata(String id, Map<String, String> metadata, Instant now) {
        jdbi.useHandle(h -> h.execute("update servers set metadata = ?, updated_at = ? where id = ?", toJson(new TreeMap<>(metadata)), now, id));
    }

    /** Read-modify-write of the metadata under a row lock, so concurrent updates do not lose keys. */
    public void mergeMetadata(String id, Map<String, String> metadata, Instant now) {
        jdbi.useTransaction(h -> {
            Map<String, String> current = new TreeMap<>(fromJson(h.createQuery("select metadata from servers where id = :id for update")
                    .bind("id", id).mapTo(String.class).one()));
            current.putAll(metadata);
            h.execute("update servers set metadata = ?, updated_at = ? where id = ?", toJson(current), now, id);
        });
    }

    public boolean deleteMetadataKey(String id, String key, Instant now) {
        return jdbi.inTransaction(h -> {
            Map<String, String> current = new TreeMap<>(fromJson(h.createQuery("select metadata from servers where id = :id for update")
                    .bind("id", id).mapTo(String.class).one()));
            boolean removed = current.remove(key) != null;
            h.execute("update servers set metadata = ?, updated_at = ? where id = ?", toJson(current), now, id);
            return removed;
        });
    }

    public void replaceTags(String id, List<String> tags) {
        jdbi.useHandle(h -> h.execute("update servers set tags = ? where id = ?", toJson(List.copyOf(new java.util.TreeSet<>(tags))), id));
    }

    public void addTag(String id, String tag) {
        jdbi.useTransaction(h -> {
            java.util.TreeSet<String> tags = new java.util.TreeSet<>(tagsFromJson(h.createQuery("select tags from servers where id = :id for update")
                    .bind("id", id).mapTo(String.class).one()));
            tags.add(tag);
            h.execute("update servers set tags = ? where id = ?", toJson(List.copyOf(tags)), id);
        });
    }

    public boolean removeTag(String id, String tag) {
        return jdbi.inTransaction(h -> {
            java.util.TreeSet<String> tags = new java.util.TreeSet<>(tagsFromJson(h.createQuery("select tags from servers where id = :id for update")
                    .bind("id", id).mapTo(String.class).one()));
            boolean removed = tags.remove(tag);
            h.execute("update servers set tags = ? where id = ?", toJson(List.copyOf(tags)), id);
            return removed;
        });
    }

    // --- mapping

    private static List<Server> load(Handle h, Query query) {
        return query.map((rs, ctx) -> row(rs)).list();
    }

    private static Server row(ResultSet rs) throws SQLException {
        Flavor flavor = new Flavor(rs.getString("flavor_id"), rs.getString("flavor_name"), rs.getInt("vcpus"), rs.getInt("ram_mb"),
                rs.getInt("disk_gb"), rs.getInt("ephemeral_gb"), rs.getInt("swap_mb"), 1.0, true, false, null,
                fromJson(rs.getString("flavor_extra_specs")), null);
        Integer faultCode = (Integer) rs.getObject("fault_code");
        Fault fault = faultCode == null ? null : new Fault(faultCode, rs.getString("fault_message"), rs.getString("fault_details"),
                instant(rs, "fault_created_at"));
        return new Server(rs.getString("id"), rs.getString("name"), rs.getString("project_id"), rs.getString("user_id"), flavor,
                rs.getString("image_id"), rs.getString("key_name"), rs.getString("host"), rs.getString("availability_zone"),
                rs.getString("requested_zone"), VmState.fromWireName(rs.getString("vm_state")),
                TaskState.fromWireName(rs.getString("task_state")), PowerState.fromCode(rs.getInt("power_state")), rs.getInt("progress"),
                rs.getString("user_data"), rs.getString("access_ipv4"), rs.getString("access_ipv6"), rs.getString("config_drive"),
                rs.getBoolean("locked"), rs.getString("description"), rs.getString("hostname"), rs.getString("reservation_id"),
                rs.getInt("launch_index"), rs.getString("mac_address"), rs.getString("ip_address"), rs.getInt("ssh_port"), fault,
                instant(rs, "created_at"), instant(rs, "updated_at"), instant(rs, "launched_at"), instant(rs, "terminated_at"),
                rs.getBoolean("deleted"), fromJson(rs.getString("metadata")), tagsFromJson(rs.getString("tags")));
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    private static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value instanceof Map<?, ?> map ? new TreeMap<>(map) : value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> tagsFromJson(String json) {
        try {
            return json == null ? List.of() : MAPPER.readValue(json, new TypeReference<List<String>>() {});
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt tags: " + json, e);
        }
    }

    private static Map<String, String> fromJson(String json) {
        try {
            return json == null ? Map.of() : MAPPER.readValue(json, new TypeReference<Map<String, String>>() {});
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt JSON column: " + json, e);
        }
    }
}
