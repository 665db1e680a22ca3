package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Map;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;

/**
 * Which controller process (by its incarnation id, new at every start) runs the operation in
 * flight on each server. Only the distributed mode writes here: the leader takes over the
 * operations of controllers that are gone, and never those of a live one.
 */
public final class OperationOwners {
    private final Jdbi jdbi;

    public OperationOwners(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** This controller runs the server's next operation. */
    public void claim(String serverId, String controllerId, Instant now) {
        // Separate statements, no transaction: on PostgreSQL a failed insert would poison it.
        if (update(serverId, controllerId, now) == 0) {
            try {
                jdbi.useHandle(h -> h.execute("insert into operation_owners (server_id, controller_id, claimed_at) values (?, ?, ?)",
                        serverId, controllerId, now));
            } catch (org.jdbi.v3.core.statement.UnableToExecuteStatementException e) {
                // Another controller inserted first (two requests on one server at once): the last claim wins.
                update(serverId, controllerId, now);
            }
        }
    }

    private int update(String serverId, String controllerId, Instant now) {
        return jdbi.withHandle(h -> h.execute("update operation_owners set controller_id = ?, claimed_at = ? where server_id = ?",
                controllerId, now, serverId));
    }

    /** Takes the server's operation over from {@code previous} (null: it had no owner); false if someone else did first. */
    public boolean takeOver(String serverId, String previous, String controllerId, Instant now) {
        if (previous == null) {
            try {
                return jdbi.withHandle(h -> h.execute("insert into operation_owners (server_id, controller_id, claimed_at) values (?, ?, ?)",
                        serverId, controllerId, now)) == 1;
            } catch (org.jdbi.v3.core.statement.UnableToExecuteStatementException e) {
                return false;
            }
        }
        return jdbi.withHandle(h -> h.execute("update operation_owners set controller_id = ?, claimed_at = ? where server_id = ? "
                + "and controller_id = ?", controllerId, now, serverId, previous)) == 1;
    }

    public Map<String, String> all() {
        return jdbi.withHandle(h -> h.createQuery("select server_id, controller_id from operation_owners")
                .map((rs, c) -> Map.entry(rs.getString(1), rs.getString(2))).list())
                .stream().collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }
}
