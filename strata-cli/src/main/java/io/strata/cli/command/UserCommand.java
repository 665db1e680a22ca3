package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.ApiException;
import io.strata.cli.client.Json;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata user …}: Identity v3 users. */
@Command(name = "user", description = "Users (Identity).")
final class UserCommand {
    private final Cli cli;

    UserCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "list", description = "List users.")
    void list(@Mixin ListOptions format,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Users of this domain (name or ID).") String domain,
            @Option(names = "--project", paramLabel = "<project>",
                    description = "Users with a role on this project (name or ID).") String project,
            @Option(names = "--long", description = "More columns.") boolean longFormat) {
        JsonNode users;
        if (project != null) {
            // Keystone has no "users of a project": they are whoever holds a role there.
            String projectId = cli.find().project(project, domain).path("id").asText();
            Set<String> ids = new LinkedHashSet<>();
            cli.identity().get("/role_assignments?scope.project.id=" + projectId).path("role_assignments")
                    .forEach(a -> {
                        if (a.at("/user/id").isTextual()) {
                            ids.add(a.at("/user/id").asText());
                        }
                    });
            ArrayNode found = Json.array();
            ids.forEach(id -> found.add(cli.identity().get("/users/" + id).path("user")));
            users = found;
        } else {
            String domainId = cli.find().domainId(domain);
            users = cli.identity().get("/users" + (domainId == null ? "" : "?domain_id=" + Finder.encode(domainId))).path("users");
        }
        List<String> attributes = longFormat ? List.of("id", "name", "default_project_id", "domain_id", "description", "email", "enabled")
                : List.of("id", "name");
        cli.list(format, longFormat ? List.of("ID", "Name", "Project", "Domain", "Description", "Email", "Enabled") : List.of("ID", "Name"),
                IdentityFields.rows(users, attributes));
    }

    @Command(name = "show", description = "Show a user.")
    void show(@Mixin ShowOptions format,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the user (name or ID).") String domain,
            @Parameters(paramLabel = "<user>", description = "User (name or ID).") String user) {
        cli.show(format, IdentityFields.of(cli.find().user(user, domain)));
    }

    @Command(name = "create", description = "Create a user.")
    void create(@Mixin ShowOptions format,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the user (name or ID).") String domain,
            @Option(names = "--project", paramLabel = "<project>", description = "Default project (name or ID).") String project,
            @Option(names = "--project-domain", paramLabel = "<project-domain>", description = "Domain of the project (name or ID).")
            String projectDomain,
            @Option(names = "--password", paramLabel = "<password>", description = "Password.") String password,
            @Option(names = "--email", paramLabel = "<email-address>", description = "Email address.") String email,
            @Option(names = "--description", paramLabel = "<description>", description = "Description.") String description,
            @ArgGroup(exclusive = true) ProjectCommand.Enabled enabled,
            @Option(names = "--or-show", description = "Show the existing user if one has this name.") boolean orShow,
            @Parameters(paramLabel = "<name>", description = "Name of the new user.") String name) {
        ObjectNode user = Json.object();
        user.put("name", name);
        Requests.putIfGiven(user, "domain_id", cli.find().domainId(domain));
        if (project != null) {
            user.put("default_project_id", cli.find().project(project, projectDomain).path("id").asText());
        }
        Requests.putIfGiven(user, "password", password);
        Requests.putIfGiven(user, "email", email);
        Requests.putIfGiven(user, "description", description);
        user.put("enabled", enabled == null || !enabled.disable);
        ObjectNode body = Json.object();
        body.set("user", user);
        try {
            cli.show(format, IdentityFields.of(cli.identity().post("/users", body).path("user")));
        } catch (ApiException e) {
            if (!orShow || e.status() != 409) {
                throw e;
            }
            cli.show(format, IdentityFields.of(cli.find().user(name, domain)));
        }
    }

    @Command(name = "set", description = "Change a user.")
    void set(@Option(names = "--name", paramLabel = "<name>", description = "New name.") String name,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the user (name or ID).") String domain,
            @Option(names = "--project", paramLabel = "<project>", description = "New default project (name or ID).") String project,
            @Option(names = "--project-domain", paramLabel = "<project-domain>", description = "Domain of the project (name or ID).")
            String projectDomain,
            @Option(names = "--password", paramLabel = "<password>", description = "New password.") String password,
            @Option(names = "--email", paramLabel = "<email-address>", description = "New email address.") String email,
            @Option(names = "--description", paramLabel = "<description>", description = "New description.") String description,
            @ArgGroup(exclusive = true) ProjectCommand.Enabled enabled,
            @Parameters(paramLabel = "<user>", description = "User (name or ID).") String user) {
        String id = cli.find().user(user, domain).path("id").asText();
        ObjectNode changes = Json.object();
        Requests.putIfGiven(changes, "name", name);
        if (project != null) {
            changes.put("default_project_id", cli.find().project(project, projectDomain).path("id").asText());
        }
        Requests.putIfGiven(changes, "password", password);
        Requests.putIfGiven(changes, "email", email);
        Requests.putIfGiven(changes, "description", description);
        if (enabled != null) {
            changes.put("enabled", enabled.enable);
        }
        if (!changes.isEmpty()) {
            ObjectNode body = Json.object();
            body.set("user", changes);
            cli.identity().patch("/users/" + id, body, "application/json");
        }
    }

    @Command(name = "delete", description = "Delete users.")
    void delete(@Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the users (name or ID).") String domain,
            @Parameters(paramLabel = "<user>", arity = "1..*", description = "User(s) to delete (name or ID).") List<String> users) {
        Deletion.each(users, "users", cli.terminal().err(),
                user -> cli.identity().delete("/users/" + cli.find().user(user, domain).path("id").asText()));
    }
}
