package io.strata.identity;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/** Rows of the identity tables. Callers check permissions; this class only reads and writes. */
public final class IdentityStore {
    private final Jdbi jdbi;

    public IdentityStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    // --- domains

    public void insertDomain(Domain domain) {
        jdbi.useHandle(h -> h.createUpdate("insert into domains (id, name, description, enabled, created_at) "
                        + "values (:id, :name, :description, :enabled, :createdAt)")
                .bindMethods(domain).execute());
    }

    public Optional<Domain> findDomain(String id) {
        return jdbi.withHandle(h -> h.createQuery("select * from domains where id = :id").bind("id", id)
                .map((rs, ctx) -> domain(rs)).findOne());
    }

    public Optional<Domain> findDomainByName(String name) {
        return jdbi.withHandle(h -> h.createQuery("select * from domains where name = :name").bind("name", name)
                .map((rs, ctx) -> domain(rs)).findOne());
    }

    public List<Domain> listDomains(String name, Boolean enabled) {
        return jdbi.withHandle(h -> filtered(h, "select * from domains", name, enabled, null)
                .map((rs, ctx) -> domain(rs)).list());
    }

    public void updateDomain(Domain domain) {
        jdbi.useHandle(h -> h.createUpdate("update domains set name = :name, description = :description, enabled = :enabled where id = :id")
                .bindMethods(domain).execute());
    }

    public void deleteDomain(String id) {
        jdbi.useTransaction(h -> {
            h.execute("delete from role_assignments where target_type = 'domain' and target_id = ?", id);
            h.execute("delete from domains where id = ?", id);
        });
    }

    public int countProjectsInDomain(String domainId) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from projects where domain_id = :d").bind("d", domainId)
                .mapTo(Integer.class).one()
                + h.createQuery("select count(*) from users where domain_id = :d").bind("d", domainId).mapTo(Integer.class).one());
    }

    // --- projects

    public void insertProject(Project project) {
        jdbi.useHandle(h -> h.createUpdate("insert into projects (id, domain_id, name, description, enabled, created_at) "
                        + "values (:id, :domainId, :name, :description, :enabled, :createdAt)")
                .bindMethods(project).execute());
    }

    public Optional<Project> findProject(String id) {
        return jdbi.withHandle(h -> h.createQuery("select * from projects where id = :id").bind("id", id)
                .map((rs, ctx) -> project(rs)).findOne());
    }

    public Optional<Project> findProjectByName(String domainId, String name) {
        return jdbi.withHandle(h -> h.createQuery("select * from projects where domain_id = :d and name = :n")
                .bind("d", domainId).bind("n", name).map((rs, ctx) -> project(rs)).findOne());
    }

    public List<Project> listProjects(String name, Boolean enabled, String domainId) {
        return jdbi.withHandle(h -> filtered(h, "select * from projects", name, enabled, domainId)
                .map((rs, ctx) -> project(rs)).list());
    }

    /** Projects on which the user holds any role. */
    public List<Project> listProjectsOfUser(String userId) {
        return jdbi.withHandle(h -> h.createQuery("select * from projects where id in (select target_id from role_assignments "
                        + "where user_id = :u and target_type = 'project') order by name")
                .bind("u", userId).map((rs, ctx) -> project(rs)).list());
    }

    public void updateProject(Project project) {
        jdbi.useHandle(h -> h.createUpdate("update projects set name = :name, description = :description, enabled = :enabled where id = :id")
                .bindMethods(project).execute());
    }

    public void deleteProject(String id) {
        jdbi.useTransaction(h -> {
            h.execute("delete from role_assignments where target_type = 'project' and target_id = ?", id);
            h.execute("update users set default_project_id = null where default_project_id = ?", id);
            h.execute("delete from tokens where project_id = ?", id);
            h.execute("delete from projects where id = ?", id);
        });
    }

    // --- users

    public void insertUser(User user) {
        jdbi.useHandle(h -> h.createUpdate("insert into users (id, domain_id, name, password_hash, email, description, enabled, "
                        + "default_project_id, created_at) values (:id, :domainId, :name, :passwordHash, :email, :description, "
                        + ":enabled, :defaultProjectId, :createdAt)")
                .bindMethods(user).execute());
    }

    public Optional<User> findUser(String id) {
        return jdbi.withHandle(h -> h.createQuery("select * from users where id = :id").bind("id", id)
                .map((rs, ctx) -> user(rs)).findOne());
    }

    public Optional<User> findUserByName(String domainId, String name) {
        return jdbi.withHandle(h -> h.createQuery("select * from users where domain_id = :d and name = :n")
                .bind("d", domainId).bind("n", name).map((rs, ctx) -> user(rs)).findOne());
    }

    public List<User> listUsers(String name, Boolean enabled, String domainId) {
        return jdbi.withHandle(h -> filtered(h, "select * from users", name, enabled, domainId)
                .map((rs, ctx) -> user(rs)).list());
    }

    public void updateUser(User user) {
        jdbi.useHandle(h -> h.createUpdate("update users set name = :name, password_hash = :passwordHash, email = :email, "
                        + "description = :description, enabled = :enabled, default_project_id = :defaultProjectId where id = :id")
                .bindMethods(user).execute());
    }

    public void deleteUser(String id) {
        jdbi.useHandle(h -> h.execute("delete from users where id = ?", id));
    }

    // --- roles and assignments

    public void insertRole(Role role) {
        jdbi.useHandle(h -> h.createUpdate("insert into roles (id, name, description, created_at) values (:id, :name, :description, :createdAt)")
                .bindMethods(role).execute());
    }

    public Optional<Role> findRole(String id) {
        return jdbi.withHandle(h -> h.createQuery("select * from roles where id = :id").bind("id", id)
                .map((rs, ctx) -> role(rs)).findOne());
    }

    public Optional<Role> findRoleByName(String name) {
        return jdbi.withHandle(h -> h.createQuery("select * from roles where name = :n").bind("n", name)
                .map((rs, ctx) -> role(rs)).findOne());
    }

    public List<Role> listRoles(String name) {
        return jdbi.withHandle(h -> filtered(h, "select * from roles", name, null, null).map((rs, ctx) -> role(rs)).list());
    }

    public void updateRole(Role role) {
        jdbi.useHandle(h -> h.createUpdate("update roles set name = :name, description = :description where id = :id")
                .bindMethods(role).execute());
    }

    public void deleteRole(String id) {
        jdbi.useHandle(h -> h.execute("delete from roles where id = ?", id));
    }

    /** Adds the assignment; returns false if it existed already (PUT is idempotent). */
    public boolean assign(RoleAssignment assignment) {
        return jdbi.inTransaction(h -> {
            boolean exists = h.createQuery("select count(*) from role_assignments where user_id = :userId and target_type = :targetType "
                            + "and target_id = :targetId and role_id = :roleId")
                    .bindMethods(assignment).mapTo(Integer.class).one() > 0;
            if (!exists) {
                h.createUpdate("insert into role_assignments (user_id, target_type, target_id, role_id) "
                                + "values (:userId, :targetType, :targetId, :roleId)")
                        .bindMethods(assignment).execute();
            }
            return !exists;
        });
    }

    public boolean unassign(RoleAssignment assignment) {
        return jdbi.withHandle(h -> h.createUpdate("delete from role_assignments where user_id = :userId and target_type = :targetType "
                        + "and target_id = :targetId and role_id = :roleId")
                .bindMethods(assignment).execute() > 0);
    }

    /** Assignments matching every non-null filter. */
    public List<RoleAssignment> listAssignments(String userId, String targetType, String targetId, String roleId) {
        return jdbi.withHandle(h -> {
            StringBuilder sql = new StringBuilder("select * from role_assignments where 1 = 1");
            if (userId != null) {
                sql.append(" and user_id = :userId");
            }
            if (targetType != null) {
                sql.append(" and target_type = :targetType");
            }
            if (targetId != null) {
                sql.append(" and target_id = :targetId");
            }
            if (roleId != null) {
                sql.append(" and role_id = :roleId");
            }
            sql.append(" order by user_id, target_type, target_id, role_id");
            Query query = h.createQuery(sql.toString());
            bindIfSet(query, "userId", userId);
            bindIfSet(query, "targetType", targetType);
            bindIfSet(query, "targetId", targetId);
            bindIfSet(query, "roleId", roleId);
            return query.map((rs, ctx) -> new RoleAssignment(rs.getString("user_id"), rs.getString("target_type"),
                    rs.getString("target_id"), rs.getString("role_id"))).list();
        });
    }

    /** Names of the roles the user holds on the target (before implications). */
    public List<String> roleNames(String userId, String targetType, String targetId) {
        return jdbi.withHandle(h -> h.createQuery("select r.name from role_assignments a join roles r on r.id = a.role_id "
                        + "where a.user_id = :u and a.target_type = :t and a.target_id = :id")
                .bind("u", userId).bind("t", targetType).bind("id", targetId).mapTo(String.class).list());
    }

    // --- tokens

    public void insertToken(StoredToken token) {
        jdbi.useHandle(h -> h.createUpdate("insert into tokens (token_hash, user_id, project_id, domain_id, methods, audit_id, issued_at, "
                        + "expires_at) values (:tokenHash, :userId, :projectId, :domainId, :methods, :auditId, :issuedAt, :expiresAt)")
                .bindMethods(token).execute());
    }

    public Optional<StoredToken> findToken(String tokenHash) {
        return jdbi.withHandle(h -> h.createQuery("select * from tokens where token_hash = :h").bind("h", tokenHash)
                .map((rs, ctx) -> new StoredToken(rs.getString("token_hash"), rs.getString("user_id"), rs.getString("project_id"),
                        rs.getString("domain_id"), rs.getString("methods"), rs.getString("audit_id"),
                        rs.getObject("issued_at", java.time.OffsetDateTime.class).toInstant(),
                        rs.getObject("expires_at", java.time.OffsetDateTime.class).toInstant()))
                .findOne());
    }

    public boolean deleteToken(String tokenHash) {
        return jdbi.withHandle(h -> h.execute("delete from tokens where token_hash = ?", tokenHash) > 0);
    }

    public int deleteExpiredTokens(Instant now) {
        return jdbi.withHandle(h -> h.execute("delete from tokens where expires_at < ?", now));
    }

    // --- mapping

    private static Query filtered(Handle h, String select, String name, Boolean enabled, String domainId) {
        StringBuilder sql = new StringBuilder(select).append(" where 1 = 1");
        if (name != null) {
            sql.append(" and name = :name");
        }
        if (enabled != null) {
            sql.append(" and enabled = :enabled");
        }
        if (domainId != null) {
            sql.append(" and domain_id = :domainId");
        }
        sql.append(" order by name");
        Query query = h.createQuery(sql.toString());
        bindIfSet(query, "name", name);
        if (enabled != null) {
            query.bind("enabled", enabled.booleanValue());
        }
        bindIfSet(query, "domainId", domainId);
        return query;
    }

    private static void bindIfSet(Query query, String name, String value) {
        if (value != null) {
            query.bind(name, value);
        }
    }

    private static Instant instant(java.sql.ResultSet rs, String column) throws java.sql.SQLException {
        java.time.OffsetDateTime value = rs.getObject(column, java.time.OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    private static Domain domain(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new Domain(rs.getString("id"), rs.getString("name"), rs.getString("description"), rs.getBoolean("enabled"),
                instant(rs, "created_at"));
    }

    private static Project project(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new Project(rs.getString("id"), rs.getString("domain_id"), rs.getString("name"), rs.getString("description"),
                rs.getBoolean("enabled"), instant(rs, "created_at"));
    }

    private static User user(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new User(rs.getString("id"), rs.getString("domain_id"), rs.getString("name"), rs.getString("password_hash"),
                rs.getString("email"), rs.getString("description"), rs.getBoolean("enabled"), rs.getString("default_project_id"),
                instant(rs, "created_at"));
    }

    private static Role role(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new Role(rs.getString("id"), rs.getString("name"), rs.getString("description"), instant(rs, "created_at"));
    }
}
