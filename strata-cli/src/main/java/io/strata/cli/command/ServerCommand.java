package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.Json;
import io.strata.cli.client.ServiceClient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata server …}: the openstack client's server commands, with --wait on every long one. */
@Command(name = "server", description = "Servers (Compute).",
        subcommands = {ServerActionCommand.Start.class, ServerActionCommand.Stop.class, ServerActionCommand.Pause.class,
                ServerActionCommand.Unpause.class, ServerActionCommand.Suspend.class, ServerActionCommand.Resume.class,
                ServerActionCommand.Reboot.class, ServerActionCommand.Migrate.class, ServerActionCommand.Resize.class,
                ServerCreateCommand.class, ServerImageCommand.class, ConsoleCommand.class})
final class ServerCommand {
    private final Cli cli;

    ServerCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "list", description = "List servers.")
    void list(@Mixin ListOptions format,
            @Option(names = "--name", paramLabel = "<name-regex>",
                    description = "Servers whose name matches this regular expression.") String name,
            @Option(names = "--status", paramLabel = "<status>",
                    description = "Servers in this status (ACTIVE, SHUTOFF, ERROR…).") String status,
            @Option(names = "--flavor", paramLabel = "<flavor>", description = "Servers of this flavor (name or ID).") String flavor,
            @Option(names = "--image", paramLabel = "<image>", description = "Servers of this image (name or ID).") String image,
            @Option(names = "--host", paramLabel = "<hostname>", description = "Servers on this host (admin).") String host,
            @Option(names = "--all-projects", description = "Servers of every project (admin).") boolean allProjects,
            @Option(names = "--project", paramLabel = "<project>",
                    description = "Servers of this project (admin; name or ID).") String project,
            @Option(names = "--long", description = "More columns.") boolean longFormat,
            @Option(names = "--limit", paramLabel = "<num-servers>", description = "At most this many servers.") Integer limit,
            @Option(names = "--marker", paramLabel = "<server>", description = "Start after this server (name or ID).") String marker) {
        ServiceClient compute = cli.compute();
        Map<String, String> query = new LinkedHashMap<>();
        Requests.putIfGiven(query, "name", name);
        Requests.putIfGiven(query, "status", status);
        Requests.putIfGiven(query, "host", host);
        if (flavor != null) {
            query.put("flavor", cli.find().flavor(flavor).path("id").asText());
        }
        if (image != null) {
            query.put("image", cli.find().image(image).path("id").asText());
        }
        if (project != null) {
            query.put("project_id", cli.find().project(project, null).path("id").asText());
            allProjects = true;
        }
        if (allProjects) {
            query.put("all_tenants", "True");
        }
        if (limit != null) {
            query.put("limit", limit.toString());
        }
        String after = marker == null ? null : cli.find().server(marker, allProjects).path("id").asText();
        ServerView view = new ServerView(cli.image());
        List<List<Object>> rows = new ArrayList<>();
        do {
            Map<String, String> page = new LinkedHashMap<>(query);
            Requests.putIfGiven(page, "marker", after);
            JsonNode answer = compute.get("/servers/detail" + Requests.queryString(page));
            JsonNode servers = answer.path("servers");
            servers.forEach(server -> rows.add(view.row(server, longFormat)));
            // Without --limit, follow the pages the cloud cuts the list into (Nova's next link).
            boolean more = limit == null && servers.size() > 0 && hasNext(answer.path("servers_links"));
            after = more ? servers.get(servers.size() - 1).path("id").asText() : null;
        } while (after != null);
        cli.list(format, longFormat ? ServerView.LONG_COLUMNS : ServerView.LIST_COLUMNS, rows);
    }

    @Command(name = "show", description = "Show a server's details.")
    void show(@Mixin ShowOptions format,
            @Option(names = "--all-projects", description = "Find the server by name in every project (admin).") boolean allProjects,
            @Parameters(paramLabel = "<server>", description = "Server (name or ID).") String server) {
        cli.show(format, new ServerView(cli.image()).detail(cli.find().server(server, allProjects)));
    }

    @Command(name = "delete", description = "Delete servers.")
    void delete(@Mixin WaitOptions wait,
            @Option(names = "--force", description = "Delete at once, even a server whose deletion is deferred.") boolean force,
            @Option(names = "--all-projects", description = "Find servers by name in every project (admin).") boolean allProjects,
            @Parameters(paramLabel = "<server>", arity = "1..*", description = "Server(s) to delete (name or ID).") List<String> servers) {
        List<JsonNode> found = servers.stream().map(server -> cli.find().server(server, allProjects)).toList();
        for (JsonNode server : found) {
            String path = "/servers/" + server.path("id").asText();
            if (force) {
                cli.compute().post(path + "/action", Json.parse("{\"forceDelete\": null}"));
            } else {
                cli.compute().delete(path);
            }
        }
        if (wait.enabled()) {
            ServerWaiter waiter = new ServerWaiter(cli.compute(), cli.terminal(), wait.timeout());
            found.forEach(server -> waiter.untilDeleted(server.path("id").asText(), server.path("name").asText()));
        }
    }

    @Command(name = "set", description = "Change a server's name, description, properties, tags, state or password.")
    void set(@Option(names = "--name", paramLabel = "<new-name>", description = "New name.") String newName,
            @Option(names = "--description", paramLabel = "<description>", description = "New description.") String description,
            @Option(names = "--property", paramLabel = "<key=value>", description = "Property to add or change (repeat for several).")
            Map<String, String> properties,
            @Option(names = "--tag", paramLabel = "<tag>", description = "Tag to add (repeat for several).") List<String> tags,
            @Option(names = "--state", paramLabel = "<state>", description = "Force the state: active or error (admin).") String state,
            @Option(names = "--password", paramLabel = "<password>",
                    description = "New administrator password of the guest.") String password,
            @Parameters(paramLabel = "<server>", description = "Server (name or ID).") String server) {
        ServiceClient compute = cli.compute();
        String path = "/servers/" + cli.find().server(server, false).path("id").asText();
        if (newName != null || description != null) {
            ObjectNode changes = Json.object();
            Requests.putIfGiven(changes, "name", newName);
            Requests.putIfGiven(changes, "description", description);
            ObjectNode body = Json.object();
            body.set("server", changes);
            compute.put(path, body);
        }
        if (properties != null) {
            ObjectNode body = Json.object();
            ObjectNode metadata = body.putObject("metadata");
            properties.forEach(metadata::put);
            compute.post(path + "/metadata", body);
        }
        if (tags != null) {
            tags.forEach(tag -> compute.put(path + "/tags/" + Finder.encode(tag), null));
        }
        if (state != null) {
            ObjectNode body = Json.object();
            body.putObject("os-resetState").put("state", state);
            compute.post(path + "/action", body);
        }
        if (password != null) {
            ObjectNode body = Json.object();
            body.putObject("changePassword").put("adminPass", password);
            compute.post(path + "/action", body);
        }
    }

    private static boolean hasNext(JsonNode links) {
        for (JsonNode link : links) {
            if (link.path("rel").asText().equals("next")) {
                return true;
            }
        }
        return false;
    }
}
