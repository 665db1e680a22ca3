package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.ApiException;
import io.strata.cli.client.Json;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata project …}: Identity v3 projects. */
@Command(name = "project", description = "Projects (Identity).")
final class ProjectCommand {
    private final Cli cli;

    ProjectCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    /** --enable / --disable, one at most. */
    static final class Enabled {
        @Option(names = "--enable", description = "Enable it.")
        boolean enable;

        @Option(names = "--disable", description = "Disable it.")
        boolean disable;
    }

    @Command(name = "list", description = "List projects.")
    void list(@Mixin ListOptions format,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Projects of this domain (name or ID).") String domain,
            @Option(names = "--user", paramLabel = "<user>", description = "Projects this user has a role on (name or ID).") String user,
            @Option(names = "--long", description = "More columns.") boolean longFormat) {
        JsonNode projects;
        if (user != null) {
            projects = cli.identity().get("/users/" + cli.find().user(user, domain).path("id").asText() + "/projects").path("projects");
        } else {
            String domainId = cli.find().domainId(domain);
            projects = cli.identity().get("/projects" + (domainId == null ? "" : "?domain_id=" + Finder.encode(domainId))).path("projects");
        }
        List<String> attributes = longFormat ? List.of("id", "name", "domain_id", "description", "enabled") : List.of("id", "name");
        cli.list(format, longFormat ? List.of("ID", "Name", "Domain ID", "Description", "Enabled") : List.of("ID", "Name"),
                IdentityFields.rows(projects, attributes));
    }

    @Command(name = "show", description = "Show a project.")
    void show(@Mixin ShowOptions format,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the project (name or ID).") String domain,
            @Parameters(paramLabel = "<project>", description = "Project (name or ID).") String project) {
        cli.show(format, IdentityFields.of(cli.find().project(project, domain)));
    }

    @Command(name = "create", description = "Create a project.")
    void create(@Mixin ShowOptions format,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the project (name or ID).") String domain,
            @Option(names = "--parent", paramLabel = "<project>", description = "Parent project (name or ID).") String parent,
            @Option(names = "--description", paramLabel = "<description>", description = "Description.") String description,
            @ArgGroup(exclusive = true) Enabled enabled,
            @Option(names = "--property", paramLabel = "<key=value>", description = "Extra attribute (repeat for several).")
            Map<String, String> properties,
            @Option(names = "--tag", paramLabel = "<tag>", description = "Tag (repeat for several).") List<String> tags,
            @Option(names = "--or-show", description = "Show the existing project if one has this name.") boolean orShow,
            @Parameters(paramLabel = "<project-name>", description = "Name of the new project.") String name) {
        ObjectNode project = Json.object();
        project.put("name", name);
        String domainId = cli.find().domainId(domain);
        Requests.putIfGiven(project, "domain_id", domainId);
        if (parent != null) {
            project.put("parent_id", cli.find().project(parent, domain).path("id").asText());
        }
        Requests.putIfGiven(project, "description", description);
        project.put("enabled", enabled == null || !enabled.disable);
        if (properties != null) {
            properties.forEach(project::put);
        }
        if (tags != null) {
            tags.forEach(project.putArray("tags")::add);
        }
        ObjectNode body = Json.object();
        body.set("project", project);
        try {
            cli.show(format, IdentityFields.of(cli.identity().post("/projects", body).path("project")));
        } catch (ApiException e) {
            if (!orShow || e.status() != 409) {
                throw e;
            }
            cli.show(format, IdentityFields.of(cli.find().project(name, domain)));
        }
    }

    @Command(name = "set", description = "Change a project.")
    void set(@Option(names = "--name", paramLabel = "<name>", description = "New name.") String name,
            @Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the project (name or ID).") String domain,
            @Option(names = "--description", paramLabel = "<description>", description = "New description.") String description,
            @ArgGroup(exclusive = true) Enabled enabled,
            @Option(names = "--property", paramLabel = "<key=value>", description = "Extra attribute (repeat for several).")
            Map<String, String> properties,
            @Option(names = "--tag", paramLabel = "<tag>", description = "Tag to add (repeat for several).") List<String> tags,
            @Parameters(paramLabel = "<project>", description = "Project (name or ID).") String project) {
        JsonNode found = cli.find().project(project, domain);
        ObjectNode changes = Json.object();
        Requests.putIfGiven(changes, "name", name);
        Requests.putIfGiven(changes, "description", description);
        if (enabled != null) {
            changes.put("enabled", enabled.enable);
        }
        if (properties != null) {
            properties.forEach(changes::put);
        }
        if (tags != null) {
            var all = changes.putArray("tags");
            found.path("tags").forEach(all::add);
            tags.forEach(all::add);
        }
        if (!changes.isEmpty()) {
            ObjectNode body = Json.object();
            body.set("project", changes);
            cli.identity().patch("/projects/" + found.path("id").asText(), body, "application/json");
        }
    }

    @Command(name = "delete", description = "Delete projects.")
    void delete(@Option(names = "--domain", paramLabel = "<domain>", description = "Domain of the projects (name or ID).") String domain,
            @Parameters(paramLabel = "<project>", arity = "1..*",
                    description = "Project(s) to delete (name or ID).") List<String> projects) {
        Deletion.each(projects, "projects", cli.terminal().err(),
                project -> cli.identity().delete("/projects/" + cli.find().project(project, domain).path("id").asText()));
    }
}
