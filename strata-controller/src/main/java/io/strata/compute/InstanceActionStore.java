package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import io.strata.store.GroupCommit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;

/** Rows of the instance action history. */
public final class InstanceActionStore {
    /** One recorded action. */
    public record InstanceAction(String serverId, String action, String requestId, String userId, String projectId, Instant startTime,
            String message) {}

    /** One step of an action; finishTime and result are null while it runs. */
    public record Event(String event, String host, Instant startTime, Instant finishTime, String result, String traceback) {}

    private final Jdbi jdbi;
    private final GroupCommit steps;

    /** {@code steps} writes the rows of ended events, which many builds and deletes write at once. */
    public InstanceActionStore(Jdbi jdbi, GroupCommit steps) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.steps = requireNonNull(steps, "steps is null");
    }

    public void insert(InstanceAction a) {
        jdbi.useHandle(h -> h.execute("insert into instance_actions (server_id, action, request_id, user_id, project_id, start_time, message) "
                + "values (?, ?, ?, ?, ?, ?, ?)", a.serverId(), a.action(), a.requestId(), a.userId(), a.projectId(), a.startTime(),
                a.message()));
    }

    /** Inserts {@code rows} in the caller's transaction. */
    public void insertAll(Handle h, List<InstanceAction> rows) {
        if (rows.isEmpty()) {
            return;
        }
        PreparedBatch batch = h.prepareBatch("insert into instance_actions (server_id, action, request_id, user_id, project_id, start_time, "
                + "message) values (:s, :a, :r, :u, :p, :t, :m)");
        for (InstanceAction a : rows) {
            batch.bind("s", a.serverId()).bind("a", a.action()).bind("r", a.requestId()).bind("u", a.userId()).bind("p", a.projectId())
                    .bind("t", a.startTime()).bind("m", a.message()).add();
        }
        batch.execute();
    }

    /** A server's actions, newest first. */
    public List<InstanceAction> list(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select * from instance_actions where server_id = :s order by start_time desc, id desc")
                .bind("s", serverId).map((rs, c) -> row(rs)).list());
    }

    public Optional<InstanceAction> find(String serverId, String requestId) {
        return jdbi.withHandle(h -> h.createQuery("select * from instance_actions where server_id = :s and request_id = :r order by id")
                .bind("s", serverId).bind("r", requestId).map((rs, c) -> row(rs)).findFirst());
    }

    /** Records that a step started; returns its id for {@link #finishEvent}. */
    public long startEvent(String serverId, String requestId, String event, String host, Instant start) {
        return jdbi.withHandle(h -> h.createUpdate("insert into instance_action_events (server_id, request_id, event, host, start_time) "
                        + "values (:s, :r, :e, :h, :t)")
                .bind("s", serverId).bind("r", requestId).bind("e", event).bind("h", host).bind("t", start)
                .executeAndReturnGeneratedKeys("id").mapTo(Long.class).one());
    }

    /**
     * A step that already ended, in one row. Builds and deletes of many servers end at once, so
     * these rows share commits (see GroupCommit); the call returns once its row is committed.
     */
    public void recordEvent(String serverId, String requestId, String event, String host, Instant start, Instant finish, String result,
            String traceback) {
        steps.run(h -> h.createUpdate("insert into instance_action_events (server_id, request_id, event, host, start_time, "
                        + "finish_time, result, traceback) values (:s, :r, :e, :h, :t, :f, :result, :tb)")
                .bind("s", serverId).bind("r", requestId).bind("e", event).bind("h", host).bind("t", start).bind("f", finish)
                .bind("result", result).bind("tb", traceback).execute());
    }

    public void finishEvent(long id, String result, String traceback, Instant finish) {
        jdbi.useHandle(h -> h.execute("update instance_action_events set finish_time = ?, result = ?, traceback = ? where id = ?", finish,
                result, traceback, id));
    }

    /** The steps of the action {@code requestId} on a server, in the order they started. */
    public List<Event> events(String serverId, String requestId) {
        return jdbi.withHandle(h -> h.createQuery("select * from instance_action_events where server_id = :s and request_id = :r order by id")
                .bind("s", serverId).bind("r", requestId)
                .map((rs, c) -> new Event(rs.getString("event"), rs.getString("host"), ServerStore.instant(rs, "start_time"),
                        ServerStore.instant(rs, "finish_time"), rs.getString("result"), rs.getString("traceback"))).list());
    }

    private static InstanceAction row(ResultSet rs) throws SQLException {
        return new InstanceAction(rs.getString("server_id"), rs.getString("action"), rs.getString("request_id"), rs.getString("user_id"),
                rs.getString("project_id"), ServerStore.instant(rs, "start_time"), rs.getString("message"));
    }
}
