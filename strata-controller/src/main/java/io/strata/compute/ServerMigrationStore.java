package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/** Rows of the migrations table (see {@link ServerMigration}). */
public final class ServerMigrationStore {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Statuses after which a migration is over; any other one is still in flight. */
    private static final List<String> DONE = List.of("confirmed", "reverted", "error", "failed", "completed", "done", "cancelled");
    /** Nova's statuses of a live migration still under way (its API's list, shared by os-migrations links). */
    public static final List<String> LIVE_IN_PROGRESS = List.of("queued", "preparing", "running", "post-migrating");

    private final Jdbi jdbi;

    public ServerMigrationStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /**
     * Filters of GET /os-migrations; null means any. {@code host} matches either end;
     * {@code changesSince} / {@code changesBefore} bound updated_at (inclusive) as Nova's do.
     */
    public record Query(String host, String status, String serverId, String type, String sourceCompute, String projectId, String userId,
            Instant changesSince, Instant changesBefore) {
        public static Query all() {
            return new Query(null, null, null, null, null, null, null, null, null);
        }
    }

    public ServerMigration insert(Server server, String type, String status, String source, String dest, Flavor oldFlavor, Flavor newFlavor,
            boolean wasRunning, String userId, Instant now) {
        String uuid = UUID.randomUUID().toString();
        jdbi.useHandle(h -> h.createUpdate("insert into migrations (uuid, server_id, project_id, user_id, migration_type, status, "
                        + "source_compute, dest_compute, old_flavor, new_flavor, was_running, created_at, updated_at) values (:uuid, :server, "
                        + ":project, :user, :type, :status, :source, :dest, :old, :new, :running, :now, :now)")
                .bind("uuid", uuid).bind("server", server.id()).bind("project", server.projectId()).bind("user", userId)
                .bind("type", type).bind("status", status).bind("source", source).bind("dest", dest)
                .bind("old", toJson(oldFlavor)).bind("new", toJson(newFlavor)).bind("running", wasRunning).bind("now", now).execute());
        return findByUuid(uuid).orElseThrow();
    }

    public Optional<ServerMigration> findByUuid(String uuid) {
        return jdbi.withHandle(h -> h.createQuery("select * from migrations where uuid = :u").bind("u", uuid).map((rs, c) -> row(rs))
                .findOne());
    }

    /** The server's newest migration that has not ended, if any. */
    public Optional<ServerMigration> inFlight(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select * from migrations where server_id = :s and status not in (<done>) "
                        + "order by id desc").bind("s", serverId).bindList("done", DONE).map((rs, c) -> row(rs)).findFirst());
    }

    /** The server's migration with Nova's integer {@code id}, of any type and status. */
    public Optional<ServerMigration> find(String serverId, int id) {
        return jdbi.withHandle(h -> h.createQuery("select * from migrations where id = :id and server_id = :s").bind("id", id)
                .bind("s", serverId).map((rs, c) -> row(rs)).findOne());
    }

    /** The server's live migrations not yet ended, oldest first (GET /servers/{id}/migrations). */
    public List<ServerMigration> liveInProgress(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select * from migrations where server_id = :s and migration_type = :type "
                        + "and status in (<progress>) order by id").bind("s", serverId).bind("type", ServerMigration.LIVE)
                .bindList("progress", LIVE_IN_PROGRESS).map((rs, c) -> row(rs)).list());
    }

    /** Every cold move not yet confirmed or reverted, wherever its server is (a restart must not lose their source VMs). */
    public List<ServerMigration> coldMovesInFlight() {
        return jdbi.withHandle(h -> h.createQuery("select * from migrations where migration_type in ('migration', 'resize') "
                + "and status not in (<done>) order by id").bindList("done", DONE).map((rs, c) -> row(rs)).list());
    }

    /** Moves a migration to {@code status} (and sets its destination when not null). */
    public void update(String uuid, String status, String dest, Instant now) {
        jdbi.useHandle(h -> h.createUpdate("update migrations set status = :status, dest_compute = coalesce(:dest, dest_compute), "
                        + "updated_at = :now where uuid = :uuid")
                .bind("status", status).bind("dest", dest).bind("now", now).bind("uuid", uuid).execute());
    }

    /**
     * Newest first (created_at, then id, descending, as Nova sorts them), at most {@code limit},
     * starting after {@code marker} (a migration's uuid) when it is not null.
     *
     * @throws java.util.NoSuchElementException when no migration has the marker's uuid
     */
    public List<ServerMigration> list(Query q, String marker, int limit) {
        StringBuilder sql = new StringBuilder("select * from migrations where 1 = 1");
        List<Object> args = new ArrayList<>();
        if (marker != null) {
            ServerMigration after = findByUuid(marker).orElseThrow();
            sql.append(" and (created_at < ? or (created_at = ? and id < ?))");
            args.add(after.createdAt());
            args.add(after.createdAt());
            args.add(after.id());
        }
        filter(sql, args, " and (source_compute = ? or dest_compute = ?)", q.host(), q.host());
        filter(sql, args, " and status = ?", q.status());
        filter(sql, args, " and server_id = ?", q.serverId());
        filter(sql, args, " and migration_type = ?", q.type());
        filter(sql, args, " and source_compute = ?", q.sourceCompute());
        filter(sql, args, " and project_id = ?", q.projectId());
        filter(sql, args, " and user_id = ?", q.userId());
        filter(sql, args, " and updated_at >= ?", q.changesSince());
        filter(sql, args, " and updated_at <= ?", q.changesBefore());
        sql.append(" order by created_at desc, id desc");
        return jdbi.withHandle(h -> {
            org.jdbi.v3.core.statement.Query query = h.createQuery(sql.toString());
            for (int i = 0; i < args.size(); i++) {
                query.bind(i, args.get(i));
            }
            return query.setMaxRows(limit).map((rs, c) -> row(rs)).list();
        });
    }

    /** Appends {@code clause} with its arguments when the value it filters on is given. */
    private static void filter(StringBuilder sql, List<Object> args, String clause, Object... values) {
        if (values[0] == null) {
            return;
        }
        sql.append(clause);
        args.addAll(List.of(values));
    }

    private static ServerMigration row(ResultSet rs) throws SQLException {
        return new ServerMigration(rs.getInt("id"), rs.getString("uuid"), rs.getString("server_id"), rs.getString("project_id"),
                rs.getString("user_id"), rs.getString("migration_type"), rs.getString("status"), rs.getString("source_compute"),
                rs.getString("dest_compute"), fromJson(rs.getString("old_flavor")), fromJson(rs.getString("new_flavor")),
                rs.getBoolean("was_running"), ServerStore.instant(rs, "created_at"), ServerStore.instant(rs, "updated_at"));
    }

    // The flavor as the server row holds it (see ServerStore): what a revert needs to restore.
    private static String toJson(Flavor f) {
        if (f == null) {
            return null;
        }
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", f.id()).put("name", f.name()).put("vcpus", f.vcpus()).put("ram_mb", f.ramMb()).put("disk_gb", f.diskGb())
                .put("ephemeral_gb", f.ephemeralGb()).put("swap_mb", f.swapMb());
        ObjectNode specs = n.putObject("extra_specs");
        new TreeMap<>(f.extraSpecs()).forEach(specs::put);
        return n.toString();
    }

    private static Flavor fromJson(String json) {
        if (json == null) {
            return null;
        }
        try {
            JsonNode n = MAPPER.readTree(json);
            Map<String, String> specs = new TreeMap<>();
            n.path("extra_specs").fields().forEachRemaining(e -> specs.put(e.getKey(), e.getValue().asText()));
            return new Flavor(n.get("id").asText(), n.get("name").asText(), n.get("vcpus").asInt(), n.get("ram_mb").asInt(),
                    n.get("disk_gb").asInt(), n.get("ephemeral_gb").asInt(), n.get("swap_mb").asInt(), 1.0, true, false, null, specs, null);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt flavor in migrations: " + json, e);
        }
    }
}
