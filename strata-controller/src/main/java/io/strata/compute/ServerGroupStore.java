package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Server group rows and their members; members are read through the live servers. */
public final class ServerGroupStore {
    private static final String LIVE_MEMBERS = "select m.server_id from server_group_members m join servers s on s.id = m.server_id "
            + "where m.group_id = :g and s.deleted = false order by s.created_at, m.server_id";

    private final Jdbi jdbi;

    public ServerGroupStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    public void insert(ServerGroup group) {
        jdbi.useHandle(h -> insert(h, group));
    }

    /** As {@link #insert(ServerGroup)}, in the caller's transaction. */
    static void insert(Handle h, ServerGroup group) {
        h.createUpdate("insert into server_groups (id, name, project_id, user_id, policy, created_at) "
                        + "values (:id, :name, :p, :u, :policy, :at)")
                .bind("id", group.id()).bind("name", group.name()).bind("p", group.projectId()).bind("u", group.userId())
                .bind("policy", group.policy().wireName()).bind("at", group.createdAt()).execute();
    }

    public Optional<ServerGroup> find(String id) {
        return jdbi.withHandle(h -> h.createQuery("select * from server_groups where id = :id").bind("id", id)
                .map((rs, c) -> row(h, rs)).findOne());
    }

    /** Groups of a project (or of all projects when {@code projectId} is null). */
    public List<ServerGroup> list(String projectId) {
        return jdbi.withHandle(h -> {
            var query = projectId == null ? h.createQuery("select * from server_groups order by created_at, id")
                    : h.createQuery("select * from server_groups where project_id = :p order by created_at, id").bind("p", projectId);
            return query.map((rs, c) -> row(h, rs)).list();
        });
    }

    public int count(String projectId) {
        return jdbi.withHandle(h -> count(h, projectId));
    }

    static int count(Handle h, String projectId) {
        return h.createQuery("select count(*) from server_groups where project_id = :p").bind("p", projectId).mapTo(Integer.class).one();
    }

    public boolean delete(String id) {
        return jdbi.withHandle(h -> h.execute("delete from server_groups where id = ?", id) > 0);
    }

    /** Adds servers to a group, in the caller's transaction (the one that inserts the servers and counts the group's quota). */
    static void addMembers(Handle h, String groupId, List<String> serverIds) {
        serverIds.forEach(s -> h.execute("insert into server_group_members (server_id, group_id) values (?, ?)", s, groupId));
    }

    /** How many live members a group has, in the caller's transaction. */
    static int countMembers(Handle h, String groupId) {
        return h.createQuery("select count(*) from server_group_members m join servers s on s.id = m.server_id "
                + "where m.group_id = :g and s.deleted = false").bind("g", groupId).mapTo(Integer.class).one();
    }

    /** The group of a server, if any. */
    public Optional<ServerGroup> groupOf(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select g.* from server_groups g join server_group_members m on m.group_id = g.id "
                + "where m.server_id = :s").bind("s", serverId).map((rs, c) -> row(h, rs)).findOne());
    }

    /** Where each live member runs (members not yet placed map to null). */
    public Map<String, String> memberHosts(String groupId) {
        return jdbi.withHandle(h -> {
            Map<String, String> hosts = new java.util.HashMap<>();
            h.createQuery("select s.id, s.host from server_group_members m join servers s on s.id = m.server_id "
                            + "where m.group_id = :g and s.deleted = false").bind("g", groupId)
                    .map((rs, c) -> Map.entry(rs.getString(1), Optional.ofNullable(rs.getString(2)))).list()
                    .forEach(e -> hosts.put(e.getKey(), e.getValue().orElse(null)));
            return hosts;
        });
    }

    private static ServerGroup row(Handle h, ResultSet rs) throws SQLException {
        String id = rs.getString("id");
        List<String> members = h.createQuery(LIVE_MEMBERS).bind("g", id).mapTo(String.class).list();
        return new ServerGroup(id, rs.getString("name"), rs.getString("project_id"), rs.getString("user_id"),
                ServerGroup.Policy.fromWire(rs.getString("policy")), members, ServerStore.instant(rs, "created_at"));
    }
}
