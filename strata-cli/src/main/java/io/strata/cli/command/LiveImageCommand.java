package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code strata live-image …}: Cobalt's live-image commands (python-cobaltclient's
 * live-image-create/start/list/servers/delete) with its option names, over the co_* actions.
 */
@Command(name = "live-image", description = "Live images: bless a running server, start clones that resume its memory.",
        subcommands = {LiveImageCommand.Start.class})
final class LiveImageCommand {
    static final List<String> LIST_COLUMNS = List.of("ID", "Name", "Status", "Networks");

    private final Cli cli;

    LiveImageCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "create", description = "Create a live image from a running server.")
    void create(@Mixin ShowOptions format, @Mixin WaitOptions wait,
            @Option(names = "--name", paramLabel = "<name>", description = "Name of the live image (default <server>-<n>).") String name,
            @Parameters(index = "0", paramLabel = "<server>", description = "Server (name or ID).") String server,
            @Parameters(index = "1", arity = "0..1", paramLabel = "<name>",
                    description = "Name of the live image (as Cobalt's live-image-create takes it).") String positionalName) {
        JsonNode source = cli.find().server(server, false);
        ObjectNode params = Json.object();
        String chosen = name != null ? name : positionalName;
        if (chosen != null) {
            params.put("name", chosen);
        }
        JsonNode image = action(source.path("id").asText(), "co_bless", params).get(0);
        if (wait.enabled()) {
            image = new ServerWaiter(cli.compute(), cli.terminal(), wait.timeout())
                    .untilStatus(image.path("id").asText(), image.path("name").asText(), Set.of("BLESSED"));
        }
        cli.show(format, new ServerView(cli.image()).detail(image));
    }

    @Command(name = "list", description = "List the live images of a server.")
    void list(@Mixin ListOptions format, @Parameters(paramLabel = "<server>", description = "Server (name or ID).") String server) {
        rows(format, action(cli.find().server(server, false).path("id").asText(), "co_list_blessed", null));
    }

    @Command(name = "servers", description = "List the servers started from a live image.")
    void servers(@Mixin ListOptions format,
            @Parameters(paramLabel = "<live-image>", description = "Live image (name or ID).") String liveImage) {
        rows(format, action(cli.find().server(liveImage, false).path("id").asText(), "co_list_launched", null));
    }

    @Command(name = "delete", description = "Delete a live image (no server may still run from it).")
    void delete(@Parameters(paramLabel = "<live-image>", arity = "1..*", description = "Live image(s) (name or ID).") List<String> images) {
        List<JsonNode> found = images.stream().map(image -> cli.find().server(image, false)).toList();
        found.forEach(image -> action(image.path("id").asText(), "co_discard", null));
    }

    private void rows(ListOptions format, JsonNode servers) {
        List<List<Object>> rows = new ArrayList<>();
        servers.forEach(s -> rows.add(List.of(s.path("id").asText(), s.path("name").asText(), s.path("status").asText(),
                ServerView.addresses(s))));
        cli.list(format, LIST_COLUMNS, rows);
    }

    private JsonNode action(String id, String action, ObjectNode params) {
        return action(cli, id, action, params);
    }

    static JsonNode action(Cli cli, String id, String action, ObjectNode params) {
        ObjectNode body = Json.object();
        if (params == null) {
            body.putNull(action);
        } else {
            body.set(action, params);
        }
        return cli.compute().post("/servers/" + id + "/action", body);
    }

    /** {@code live-image start}: clones, several at once with one progress line while they start. */
    @Command(name = "start", description = "Start servers from a live image.")
    static final class Start implements Callable<Integer> {
        @Mixin
        ListOptions format;

        @Mixin
        WaitOptions wait;

        @Parameters(arity = "0..2", paramLabel = "<live-image> [<name>]",
                description = "Live image (name or ID), then optionally the name of the new server(s).")
        List<String> positional = new ArrayList<>();

        @Option(names = "--live-image", paramLabel = "<live-image>",
                description = "Live image, as Cobalt's live-image-start takes it (then the only positional is the name).")
        String liveImageOption;

        @Option(names = "--name", paramLabel = "<name>", description = "Name of the new server(s) (default <live image>-clone).")
        String name;

        @Option(names = "--target", paramLabel = "<memory>", description = "Memory target of each clone: 512, 512M or 1G.")
        String target;

        @Option(names = {"--user_data", "--user-data"}, paramLabel = "<file>", description = "User data file for the new server(s).")
        Path userData;

        @Option(names = "--security-groups", paramLabel = "<groups>", split = ",", description = "Comma-separated security group names.")
        List<String> securityGroups;

        @Option(names = "--availability-zone", paramLabel = "<zone>", description = "Availability zone (zone or zone:host).")
        String availabilityZone;

        @Option(names = "--num-instances", paramLabel = "<number>", defaultValue = "1", description = "How many servers to start.")
        int numInstances;

        @Option(names = "--key-name", paramLabel = "<key-name>", description = "Keypair to inject.")
        String keyName;

        @Option(names = "--params", paramLabel = "<key=value>", description = "Guest parameter for the guest agent (repeat for several).")
        List<String> params;

        @Option(names = "--hint", paramLabel = "<key=value>", description = "Scheduler hint (repeat for several).")
        List<String> hints;

        private final Cli cli;

        Start(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Override
        public Integer call() {
            if (numInstances < 1) {
                throw new CliException("--num-instances must be at least 1");
            }
            List<String> args = positional == null ? List.of() : positional;
            String liveImage = liveImageOption != null ? liveImageOption : args.isEmpty() ? null : args.get(0);
            String positionalName = liveImageOption != null ? (args.isEmpty() ? null : args.get(0)) : (args.size() > 1 ? args.get(1) : null);
            if (liveImage == null) {
                throw new CliException("you need to provide a live-image ID");
            }
            if (liveImageOption != null && args.size() > 1) {
                throw new CliException("too many arguments: with --live-image, give only the name of the new server(s)");
            }
            JsonNode image = cli.find().server(liveImage, false);
            ObjectNode body = Json.object();
            String chosen = name != null ? name : positionalName;
            if (chosen != null) {
                body.put("name", chosen);
            }
            if (target != null) {
                body.put("target", target);
            }
            if (userData != null) {
                try {
                    body.put("user_data", Base64.getEncoder().encodeToString(Files.readAllBytes(userData)));
                } catch (IOException e) {
                    throw new CliException("Cannot read user data file " + userData + ": " + e.getMessage());
                }
            }
            if (securityGroups != null) {
                ArrayNode groups = body.putArray("security_groups");
                securityGroups.forEach(groups::add);
            }
            if (availabilityZone != null) {
                body.put("availability_zone", availabilityZone);
            }
            body.put("num_instances", numInstances);
            if (keyName != null) {
                body.put("key_name", keyName);
            }
            body.set("guest", keyValues(params, "--params"));
            body.set("scheduler_hints", keyValues(hints, "--hint"));
            JsonNode started = action(cli, image.path("id").asText(), "co_launch", body);
            List<JsonNode> servers = new ArrayList<>();
            started.forEach(servers::add);
            if (wait.enabled()) {
                servers = new CloneWaiter(cli, wait).untilRunning(servers);
            }
            List<List<Object>> rows = new ArrayList<>();
            servers.forEach(s -> rows.add(List.of(s.path("id").asText(), s.path("name").asText(), s.path("status").asText(),
                    ServerView.addresses(s))));
            cli.list(format, LIST_COLUMNS, rows);
            return 0;
        }

        /** Cobalt's client splits at the first '='; a bare key gets an empty value. */
        private static ObjectNode keyValues(List<String> pairs, String option) {
            ObjectNode node = Json.object();
            Map<String, String> values = new LinkedHashMap<>();
            for (String pair : pairs == null ? List.<String>of() : pairs) {
                int eq = pair.indexOf('=');
                String key = eq < 0 ? pair : pair.substring(0, eq);
                if (key.isEmpty()) {
                    throw new CliException(option + " needs key=value, not '" + pair + "'");
                }
                values.put(key, eq < 0 ? "" : pair.substring(eq + 1));
            }
            values.forEach(node::put);
            return node;
        }
    }

    /** Waits for many clones at once, with one line: how many run, how many are still starting. */
    static final class CloneWaiter {
        private final Cli cli;
        private final WaitOptions wait;

        CloneWaiter(Cli cli, WaitOptions wait) {
            this.cli = cli;
            this.wait = wait;
        }

        List<JsonNode> untilRunning(List<JsonNode> servers) {
            ProgressLine progress = new ProgressLine(cli.terminal());
            long deadline = wait.timeout() == null ? 0 : System.nanoTime() + wait.timeout().toNanos();
            Map<String, JsonNode> latest = new LinkedHashMap<>();
            servers.forEach(s -> latest.put(s.path("id").asText(), s));
            while (true) {
                int active = 0;
                for (String id : latest.keySet()) {
                    JsonNode server = cli.compute().get("/servers/" + id).path("server");
                    latest.put(id, server);
                    boolean idle = !server.hasNonNull("OS-EXT-STS:task_state");
                    String status = server.path("status").asText();
                    if (status.equals("ERROR") && idle) {
                        progress.clear();
                        throw new CliException("Server " + server.path("name").asText() + " (" + id + ") went to ERROR: "
                                + server.path("fault").path("message").asText("the cloud recorded no fault"));
                    }
                    if (status.equals("ACTIVE") && idle) {
                        active++;
                    }
                }
                int total = latest.size();
                if (active == total) {
                    progress.finish(total + " server(s) started from the live image");
                    return new ArrayList<>(latest.values());
                }
                if (deadline != 0 && System.nanoTime() > deadline) {
                    progress.clear();
                    throw new CliException("Timed out after " + wait.timeout().toSeconds() + " s: " + active + " of " + total
                            + " servers are ACTIVE");
                }
                progress.update("Starting clones: " + active + "/" + total + " ACTIVE", active * 100 / total);
                ServerWaiter.sleep(200);
            }
        }
    }
}
