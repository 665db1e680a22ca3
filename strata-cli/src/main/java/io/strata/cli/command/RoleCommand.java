package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata role …}: roles, granting them ({@code add}, {@code remove}) and {@code role assignment list}. */
@Command(name = "role", description = "Roles and role assignments (Identity).",
        subcommands = RoleCommand.Assignment.class)
final class RoleCommand {
    private final Cli cli;

    RoleCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "list", description = "List roles.")
    void list(@Mixin ListOptions format,
            @Option(names = "--domain", paramLabel = "<domain>",
                    description = "Domain-specific roles of this domain (name or ID).") String domain) {
        String domainId = cli.find().domainId(domain);
        JsonNode roles = cli.identity().get("/roles" + (domainId == null ? "" : "?domain_id=" + Finder.encode(domainId))).path("roles");
        cli.list(format, List.of("ID", "Name"), IdentityFields.rows(roles, List.of("id", "name")));
    }

    @Command(name = "show", description = "Show a role.")
    void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<role>", description = "Role (name or ID).") String role) {
        cli.show(format, IdentityFields.of(cli.find().role(role, null)));
    }

    @Command(name = "create", description = "Create a role.")
    void create(@Mixin ShowOptions format,
            @Option(names = "--description", paramLabel = "<description>", description = "Description.") String description,
            @Option(names = "--domain", paramLabel = "<domain>",
                    description = "Make it specific to this domain (name or ID).") String domain,
            @Parameters(paramLabel = "<role-name>", description = "Name of the new role.") String name) {
        ObjectNode role = Json.object();
        role.put("name", name);
        Requests.putIfGiven(role, "description", description);
        Requests.putIfGiven(role, "domain_id", cli.find().domainId(domain));
        ObjectNode body = Json.object();
        body.set("role", role);
        cli.show(format, IdentityFields.of(cli.identity().post("/roles", body).path("role")));
    }

    @Command(name = "delete", description = "Delete roles.")
    void delete(@Parameters(paramLabel = "<role>", arity = "1..*", description = "Role(s) to delete (name or ID).") List<String> roles) {
        Deletion.each(roles, "roles", cli.terminal().err(),
                role -> cli.identity().delete("/roles/" + cli.find().role(role, null).path("id").asText()));
    }

    /** Who gets the role where: a user or group, on a project or domain. */
    static final class Grant {
        @ArgGroup(exclusive = true, multiplicity = "1")
        Target target;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Actor actor;

        @Option(names = "--user-domain", paramLabel = "<user-domain>", description = "Domain of the user (name or ID).")
        String userDomain;

        @Option(names = "--group-domain", paramLabel = "<group-domain>", description = "Domain of the group (name or ID).")
        String groupDomain;

        @Option(names = "--project-domain", paramLabel = "<project-domain>", description = "Domain of the project (name or ID).")
        String projectDomain;

        @Option(names = "--role-domain", paramLabel = "<role-domain>", description = "Domain of a domain-specific role (name or ID).")
        String roleDomain;

        @Option(names = "--inherited", description = "Grant it on the projects under the target rather than the target.")
        boolean inherited;

        static final class Target {
            @Option(names = "--project", paramLabel = "<project>", description = "On this project (name or ID).")
            String project;

            @Option(names = "--domain", paramLabel = "<domain>", description = "On this domain (name or ID).")
            String domain;
        }

        static final class Actor {
            @Option(names = "--user", paramLabel = "<user>", description = "To this user (name or ID).")
            String user;

            @Option(names = "--group", paramLabel = "<group>", description = "To this group (name or ID).")
            String group;
        }
    }

    @Command(name = "add", description = "Give a user or group a role on a project or domain.")
    void add(@Mixin Grant grant, @Parameters(paramLabel = "<role>", description = "Role (name or ID).") String role) {
        cli.identity().put(grantPath(grant, role), null);
    }

    @Command(name = "remove", description = "Take a role back.")
    void remove(@Mixin Grant grant, @Parameters(paramLabel = "<role>", description = "Role (name or ID).") String role) {
        cli.identity().delete(grantPath(grant, role));
    }

    private String grantPath(Grant grant, String role) {
        Finder find = cli.find();
        String target = grant.target.project != null
                ? "/projects/" + find.project(grant.target.project, grant.projectDomain).path("id").asText()
                : "/domains/" + find.domain(grant.target.domain).path("id").asText();
        String actor = grant.actor.user != null
                ? "/users/" + find.user(grant.actor.user, grant.userDomain).path("id").asText()
                : "/groups/" + find.group(grant.actor.group, grant.groupDomain).path("id").asText();
        String path = target + actor + "/roles/" + find.role(role, grant.roleDomain).path("id").asText();
        return grant.inherited ? "/OS-INHERIT" + path + "/inherited_to_projects" : path;
    }

    @Command(name = "assignment", description = "Role assignments.")
    static final class Assignment {
        private final Cli cli;

        Assignment(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List role assignments.")
        void list(@Mixin ListOptions format,
                @Option(names = "--user", paramLabel = "<user>", description = "Of this user (name or ID).") String user,
                @Option(names = "--group", paramLabel = "<group>", description = "Of this group (name or ID).") String group,
                @Option(names = "--project", paramLabel = "<project>", description = "On this project (name or ID).") String project,
                @Option(names = "--domain", paramLabel = "<domain>", description = "On this domain (name or ID).") String domain,
                @Option(names = "--role", paramLabel = "<role>", description = "Of this role (name or ID).") String role,
                @Option(names = "--user-domain", paramLabel = "<user-domain>", description = "Domain of the user.") String userDomain,
                @Option(names = "--project-domain", paramLabel = "<project-domain>",
                        description = "Domain of the project.") String projectDomain,
                @Option(names = "--effective", description = "Effective assignments (group memberships and inheritance resolved).")
                boolean effective,
                @Option(names = "--inherited", description = "Only inherited assignments.") boolean inherited,
                @Option(names = "--names", description = "Names instead of IDs.") boolean names,
                @Option(names = "--auth-user", description = "Of the authenticated user.") boolean authUser,
                @Option(names = "--auth-project", description = "On the authenticated project.") boolean authProject) {
            if (project != null && domain != null) {
                throw new CliException("--project and --domain are mutually exclusive");
            }
            Finder find = cli.find();
            Map<String, String> query = new LinkedHashMap<>();
            if (authUser) {
                query.put("user.id", cli.session().token().userId());
            } else if (user != null) {
                query.put("user.id", find.user(user, userDomain).path("id").asText());
            }
            if (group != null) {
                query.put("group.id", find.group(group, null).path("id").asText());
            }
            if (authProject) {
                query.put("scope.project.id", cli.session().token().projectId());
            } else if (project != null) {
                query.put("scope.project.id", find.project(project, projectDomain).path("id").asText());
            }
            if (domain != null) {
                query.put("scope.domain.id", find.domain(domain).path("id").asText());
            }
            if (role != null) {
                query.put("role.id", find.role(role, null).path("id").asText());
            }
            if (inherited) {
                query.put("scope.OS-INHERIT:inherited_to", "projects");
            }
            // Flags without values, as Keystone expects them.
            StringBuilder path = new StringBuilder("/role_assignments").append(Requests.queryString(query));
            if (effective) {
                path.append(path.indexOf("?") < 0 ? '?' : '&').append("effective");
            }
            if (names) {
                path.append(path.indexOf("?") < 0 ? '?' : '&').append("include_names=True");
            }
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode assignment : cli.identity().get(path.toString()).path("role_assignments")) {
                rows.add(row(assignment, names));
            }
            cli.list(format, List.of("Role", "User", "Group", "Project", "Domain", "System", "Inherited"), rows);
        }

        private static List<Object> row(JsonNode a, boolean names) {
            JsonNode scope = a.path("scope");
            String project = scope.has("project") ? qualified(scope.path("project"), names) : "";
            String domain = scope.has("domain") ? (names ? scope.at("/domain/name").asText() : scope.at("/domain/id").asText()) : "";
            String system = scope.has("system") ? "all" : "";
            return List.of(names ? a.at("/role/name").asText() : a.at("/role/id").asText(),
                    a.has("user") ? qualified(a.path("user"), names) : "",
                    a.has("group") ? qualified(a.path("group"), names) : "",
                    project, domain, system, scope.path("OS-INHERIT:inherited_to").asText("").equals("projects"));
        }

        /** An id, or name@domain with --names. */
        private static String qualified(JsonNode entity, boolean names) {
            return names ? entity.path("name").asText() + "@" + entity.at("/domain/name").asText() : entity.path("id").asText();
        }
    }
}
