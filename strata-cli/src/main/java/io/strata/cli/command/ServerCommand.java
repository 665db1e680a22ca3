package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import io.strata.cli.client.ServiceClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata server …}: the openstack client's server commands, with --wait on every long one. */
@Command(name = "server", description = "Servers (Compute).",
        subcommands = {ServerActionCommand.Start.class, ServerActionCommand.Stop.class, ServerActionCommand.Pause.class,
                ServerActionCommand.Unpause.class, ServerActionCommand.Suspend.class, ServerActionCommand.Resume.class,
                ServerActionCommand.Reboot.class, ServerImageCommand.class, ConsoleCommand.class})
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

    @Command(name = "create", description = "Create a server.")
    void create(@Mixin ShowOptions format, @Mixin WaitOptions wait,
            @Option(names = "--flavor", required = true, paramLabel = "<flavor>", description = "Flavor (name or ID).") String flavor,
            @Option(names = "--image", required = true, paramLabel = "<image>", description = "Image to boot (name or ID).") String image,
            @Option(names = "--key-name", paramLabel = "<key-name>", description = "Keypair to inject.") String keyName,
            @Option(names = "--user-data", paramLabel = "<user-data>",
                    description = "File served to the guest as user data.") Path userData,
            @Option(names = "--property", paramLabel = "<key=value>",
                    description = "Metadata (repeat for several).") Map<String, String> properties,
            @Option(names = "--availability-zone", paramLabel = "<zone-name>", description = "zone, zone:host or zone::node.") String zone,
            @Option(names = "--security-group", paramLabel = "<security-group>", description = "Security group (repeat for several).")
            List<String> securityGroups,
            @Option(names = "--network", paramLabel = "<network>",
                    description = "Network to attach (repeat for several).") List<String> networks,
            @Option(names = "--nic", paramLabel = "<net-id=net-uuid,v4-fixed-ip=ip-addr,auto,none>",
                    description = "A NIC (repeat for several).")
            List<String> nics,
            @Option(names = "--hint", paramLabel = "<key=value>",
                    description = "Scheduler hint (repeat for several).") Map<String, String> hints,
            @Option(names = "--password", paramLabel = "<password>", description = "Administrator password of the guest.") String password,
            @Option(names = "--description", paramLabel = "<description>", description = "Description of the server.") String description,
            @Option(names = "--use-config-drive", description = "Give the guest a config drive.") boolean configDrive,
            @Option(names = "--min", paramLabel = "<count>", defaultValue = "1",
                    description = "Create at least this many (default 1).") int min,
            @Option(names = "--max", paramLabel = "<count>", defaultValue = "1",
                    description = "Create at most this many (default 1).") int max,
            @Parameters(paramLabel = "<server-name>", description = "Name of the new server.") String name) {
        if (min < 1 || max < min) {
            throw new CliException("min instances should be <= max instances and >= 1");
        }
        ObjectNode server = Json.object();
        server.put("name", name);
        server.put("imageRef", cli.find().image(image).path("id").asText());
        server.put("flavorRef", cli.find().flavor(flavor).path("id").asText());
        server.set("networks", networks(networks, nics));
        Requests.putIfGiven(server, "key_name", keyName);
        if (userData != null) {
            server.put("user_data", Base64.getEncoder().encodeToString(read(userData)));
        }
        if (properties != null) {
            ObjectNode metadata = server.putObject("metadata");
            properties.forEach(metadata::put);
        }
        Requests.putIfGiven(server, "availability_zone", zone);
        Requests.putIfGiven(server, "description", description);
        Requests.putIfGiven(server, "adminPass", password);
        if (securityGroups != null) {
            ArrayNode groups = server.putArray("security_groups");
            securityGroups.forEach(group -> groups.addObject().put("name", group));
        }
        if (configDrive) {
            server.put("config_drive", true);
        }
        server.put("min_count", min);
        server.put("max_count", max);
        ObjectNode body = Json.object();
        body.set("server", server);
        if (hints != null) {
            ObjectNode schedulerHints = body.putObject("os:scheduler_hints");
            hints.forEach(schedulerHints::put);
        }
        JsonNode created = cli.compute().post("/servers", body).path("server");
        String id = created.path("id").asText();
        JsonNode result = wait.enabled()
                ? new ServerWaiter(cli.compute(), cli.terminal(), wait.timeout()).untilStatus(id, name, Set.of("ACTIVE"))
                : cli.compute().get("/servers/" + id).path("server");
        Map<String, Object> fields = new ServerView(cli.image()).detail(result);
        if (created.has("adminPass")) {
            fields.put("adminPass", created.path("adminPass").asText());
        }
        cli.show(format, fields);
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

    /** {@code networks} of a create request: "auto" unless --network or --nic say otherwise. */
    private JsonNode networks(List<String> networks, List<String> nics) {
        List<String> all = new ArrayList<>();
        if (networks != null) {
            networks.forEach(network -> all.add("net-id=" + network));
        }
        if (nics != null) {
            all.addAll(nics);
        }
        if (all.isEmpty()) {
            return Json.parse("\"auto\"");
        }
        if (all.size() == 1 && (all.get(0).equals("auto") || all.get(0).equals("none"))) {
            return Json.parse("\"" + all.get(0) + "\"");
        }
        ArrayNode list = Json.array();
        for (String nic : all) {
            ObjectNode entry = list.addObject();
            for (String part : nic.split(",")) {
                String[] kv = part.split("=", 2);
                String key = switch (kv.length == 2 ? kv[0] : "") {
                    case "net-id" -> "uuid";
                    case "port-id" -> "port";
                    case "v4-fixed-ip", "v6-fixed-ip" -> "fixed_ip";
                    case "tag" -> "tag";
                    default -> throw new CliException("Invalid --nic argument '" + nic
                            + "': expected net-id=<uuid>,port-id=<uuid>,v4-fixed-ip=<ip>,v6-fixed-ip=<ip>,tag=<tag>, auto or none");
                };
                entry.put(key, kv[1]);
            }
        }
        return list;
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CliException("Can't open '" + file + "': No such file or directory");
        } catch (IOException e) {
            throw new CliException("Can't open '" + file + "': " + e.getMessage());
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
