package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Identity nouns: project, user, role, token, catalog. */
final class IdentityCommands {
    private IdentityCommands() {}

    static Map<String, Object> fieldsOf(JsonNode node) {
        Map<String, Object> fields = new TreeMap<>();
        node.fields().forEachRemaining(e -> {
            if (!e.getKey().equals("links") && !e.getKey().equals("options")) {
                fields.put(e.getKey(), e.getValue());
            }
        });
        return fields;
    }

    static List<List<Object>> idNameRows(JsonNode items) {
        List<List<Object>> rows = new ArrayList<>();
        items.forEach(i -> rows.add(List.of(i.path("id").asText(), i.path("name").asText())));
        return rows;
    }

    @Command(name = "project", description = "Projects (Identity).", mixinStandardHelpOptions = true)
    static final class Project {
        @Command(name = "list", description = "List projects.")
        int list(@Mixin ClientOptions o, @Option(names = "--domain") String domain) {
            CloudClient c = o.client();
            String query = domain == null ? "" : "?domain_id=" + CloudClient.encode(Resolve.identity(c, "domains", "domain", domain).path("id").asText());
            o.output().list(List.of("ID", "Name"), idNameRows(c.get("identity", "/projects" + query).path("projects")));
            return 0;
        }

        @Command(name = "show", description = "Show a project.")
        int show(@Mixin ClientOptions o, @Parameters(paramLabel = "<project>") String project) {
            o.output().show(fieldsOf(Resolve.identity(o.client(), "projects", "project", project)));
            return 0;
        }

        @Command(name = "create", description = "Create a project.")
        int create(@Mixin ClientOptions o, @Option(names = "--description") String description, @Option(names = "--domain") String domain,
                @Option(names = "--disable") boolean disable, @Parameters(paramLabel = "<project-name>") String name) {
            CloudClient c = o.client();
            ObjectNode p = CloudClient.object();
            p.put("name", name);
            if (description != null) {
                p.put("description", description);
            }
            if (domain != null) {
                p.put("domain_id", Resolve.identity(c, "domains", "domain", domain).path("id").asText());
            }
            p.put("enabled", !disable);
            ObjectNode body = CloudClient.object();
            body.set("project", p);
            o.output().show(fieldsOf(c.post("identity", "/projects", body).path("project")));
            return 0;
        }

        @Command(name = "set", description = "Change a project.")
        int set(@Mixin ClientOptions o, @Option(names = "--name") String name, @Option(names = "--description") String description,
                @Option(names = "--enable") boolean enable, @Option(names = "--disable") boolean disable,
                @Parameters(paramLabel = "<project>") String project) {
            CloudClient c = o.client();
            ObjectNode p = CloudClient.object();
            if (name != null) {
                p.put("name", name);
            }
            if (description != null) {
                p.put("description", description);
            }
            if (enable || disable) {
                p.put("enabled", enable);
            }
            ObjectNode body = CloudClient.object();
            body.set("project", p);
            c.patch("identity", "/projects/" + Resolve.identity(c, "projects", "project", project).path("id").asText(), body, "application/json");
            return 0;
        }

        @Command(name = "delete", description = "Delete projects.")
        int delete(@Mixin ClientOptions o, @Parameters(paramLabel = "<project>", arity = "1..*") List<String> projects) {
            CloudClient c = o.client();
            for (String project : projects) {
                c.delete("identity", "/projects/" + Resolve.identity(c, "projects", "project", project).path("id").asText());
            }
            return 0;
        }
    }

    @Command(name = "user", description = "Users (Identity).", mixinStandardHelpOptions = true)
    static final class User {
        @Command(name = "list", description = "List users.")
        int list(@Mixin ClientOptions o) {
            o.output().list(List.of("ID", "Name"), idNameRows(o.client().get("identity", "/users").path("users")));
            return 0;
        }

        @Command(name = "show", description = "Show a user.")
        int show(@Mixin ClientOptions o, @Parameters(paramLabel = "<user>") String user) {
            o.output().show(fieldsOf(Resolve.identity(o.client(), "users", "user", user)));
            return 0;
        }

        @Command(name = "create", description = "Create a user.")
        int create(@Mixin ClientOptions o, @Option(names = "--password") String password, @Option(names = "--project") String project,
                @Option(names = "--email") String email, @Option(names = "--domain") String domain,
                @Option(names = "--description") String description, @Option(names = "--disable") boolean disable,
                @Parameters(paramLabel = "<user-name>") String name) {
            CloudClient c = o.client();
            ObjectNode u = CloudClient.object();
            u.put("name", name);
            if (password != null) {
                u.put("password", password);
            }
            if (project != null) {
                u.put("default_project_id", Resolve.identity(c, "projects", "project", project).path("id").asText());
            }
            if (email != null) {
                u.put("email", email);
            }
            if (domain != null) {
                u.put("domain_id", Resolve.identity(c, "domains", "domain", domain).path("id").asText());
            }
            if (description != null) {
                u.put("description", description);
            }
            u.put("enabled", !disable);
            ObjectNode body = CloudClient.object();
            body.set("user", u);
            o.output().show(fieldsOf(c.post("identity", "/users", body).path("user")));
            return 0;
        }

        @Command(name = "set", description = "Change a user.")
        int set(@Mixin ClientOptions o, @Option(names = "--name") String name, @Option(names = "--password") String password,
                @Option(names = "--email") String email, @Option(names = "--enable") boolean enable,
                @Option(names = "--disable") boolean disable, @Parameters(paramLabel = "<user>") String user) {
            CloudClient c = o.client();
            ObjectNode u = CloudClient.object();
            if (name != null) {
                u.put("name", name);
            }
            if (password != null) {
                u.put("password", password);
            }
            if (email != null) {
                u.put("email", email);
            }
            if (enable || disable) {
                u.put("enabled", enable);
            }
            ObjectNode body = CloudClient.object();
            body.set("user", u);
            c.patch("identity", "/users/" + Resolve.identity(c, "users", "user", user).path("id").asText(), body, "application/json");
            return 0;
        }

        @Command(name = "delete", description = "Delete users.")
        int delete(@Mixin ClientOptions o, @Parameters(paramLabel = "<user>", arity = "1..*") List<String> users) {
            CloudClient c = o.client();
            for (String user : users) {
                c.delete("identity", "/users/" + Resolve.identity(c, "users", "user", user).path("id").asText());
            }
            return 0;
        }
    }

    @Command(name = "role", description = "Roles and role assignments (Identity).", mixinStandardHelpOptions = true,
            subcommands = RoleAssignment.class)
    static final class Role {
        @Command(name = "list", description = "List roles.")
        int list(@Mixin ClientOptions o) {
            o.output().list(List.of("ID", "Name"), idNameRows(o.client().get("identity", "/roles").path("roles")));
            return 0;
        }

        @Command(name = "show", description = "Show a role.")
        int show(@Mixin ClientOptions o, @Parameters(paramLabel = "<role>") String role) {
            o.output().show(fieldsOf(Resolve.identity(o.client(), "roles", "role", role)));
            return 0;
        }

        @Command(name = "create", description = "Create a role.")
        int create(@Mixin ClientOptions o, @Parameters(paramLabel = "<role-name>") String name) {
            ObjectNode body = CloudClient.object();
            body.putObject("role").put("name", name);
            o.output().show(fieldsOf(o.client().post("identity", "/roles", body).path("role")));
            return 0;
        }

        @Command(name = "delete", description = "Delete roles.")
        int delete(@Mixin ClientOptions o, @Parameters(paramLabel = "<role>", arity = "1..*") List<String> roles) {
            CloudClient c = o.client();
            for (String role : roles) {
                c.delete("identity", "/roles/" + Resolve.identity(c, "roles", "role", role).path("id").asText());
            }
            return 0;
        }

        @Command(name = "add", description = "Give a user a role on a project or domain.")
        int add(@Mixin ClientOptions o, @Option(names = "--user", required = true) String user, @Option(names = "--project") String project,
                @Option(names = "--domain") String domain, @Parameters(paramLabel = "<role>") String role) {
            CloudClient c = o.client();
            c.put("identity", grantPath(c, user, project, domain, role), null);
            return 0;
        }

        @Command(name = "remove", description = "Take a role back.")
        int remove(@Mixin ClientOptions o, @Option(names = "--user", required = true) String user, @Option(names = "--project") String project,
                @Option(names = "--domain") String domain, @Parameters(paramLabel = "<role>") String role) {
            CloudClient c = o.client();
            c.delete("identity", grantPath(c, user, project, domain, role));
            return 0;
        }

        private static String grantPath(CloudClient c, String user, String project, String domain, String role) {
            if ((project == null) == (domain == null)) {
                throw new CloudException(0, "give exactly one of --project and --domain");
            }
            String target = project != null ? "/projects/" + Resolve.identity(c, "projects", "project", project).path("id").asText()
                    : "/domains/" + Resolve.identity(c, "domains", "domain", domain).path("id").asText();
            return target + "/users/" + Resolve.identity(c, "users", "user", user).path("id").asText() + "/roles/"
                    + Resolve.identity(c, "roles", "role", role).path("id").asText();
        }
    }

    @Command(name = "assignment", description = "Role assignments.")
    static final class RoleAssignment {
        @Command(name = "list", description = "List role assignments.")
        int list(@Mixin ClientOptions o, @Option(names = "--user") String user, @Option(names = "--project") String project,
                @Option(names = "--names", description = "Show names instead of ids.") boolean names) {
            CloudClient c = o.client();
            StringBuilder query = new StringBuilder("/role_assignments?");
            if (user != null) {
                query.append("user.id=").append(Resolve.identity(c, "users", "user", user).path("id").asText()).append('&');
            }
            if (project != null) {
                query.append("scope.project.id=").append(Resolve.identity(c, "projects", "project", project).path("id").asText()).append('&');
            }
            if (names) {
                query.append("include_names=1");
            }
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode a : c.get("identity", query.toString()).path("role_assignments")) {
                String role = names ? a.at("/role/name").asText() : a.at("/role/id").asText();
                String who = names ? a.at("/user/name").asText() + "@" + a.at("/user/domain/name").asText() : a.at("/user/id").asText();
                String projectCol = a.at("/scope/project").isMissingNode() ? ""
                        : names ? a.at("/scope/project/name").asText() + "@" + a.at("/scope/project/domain/name").asText()
                        : a.at("/scope/project/id").asText();
                String domainCol = a.at("/scope/domain").isMissingNode() ? ""
                        : names ? a.at("/scope/domain/name").asText() : a.at("/scope/domain/id").asText();
                rows.add(List.of(role, who, "", projectCol, domainCol, "", false));
            }
            o.output().list(List.of("Role", "User", "Group", "Project", "Domain", "System", "Inherited"), rows);
            return 0;
        }
    }

    @Command(name = "token", description = "Tokens (Identity).", mixinStandardHelpOptions = true)
    static final class Token {
        @Command(name = "issue", description = "Issue a token.")
        int issue(@Mixin ClientOptions o) {
            CloudClient c = o.client();
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("expires", c.expiresAt());
            fields.put("id", c.token());
            fields.put("project_id", c.projectId());
            fields.put("user_id", c.userId());
            o.output().show(fields);
            return 0;
        }
    }

    @Command(name = "catalog", description = "The service catalog.", mixinStandardHelpOptions = true)
    static final class Catalog {
        @Command(name = "list", description = "List services and their endpoints.")
        int list(@Mixin ClientOptions o) {
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode service : o.client().catalog()) {
                List<String> endpoints = new ArrayList<>();
                service.path("endpoints").forEach(e -> endpoints.add(e.path("region").asText() + "\n  " + e.path("interface").asText()
                        + ": " + e.path("url").asText()));
                rows.add(List.of(service.path("name").asText(), service.path("type").asText(), String.join("\n", endpoints)));
            }
            o.output().list(List.of("Name", "Type", "Endpoints"), rows);
            return 0;
        }
    }
}
