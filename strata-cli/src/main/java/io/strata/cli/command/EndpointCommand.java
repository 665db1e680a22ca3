package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.nio.charset.StandardCharsets;
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

/** {@code strata endpoint …}: clouds and hosts to migrate from and to (coriolis endpoint …). */
@Command(name = "endpoint", description = "Migration endpoints.",
        subcommands = {EndpointCommand.Instance.class, EndpointCommand.Network.class, EndpointCommand.Storage.class,
                EndpointCommand.Destination.class, EndpointCommand.Source.class})
final class EndpointCommand {
    private final Cli cli;
    private final Transfers transfers;

    EndpointCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
        this.transfers = new Transfers(cli);
    }

    @Command(name = "list", description = "List endpoints.")
    void list(@Mixin ListOptions format) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode e : cli.migration().get("/endpoints").path("endpoints")) {
            rows.add(List.of(e.path("id"), e.path("name"), e.path("type"), e.path("description")));
        }
        cli.list(format, List.of("ID", "Name", "Type", "Description"), rows);
    }

    @Command(name = "show", description = "Show an endpoint (its connection info only as a secret reference).")
    void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<endpoint>", description = "Endpoint (name or ID).") String endpoint) {
        cli.show(format, Transfers.fields(transfers.endpoint(endpoint), Set.of()));
    }

    @Command(name = "create", description = "Create an endpoint.")
    void create(@Mixin ShowOptions format,
            @Option(names = "--name", required = true, paramLabel = "<name>", description = "Endpoint name.") String name,
            @Option(names = "--provider", required = true, paramLabel = "<provider>", description = "qemu-host, strata or openstack.")
            String provider,
            @Option(names = "--description", paramLabel = "<text>", description = "Description.") String description,
            @Option(names = "--connection", paramLabel = "<json>", description = "Connection info as JSON (or @file).") String connection,
            @Option(names = "--connection-file", paramLabel = "<file>", description = "Connection info JSON file.") Path connectionFile,
            @Option(names = "--connection-secret", paramLabel = "<ref>", description = "Reference of a stored secret holding the connection info.")
            String secret,
            @Option(names = {"--coriolis-region", "--region"}, paramLabel = "<region>", description = "Region to map the endpoint to (repeat for several).")
            List<String> regions,
            @Option(names = "--skip-validation", description = "Do not check the connection once the endpoint is created.") boolean skipValidation) {
        ObjectNode endpoint = Json.object();
        endpoint.put("name", name);
        endpoint.put("type", provider);
        Requests.putIfGiven(endpoint, "description", description);
        endpoint.set("connection_info", connectionInfo(connection, connectionFile, secret, true));
        if (regions != null) {
            endpoint.set("mapped_regions", regionIds(regions));
        }
        JsonNode created = cli.migration().post("/endpoints", wrap("endpoint", endpoint)).path("endpoint");
        // As the Coriolis client: the connection is checked unless told not to; the endpoint stays, to be fixed with update.
        if (!skipValidation) {
            JsonNode result = validation(created.path("id").asText());
            if (!result.path("valid").asBoolean()) {
                throw new CliException("Endpoint " + name + " was created (" + created.path("id").asText() + ") but its connection is not valid: "
                        + result.path("message").asText() + " (fix it with endpoint update, or create with --skip-validation)");
            }
        }
        cli.show(format, Transfers.fields(created, Set.of()));
    }

    @Command(name = "update", description = "Update an endpoint.")
    void update(@Mixin ShowOptions format,
            @Option(names = "--name", paramLabel = "<name>", description = "New name.") String name,
            @Option(names = "--description", paramLabel = "<text>", description = "New description.") String description,
            @Option(names = "--connection", paramLabel = "<json>", description = "New connection info as JSON (or @file).") String connection,
            @Option(names = "--connection-file", paramLabel = "<file>", description = "New connection info JSON file.") Path connectionFile,
            @Option(names = "--connection-secret", paramLabel = "<ref>", description = "Reference of a stored secret.") String secret,
            @Option(names = {"--coriolis-region", "--region"}, paramLabel = "<region>", description = "Regions to map (replaces the mapping; repeat).")
            List<String> regions,
            @Parameters(paramLabel = "<endpoint>", description = "Endpoint (name or ID).") String endpoint) {
        String id = transfers.endpoint(endpoint).path("id").asText();
        ObjectNode body = Json.object();
        Requests.putIfGiven(body, "name", name);
        Requests.putIfGiven(body, "description", description);
        JsonNode info = connectionInfo(connection, connectionFile, secret, false);
        if (info != null) {
            body.set("connection_info", info);
        }
        if (regions != null) {
            body.set("mapped_regions", regionIds(regions));
        }
        cli.show(format, Transfers.fields(cli.migration().put("/endpoints/" + id, wrap("endpoint", body)).path("endpoint"), Set.of()));
    }

    @Command(name = "delete", description = "Delete endpoints.")
    void delete(@Parameters(paramLabel = "<endpoint>", arity = "1..*", description = "Endpoint(s) (name or ID).") List<String> endpoints) {
        Deletion.each(endpoints, "endpoints", cli.terminal().err(),
                e -> cli.migration().delete("/endpoints/" + transfers.endpoint(e).path("id").asText()));
    }

    @Command(name = "validate-connection", description = "Check that the endpoint's connection info works.")
    void validate(@Parameters(paramLabel = "<endpoint>", description = "Endpoint (name or ID).") String endpoint) {
        JsonNode result = validation(transfers.endpoint(endpoint).path("id").asText());
        if (!result.path("valid").asBoolean()) {
            throw new CliException("Endpoint " + endpoint + " is not valid: " + result.path("message").asText());
        }
        cli.terminal().out().println("Endpoint " + endpoint + " is valid.");
        cli.terminal().out().flush();
    }

    private JsonNode validation(String id) {
        ObjectNode body = Json.object();
        body.putNull("validate-connection");
        return cli.migration().post("/endpoints/" + id + "/actions", body).path("validate-connection");
    }

    private ArrayNode regionIds(List<String> regions) {
        ArrayNode ids = Json.array();
        regions.forEach(r -> ids.add(transfers.region(r).path("id").asText()));
        return ids;
    }

    private static JsonNode connectionInfo(String inline, Path file, String secret, boolean required) {
        int given = (inline == null ? 0 : 1) + (file == null ? 0 : 1) + (secret == null ? 0 : 1);
        if (given > 1) {
            throw new CliException("--connection, --connection-file and --connection-secret are mutually exclusive");
        }
        if (given == 0) {
            if (required) {
                throw new CliException("One of --connection, --connection-file or --connection-secret is required");
            }
            return null;
        }
        if (secret != null) {
            return Json.object().put("secret_ref", secret);
        }
        return inline != null ? Transfers.jsonObject("--connection", inline) : Transfers.fromFile("--connection-file", file);
    }

    static ObjectNode wrap(String key, JsonNode value) {
        ObjectNode body = Json.object();
        body.set(key, value);
        return body;
    }

    private static String env(String environment) {
        ObjectNode env = Transfers.jsonObject("--env", environment);
        return env == null ? "" : Base64.getEncoder().encodeToString(Json.write(env).getBytes(StandardCharsets.UTF_8));
    }

    @Command(name = "instance", description = "Instances of an endpoint.")
    static final class Instance {
        private final Cli cli;

        Instance(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List the instances an endpoint can export.")
        void list(@Mixin ListOptions format,
                @Option(names = "--name", paramLabel = "<text>", description = "Only instances whose name contains this.") String name,
                @Option(names = "--limit", paramLabel = "<n>", description = "At most this many.") Integer limit,
                @Option(names = "--marker", paramLabel = "<id>", description = "After this instance.") String marker,
                @Option(names = "--env", paramLabel = "<json>", description = "Source environment for the listing.") String environment,
                @Parameters(paramLabel = "<endpoint>", description = "Endpoint (name or ID).") String endpoint) {
            String id = new Transfers(cli).endpoint(endpoint).path("id").asText();
            Map<String, String> query = new LinkedHashMap<>();
            Requests.putIfGiven(query, "name", name);
            Requests.putIfGiven(query, "limit", limit == null ? null : limit.toString());
            Requests.putIfGiven(query, "marker", marker);
            String env = env(environment);
            Requests.putIfGiven(query, "env", env.isEmpty() ? null : env);
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode i : cli.migration().get("/endpoints/" + id + "/instances" + Requests.queryString(query)).path("instances")) {
                rows.add(List.of(i.path("id"), i.path("name"), i.path("num_cpu"), i.path("memory_mb"), i.path("flavor_name")));
            }
            cli.list(format, List.of("ID", "Name", "CPUs", "Memory MB", "Flavor"), rows);
        }

        @Command(name = "show", description = "Show what an instance would be exported with.")
        void show(@Mixin ShowOptions format,
                @Parameters(index = "0", paramLabel = "<endpoint>", description = "Endpoint (name or ID).") String endpoint,
                @Parameters(index = "1", paramLabel = "<instance>", description = "Instance (name or ID).") String instance) {
            String id = new Transfers(cli).endpoint(endpoint).path("id").asText();
            String encoded = Base64.getEncoder().encodeToString(instance.getBytes(StandardCharsets.UTF_8));
            cli.show(format, Transfers.fields(cli.migration().get("/endpoints/" + id + "/instances/" + Finder.encode(encoded)).path("instance"),
                    Set.of()));
        }
    }

    @Command(name = "network", description = "Networks of an endpoint.")
    static final class Network {
        private final Cli cli;

        Network(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List an endpoint's networks.")
        void list(@Mixin ListOptions format, @Mixin Environment environment,
                @Parameters(paramLabel = "<endpoint>", description = "Endpoint (name or ID).") String endpoint) {
            String id = new Transfers(cli).endpoint(endpoint).path("id").asText();
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode n : cli.migration().get("/endpoints/" + id + "/networks" + environment.query()).path("networks")) {
                rows.add(List.of(n.path("id"), n.path("name")));
            }
            cli.list(format, List.of("ID", "Name"), rows);
        }
    }

    /**
     * Lists one kind of an endpoint's options as the Coriolis client does: {@code --options} and the
     * environment go as base64-encoded JSON query parameters; {@code path} is the API's resource
     * (e.g. destination-options), {@code key} its answer's list (e.g. destination_options).
     */
    static void listOptions(Cli cli, ListOptions format, String endpoint, List<String> names, String environment, Path environmentFile,
            String path, String key) {
        String id = new Transfers(cli).endpoint(endpoint).path("id").asText();
        Map<String, String> query = environmentQuery(environment, environmentFile);
        if (names != null) {
            ArrayNode list = Json.array();
            names.forEach(list::add);
            query.put("options", Base64.getEncoder().encodeToString(Json.write(list).getBytes(StandardCharsets.UTF_8)));
        }
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode option : cli.migration().get("/endpoints/" + id + "/" + path + Requests.queryString(query)).path(key)) {
            rows.add(List.of(option.path("name"), Json.write(option.path("values")), option.path("config_default")));
        }
        cli.list(format, List.of("Option Name", "Possible Values", "Configuration Default"), rows);
    }

    /** The {@code env} query parameter (base64-encoded JSON) of {@code --environment[-file]}, when given. */
    private static Map<String, String> environmentQuery(String environment, Path environmentFile) {
        Map<String, String> query = new LinkedHashMap<>();
        ObjectNode env = Transfers.jsonOption("--environment", environment, environmentFile);
        if (env != null) {
            query.put("env", Base64.getEncoder().encodeToString(Json.write(env).getBytes(StandardCharsets.UTF_8)));
        }
        return query;
    }

    /** The Coriolis client's environment of the network and storage listings. */
    static final class Environment {
        @Option(names = "--environment", paramLabel = "<json>", description = "Environment (JSON or @file).")
        String environment;

        @Option(names = "--environment-file", paramLabel = "<file>", description = "Environment JSON file.")
        Path environmentFile;

        String query() {
            return Requests.queryString(environmentQuery(environment, environmentFile));
        }
    }

    /** The arguments every options listing of the Coriolis client takes. */
    static final class OptionsArguments {
        @Option(names = "--options", arity = "1..*", paramLabel = "<name>", description = "Only these options.")
        List<String> names;

        @Mixin
        Environment environment;

        @Parameters(paramLabel = "<endpoint>", description = "Endpoint (name or ID).")
        String endpoint;

        void list(Cli cli, ListOptions format, String path, String key) {
            listOptions(cli, format, endpoint, names, environment.environment, environment.environmentFile, path, key);
        }
    }

    /** The Coriolis client's {@code endpoint destination options list} and {@code endpoint destination minion pool options list}. */
    @Command(name = "destination", description = "Destination settings of an endpoint.", subcommands = {Destination.Options.class,
            Destination.Minion.class})
    static final class Destination {
        @Command(name = "options", description = "Values the destination environment's fields can take.")
        static final class Options {
            private final Cli cli;

            Options(Cli cli) {
                this.cli = requireNonNull(cli, "cli is null");
            }

            @Command(name = "list", description = "List the destination environment's options and their possible values.")
            void list(@Mixin ListOptions format, @Mixin OptionsArguments arguments) {
                arguments.list(cli, format, "destination-options", "destination_options");
            }
        }

        @Command(name = "minion", description = "Destination minion pools of an endpoint.", subcommands = Minion.Pool.class)
        static final class Minion {
            @Command(name = "pool", description = "Destination minion pools of an endpoint.", subcommands = Pool.Options.class)
            static final class Pool {
                @Command(name = "options", description = "Values a destination minion pool's environment options can take.")
                static final class Options {
                    private final Cli cli;

                    Options(Cli cli) {
                        this.cli = requireNonNull(cli, "cli is null");
                    }

                    @Command(name = "list", description = "List the environment options of destination minion pools and their possible values.")
                    void list(@Mixin ListOptions format, @Mixin OptionsArguments arguments) {
                        arguments.list(cli, format, "destination-minion-pool-options", "destination_minion_pool_options");
                    }
                }
            }
        }
    }

    /** The Coriolis client's {@code endpoint source options list} and {@code endpoint source minion pool options list}. */
    @Command(name = "source", description = "Source settings of an endpoint.", subcommands = {Source.Options.class, Source.Minion.class})
    static final class Source {
        @Command(name = "options", description = "Values the source environment's fields can take.")
        static final class Options {
            private final Cli cli;

            Options(Cli cli) {
                this.cli = requireNonNull(cli, "cli is null");
            }

            @Command(name = "list", description = "List the source environment's options and their possible values.")
            void list(@Mixin ListOptions format, @Mixin OptionsArguments arguments) {
                arguments.list(cli, format, "source-options", "source_options");
            }
        }

        @Command(name = "minion", description = "Source minion pools of an endpoint.", subcommands = Minion.Pool.class)
        static final class Minion {
            @Command(name = "pool", description = "Source minion pools of an endpoint.", subcommands = Pool.Options.class)
            static final class Pool {
                @Command(name = "options", description = "Values a source minion pool's environment options can take.")
                static final class Options {
                    private final Cli cli;

                    Options(Cli cli) {
                        this.cli = requireNonNull(cli, "cli is null");
                    }

                    @Command(name = "list", description = "List the environment options of source minion pools and their possible values.")
                    void list(@Mixin ListOptions format, @Mixin OptionsArguments arguments) {
                        arguments.list(cli, format, "source-minion-pool-options", "source_minion_pool_options");
                    }
                }
            }
        }
    }

    @Command(name = "storage", description = "Storage backends of an endpoint.")
    static final class Storage {
        private final Cli cli;

        Storage(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List an endpoint's storage backends.")
        void list(@Mixin ListOptions format, @Mixin Environment environment,
                @Parameters(paramLabel = "<endpoint>", description = "Endpoint (name or ID).") String endpoint) {
            String id = new Transfers(cli).endpoint(endpoint).path("id").asText();
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode s : cli.migration().get("/endpoints/" + id + "/storage" + environment.query()).path("storage").path("storage_backends")) {
                rows.add(List.of(s.path("id"), s.path("name")));
            }
            cli.list(format, List.of("ID", "Name"), rows);
        }
    }
}
