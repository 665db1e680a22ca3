package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Security groups, their rules, and which servers carry which groups. */
public final class SecurityGroupStore {
    private final Jdbi jdbi;

    public SecurityGroupStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** Inserts; false when the project already has a group of that name. */
    public boolean insert(String id, String projectId, String name, String description, Instant now) {
        try {
            jdbi.useHandle(h -> h.execute("insert into security_groups (id, project_id, name, description, created_at) values (?, ?, ?, ?, ?)",
                    id, projectId, name, description, now));
            return true;
        } catch (RuntimeException e) {
            if (ServerService.isUniqueViolation(e)) {
                return false;
            }
            throw e;
        }
    }

    public Optional<SecurityGroup> find(String id) {
        return jdbi.withHandle(h -> h.createQuery("select * from security_groups where id = :id").bind("id", id)
                .map((rs, c) -> row(h, rs)).findOne());
    }

    public Optional<SecurityGroup> findByName(String projectId, String name) {
        return jdbi.withHandle(h -> h.createQuery("select * from security_groups where project_id = :p and name = :n").bind("p", projectId)
                .bind("n", name).map((rs, c) -> row(h, rs)).findOne());
    }

    /** A project's groups, or all when {@code projectId} is null. */
    public List<SecurityGroup> list(String projectId) {
        return jdbi.withHandle(h -> {
            var query = projectId == null ? h.createQuery("select * from security_groups order by created_at, id")
                    : h.createQuery("select * from security_groups where project_id = :p order by created_at, id").bind("p", projectId);
            return query.map((rs, c) -> row(h, rs)).list();
        });
    }

    public int count(String projectId) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from security_groups where project_id = :p").bind("p", projectId)
                .mapTo(Integer.class).one());
    }

    public void update(String id, String name, String description) {
        jdbi.useHandle(h -> h.execute("update security_groups set name = ?, description = ? where id = ?", name, description, id));
    }

    public void delete(String id) {
        jdbi.useTransaction(h -> {
            h.execute("delete from server_security_groups where group_id = ?", id);
            h.execute("delete from security_groups where id = ?", id);
        });
    }

    public void insertRule(SecurityGroup.Rule rule, Instant now) {
        jdbi.useHandle(h -> h.execute("insert into security_group_rules (id, group_id, protocol, from_port, to_port, cidr, remote_group_id, "
                        + "created_at) values (?, ?, ?, ?, ?, ?, ?, ?)", rule.id(), rule.groupId(), rule.protocol(), rule.fromPort(),
                rule.toPort(), rule.cidr(), rule.remoteGroup() == null ? null : rule.remoteGroup().id(), now));
    }

    /** The group holding a rule, if the rule exists. */
    public Optional<String> groupOfRule(String ruleId) {
        return jdbi.withHandle(h -> h.createQuery("select group_id from security_group_rules where id = :id").bind("id", ruleId)
                .mapTo(String.class).findOne());
    }

    public void deleteRule(String ruleId) {
        jdbi.useHandle(h -> h.execute("delete from security_group_rules where id = ?", ruleId));
    }

    /** How many live servers carry the group. */
    public int serversUsing(String groupId) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from server_security_groups g join servers s on s.id = g.server_id "
                + "where g.group_id = :g and s.deleted = false").bind("g", groupId).mapTo(Integer.class).one());
    }

    public void attach(List<String> serverIds, List<String> groupIds) {
        jdbi.useTransaction(h -> attach(h, serverIds, groupIds));
    }

    /** Within the caller's transaction (a create inserts its servers and their groups together). */
    public void attach(org.jdbi.v3.core.Handle h, List<String> serverIds, List<String> groupIds) {
        if (serverIds.isEmpty() || groupIds.isEmpty()) {
            return;
        }
        org.jdbi.v3.core.statement.PreparedBatch batch = h.prepareBatch("insert into server_security_groups (server_id, group_id) values (?, ?)");
        serverIds.forEach(server -> groupIds.forEach(group -> batch.add(server, group)));
        batch.execute();
    }

    /** Attaches one group; false when the server already has it. */
    public boolean attachOne(String serverId, String groupId) {
        try {
            attach(List.of(serverId), List.of(groupId));
            return true;
        } catch (RuntimeException e) {
            if (ServerService.isUniqueViolation(e)) {
                return false;
            }
            throw e;
        }
    }

    public boolean detach(String serverId, String groupId) {
        return jdbi.withHandle(h -> h.execute("delete from server_security_groups where server_id = ? and group_id = ?", serverId,
                groupId) > 0);
    }

    /** The groups a server carries, by name. */
    public List<SecurityGroup> ofServer(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select g.* from security_groups g join server_security_groups s on s.group_id = g.id "
                + "where s.server_id = :s order by g.name").bind("s", serverId).map((rs, c) -> row(h, rs)).list());
    }

    /** Only the names (what a server's view shows), in one query. */
    public List<String> namesOfServer(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select g.name from security_groups g join server_security_groups s on s.group_id = g.id "
                + "where s.server_id = :s order by g.name").bind("s", serverId).mapTo(String.class).list());
    }

    /**
     * The names of the groups each of {@code serverIds} carries, in one query (a list of servers
     * shows them for every server); a server without groups has no entry.
     */
    public Map<String, List<String>> namesOfServers(Collection<String> serverIds) {
        if (serverIds.isEmpty()) {
            return Map.of();
        }
        Map<String, List<String>> names = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery("select s.server_id, g.name from security_groups g join server_security_groups s "
                        + "on s.group_id = g.id where s.server_id in (<ids>) order by s.server_id, g.name")
                .bindList("ids", List.copyOf(serverIds))
                .map((rs, c) -> Map.entry(rs.getString(1), rs.getString(2)))
                .forEach(e -> names.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue())));
        return names;
    }

    private static SecurityGroup row(Handle h, ResultSet rs) throws SQLException {
        String id = rs.getString("id");
        List<SecurityGroup.Rule> rules = h.createQuery("select r.*, g.name as remote_name, g.project_id as remote_project "
                        + "from security_group_rules r left join security_groups g on g.id = r.remote_group_id "
                        + "where r.group_id = :g order by r.created_at, r.id").bind("g", id)
                .map((r, c) -> new SecurityGroup.Rule(r.getString("id"), id, r.getString("protocol"), (Integer) r.getObject("from_port"),
                        (Integer) r.getObject("to_port"), r.getString("cidr"), r.getString("remote_group_id") == null ? null
                                : new SecurityGroup.Ref(r.getString("remote_group_id"), r.getString("remote_name"), r.getString("remote_project"))))
                .list();
        return new SecurityGroup(id, rs.getString("project_id"), rs.getString("name"), rs.getString("description"), rules);
    }
}
