package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata minion pool …} (coriolis minion pool …). */
@Command(name = "minion", description = "Minion pools.", subcommands = MinionCommand.Pool.class)
final class MinionCommand {
    @Command(name = "pool", description = "Pools of helper machines for transfers.")
    static final class Pool {
        private final Cli cli;

        Pool(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List minion pools.")
        void list(@Mixin ListOptions format) {
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode p : cli.migration().get("/minion_pools").path("minion_pools")) {
                rows.add(List.of(p.path("id"), p.path("name"), p.path("endpoint_id"), p.path("platform"), p.path("status"),
                        p.path("minimum_minions"), p.path("maximum_minions")));
            }
            cli.list(format, List.of("ID", "Name", "Endpoint ID", "Platform", "Status", "Minimum Minions", "Maximum Minions"), rows);
        }

        @Command(name = "show", description = "Show a minion pool.")
        void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<pool>", description = "Pool ID.") String pool) {
            cli.show(format, fields(cli.migration().get("/minion_pools/" + pool).path("minion_pool")));
        }

        private static Map<String, Object> fields(JsonNode pool) {
            Map<String, Object> fields = Transfers.fields(pool, Set.of("minion_machines"));
            List<String> machines = new ArrayList<>();
            pool.path("minion_machines").forEach(m -> machines.add(m.path("id").asText() + " " + m.path("allocation_status").asText()));
            fields.put("minion_machines", String.join("\n", machines));
            return fields;
        }

        @Command(name = "create", description = "Create a minion pool (allocated unless --skip-allocation).")
        void create(@Mixin ShowOptions format,
                @Parameters(arity = "0..1", paramLabel = "<name>", description = "Pool name (as the Coriolis client; or --name).") String positionalName,
                @Option(names = "--name", paramLabel = "<name>", description = "Pool name.") String optionName,
                @Option(names = {"--endpoint-id", "--endpoint"}, required = true, paramLabel = "<endpoint>", description = "Endpoint (name or ID).")
                String endpoint,
                @Option(names = "--platform", required = true, paramLabel = "<platform>", description = "source or destination.") String platform,
                @Option(names = "--os-type", paramLabel = "<os>", defaultValue = "linux", description = "OS of the minions (default linux).")
                String osType,
                @Option(names = "--environment-options", paramLabel = "<json>", description = "Environment options (JSON or @file).")
                String options,
                @Option(names = "--environment-options-file", paramLabel = "<file>", description = "Environment options JSON file.")
                Path optionsFile,
                @Option(names = "--minimum-minions", paramLabel = "<n>", description = "Minions kept ready.") Integer minimum,
                @Option(names = "--maximum-minions", paramLabel = "<n>", description = "Most minions.") Integer maximum,
                @Option(names = "--minion-max-idle-time", paramLabel = "<s>", description = "Seconds an extra minion may idle.") Integer idle,
                @Option(names = "--minion-retention-strategy", paramLabel = "<s>", description = "delete or poweroff.") String retention,
                @Option(names = "--notes", paramLabel = "<text>", description = "Notes.") String notes,
                @Option(names = "--skip-allocation", description = "Leave the pool deallocated.") boolean skip) {
            if ((positionalName == null) == (optionName == null)) {
                throw new CliException("Give the pool's name once: as the NAME argument or with --name");
            }
            ObjectNode pool = Json.object();
            pool.put("name", positionalName != null ? positionalName : optionName);
            pool.put("endpoint_id", new Transfers(cli).endpoint(endpoint).path("id").asText());
            pool.put("platform", platform);
            pool.put("os_type", osType);
            ObjectNode env = Transfers.jsonOption("--environment-options", options, optionsFile);
            pool.set("environment_options", env == null ? Json.object() : env);
            putInt(pool, "minimum_minions", minimum);
            putInt(pool, "maximum_minions", maximum);
            putInt(pool, "minion_max_idle_time", idle);
            Requests.putIfGiven(pool, "minion_retention_strategy", retention);
            Requests.putIfGiven(pool, "notes", notes);
            pool.put("skip_allocation", skip);
            cli.show(format, fields(cli.migration().post("/minion_pools", EndpointCommand.wrap("minion_pool", pool)).path("minion_pool")));
        }

        @Command(name = "update", description = "Update a minion pool.")
        void update(@Mixin ShowOptions format,
                @Option(names = "--name", paramLabel = "<name>", description = "New name.") String name,
                @Option(names = "--environment-options", paramLabel = "<json>", description = "Environment options (JSON or @file).")
                String options,
                @Option(names = "--environment-options-file", paramLabel = "<file>", description = "Environment options JSON file.")
                Path optionsFile,
                @Option(names = "--minimum-minions", paramLabel = "<n>", description = "Minions kept ready.") Integer minimum,
                @Option(names = "--maximum-minions", paramLabel = "<n>", description = "Most minions.") Integer maximum,
                @Option(names = "--minion-max-idle-time", paramLabel = "<s>", description = "Seconds an extra minion may idle.") Integer idle,
                @Option(names = "--minion-retention-strategy", paramLabel = "<s>", description = "delete or poweroff.") String retention,
                @Option(names = "--notes", paramLabel = "<text>", description = "Notes.") String notes,
                @Parameters(paramLabel = "<pool>", description = "Pool ID.") String id) {
            ObjectNode pool = Json.object();
            Requests.putIfGiven(pool, "name", name);
            ObjectNode env = Transfers.jsonOption("--environment-options", options, optionsFile);
            if (env != null) {
                pool.set("environment_options", env);
            }
            putInt(pool, "minimum_minions", minimum);
            putInt(pool, "maximum_minions", maximum);
            putInt(pool, "minion_max_idle_time", idle);
            Requests.putIfGiven(pool, "minion_retention_strategy", retention);
            Requests.putIfGiven(pool, "notes", notes);
            cli.show(format, fields(cli.migration().put("/minion_pools/" + id, EndpointCommand.wrap("minion_pool", pool)).path("minion_pool")));
        }

        @Command(name = "delete", description = "Delete deallocated minion pools.")
        void delete(@Parameters(paramLabel = "<pool>", arity = "1..*", description = "Pool ID(s).") List<String> pools) {
            Deletion.each(pools, "minion pools", cli.terminal().err(), p -> cli.migration().delete("/minion_pools/" + p));
        }

        @Command(name = "allocate", description = "Allocate a pool's minimum of minions.")
        void allocate(@Mixin ShowOptions format, @Parameters(paramLabel = "<pool>", description = "Pool ID.") String pool) {
            action(format, pool, "allocate", null);
        }

        @Command(name = "deallocate", description = "Release a pool's minions.")
        void deallocate(@Mixin ShowOptions format, @Option(names = "--force", description = "Even while transfers use it.") boolean force,
                @Parameters(paramLabel = "<pool>", description = "Pool ID.") String pool) {
            action(format, pool, "deallocate", Json.object().put("force", force));
        }

        @Command(name = "refresh", description = "Bring an allocated pool back to its minimum of healthy minions.")
        void refresh(@Mixin ShowOptions format, @Parameters(paramLabel = "<pool>", description = "Pool ID.") String pool) {
            action(format, pool, "refresh", null);
        }

        private void action(ShowOptions format, String pool, String action, ObjectNode argument) {
            ObjectNode body = Json.object();
            if (argument == null) {
                body.putNull(action);
            } else {
                body.set(action, argument);
            }
            cli.show(format, fields(cli.migration().post("/minion_pools/" + pool + "/actions", body).path("minion_pool")));
        }

        private static void putInt(ObjectNode node, String key, Integer value) {
            if (value != null) {
                node.put(key, value);
            }
        }
    }
}
