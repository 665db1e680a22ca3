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
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata replica …}: instances kept in sync on another cloud (coriolis replica …). */
@Command(name = "replica", description = "Replicas: incremental copies of instances on a destination.",
        subcommands = {ReplicaCommand.Execution.class, ReplicaCommand.Schedule.class, ReplicaCommand.Disks.class})
final class ReplicaCommand {
    private final Cli cli;
    private final Transfers transfers;

    ReplicaCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
        this.transfers = new Transfers(cli);
    }

    @Command(name = "list", description = "List replicas.")
    void list(@Mixin ListOptions format) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode r : cli.migration().get("/replicas").path("replicas")) {
            rows.add(List.of(r.path("id"), String.join("\n", strings(r.path("instances"))), r.path("notes"), r.path("last_execution_status"),
                    r.path("created_at")));
        }
        cli.list(format, List.of("ID", "Instances", "Notes", "Last Execution Status", "Created"), rows);
    }

    @Command(name = "show", description = "Show a replica.")
    void show(@Mixin ShowOptions format,
            @Option(names = "--show-instances-data", description = "Include what the executions learnt and created per instance.") boolean info,
            @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
        cli.show(format, replicaFields(cli.migration().get("/replicas/" + replica).path("replica"), info));
    }

    static Map<String, Object> replicaFields(JsonNode replica, boolean info) {
        Map<String, Object> fields = Transfers.fields(replica, info ? Set.of("executions") : Set.of("executions", "info"));
        List<String> executions = new ArrayList<>();
        replica.path("executions").forEach(e -> executions.add(e.path("id").asText() + " " + e.path("number").asText() + " "
                + e.path("status").asText()));
        fields.put("executions", String.join("\n", executions));
        return fields;
    }

    @Command(name = "create", description = "Create a replica.")
    void create(@Mixin ShowOptions format, @Mixin TransferOptions options) {
        JsonNode created = cli.migration().post("/replicas", EndpointCommand.wrap("replica", options.body(transfers))).path("replica");
        cli.show(format, replicaFields(created, false));
    }

    @Command(name = "update", description = "Update a replica's environments, network map, notes, user scripts or OS morphing pools "
            + "(scripts and pool mappings are merged into the replica's; linux= or INSTANCE= removes one).")
    void update(@Mixin ShowOptions format,
            @Option(names = "--source-environment", paramLabel = "<json>", description = "Source environment (JSON or @file).") String source,
            @Option(names = "--source-environment-file", paramLabel = "<file>", description = "Source environment JSON file.") Path sourceFile,
            @Option(names = "--destination-environment", paramLabel = "<json>", description = "Destination environment (JSON or @file).")
            String destination,
            @Option(names = "--destination-environment-file", paramLabel = "<file>", description = "Destination environment JSON file.")
            Path destinationFile,
            @Option(names = "--network-map", paramLabel = "<json>", description = "Network map (JSON or @file).") String networkMap,
            @Option(names = "--network-map-file", paramLabel = "<file>", description = "Network map JSON file.") Path networkMapFile,
            @Option(names = "--notes", paramLabel = "<text>", description = "Notes.") String notes,
            @Option(names = "--origin-minion-pool-id", paramLabel = "<pool>", description = "Source minion pool.") String originPool,
            @Option(names = "--destination-minion-pool-id", paramLabel = "<pool>", description = "Destination minion pool.") String destinationPool,
            @Mixin MorphingOptions morphing,
            @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
        ObjectNode body = Json.object();
        putJson(body, "source_environment", Transfers.jsonOption("--source-environment", source, sourceFile));
        putJson(body, "destination_environment", Transfers.jsonOption("--destination-environment", destination, destinationFile));
        putJson(body, "network_map", Transfers.jsonOption("--network-map", networkMap, networkMapFile));
        Requests.putIfGiven(body, "notes", notes);
        Requests.putIfGiven(body, "origin_minion_pool_id", originPool);
        Requests.putIfGiven(body, "destination_minion_pool_id", destinationPool);
        morphing.addTo(body, true);
        cli.show(format, replicaFields(cli.migration().put("/replicas/" + replica, EndpointCommand.wrap("replica", body)).path("replica"), false));
    }

    private static void putJson(ObjectNode body, String key, ObjectNode value) {
        if (value != null) {
            body.set(key, value);
        }
    }

    @Command(name = "delete", description = "Delete replicas (their destination disks must be deleted first).")
    void delete(@Parameters(paramLabel = "<replica>", arity = "1..*", description = "Replica ID(s).") List<String> replicas) {
        Deletion.each(replicas, "replicas", cli.terminal().err(), r -> cli.migration().delete("/replicas/" + r));
    }

    @Command(name = "delete-disks", description = "Delete a replica's disks on the destination.")
    void deleteDisks(@Mixin ShowOptions format, @Mixin WaitOptions wait,
            @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
        ObjectNode body = Json.object();
        body.putNull("delete-disks");
        JsonNode execution = cli.migration().post("/replicas/" + replica + "/actions", body).path("execution");
        showExecution(format, wait, replica, execution);
    }

    @Command(name = "execute", description = "Start an execution: copy what changed since the last one.")
    void execute(@Mixin ShowOptions format, @Mixin WaitOptions wait,
            @Option(names = "--shutdown-instances", description = "Shut the source instances down before the copy.") boolean shutdown,
            @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
        ObjectNode execution = Json.object();
        execution.put("shutdown_instances", shutdown);
        JsonNode started = cli.migration().post("/replicas/" + replica + "/executions", EndpointCommand.wrap("execution", execution))
                .path("execution");
        showExecution(format, wait, replica, started);
    }

    private void showExecution(ShowOptions format, WaitOptions wait, String replica, JsonNode execution) {
        if (wait.enabled()) {
            execution = transfers.await("/replicas/" + replica + "/executions/" + execution.path("id").asText(), "execution",
                    "Execution " + execution.path("number").asText() + " of replica " + replica, wait.timeout());
        }
        cli.show(format, Transfers.executionFields(execution));
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }

    /** The Coriolis client's spelling of delete-disks: {@code replica disks delete REPLICA}. */
    @Command(name = "disks", description = "A replica's disks on the destination.")
    static final class Disks {
        private final Cli cli;

        Disks(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "delete", description = "Delete a replica's disks on the destination (as delete-disks).")
        void delete(@Mixin ShowOptions format, @Mixin WaitOptions wait,
                @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
            new ReplicaCommand(cli).deleteDisks(format, wait, replica);
        }
    }

    @Command(name = "execution", description = "Executions of a replica.")
    static final class Execution {
        private final Cli cli;

        Execution(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List a replica's executions.")
        void list(@Mixin ListOptions format, @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode e : cli.migration().get("/replicas/" + replica + "/executions").path("executions")) {
                rows.add(List.of(e.path("id"), e.path("number"), e.path("type"), e.path("status"), e.path("created_at")));
            }
            cli.list(format, List.of("ID", "Number", "Type", "Status", "Created"), rows);
        }

        @Command(name = "show", description = "Show an execution with its tasks and their progress.")
        void show(@Mixin ShowOptions format,
                @Parameters(index = "0", paramLabel = "<replica>", description = "Replica ID.") String replica,
                @Parameters(index = "1", paramLabel = "<execution>", description = "Execution ID.") String execution) {
            cli.show(format, Transfers.executionFields(cli.migration().get("/replicas/" + replica + "/executions/" + execution).path("execution")));
        }

        @Command(name = "cancel", description = "Cancel a running execution; its cleanup runs.")
        void cancel(@Option(names = "--force", description = "Cancel even if the running task cannot stop cleanly.") boolean force,
                @Parameters(index = "0", paramLabel = "<replica>", description = "Replica ID.") String replica,
                @Parameters(index = "1", paramLabel = "<execution>", description = "Execution ID.") String execution) {
            ObjectNode body = Json.object();
            body.putObject("cancel").put("force", force);
            cli.migration().post("/replicas/" + replica + "/executions/" + execution + "/actions", body);
        }

        @Command(name = "delete", description = "Delete finished executions.")
        void delete(@Parameters(index = "0", paramLabel = "<replica>", description = "Replica ID.") String replica,
                @Parameters(index = "1", arity = "1..*", paramLabel = "<execution>", description = "Execution ID(s).") List<String> executions) {
            Deletion.each(executions, "executions", cli.terminal().err(),
                    e -> cli.migration().delete("/replicas/" + replica + "/executions/" + e));
        }
    }

    @Command(name = "schedule", description = "Schedules that execute a replica (cron fields, UTC).")
    static final class Schedule {
        private final Cli cli;

        Schedule(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        /** Cron fields; absent means every. */
        static final class Fields {
            @Option(names = {"-M", "--minute"}, paramLabel = "<0-59>", description = "Minute.")
            Integer minute;

            @Option(names = {"-H", "--hour"}, paramLabel = "<0-23>", description = "Hour (UTC).")
            Integer hour;

            @Option(names = {"-d", "--day-of-month", "--dom"}, paramLabel = "<1-31>", description = "Day of the month.")
            Integer dom;

            @Option(names = {"-m", "--month"}, paramLabel = "<1-12>", description = "Month.")
            Integer month;

            @Option(names = {"-w", "--day-of-week", "--dow"}, paramLabel = "<0-6>", description = "Day of the week (0 is Monday).")
            Integer dow;

            boolean any() {
                return minute != null || hour != null || dom != null || month != null || dow != null;
            }

            ObjectNode json() {
                ObjectNode schedule = Json.object();
                put(schedule, "minute", minute);
                put(schedule, "hour", hour);
                put(schedule, "dom", dom);
                put(schedule, "month", month);
                put(schedule, "dow", dow);
                return schedule;
            }

            private static void put(ObjectNode node, String key, Integer value) {
                if (value != null) {
                    node.put(key, value);
                }
            }
        }

        static final class Enabling {
            @Option(names = "--enabled", description = "Enable the schedule.")
            boolean enabled;

            @Option(names = "--disabled", description = "Disable the schedule.")
            boolean disabled;
        }

        /** The Coriolis client's pair: --shutdown-instance or --dont-shutdown-instance (--no-shutdown-instance kept as an alias). */
        static final class Shutdown {
            boolean shutdown;

            @Option(names = "--shutdown-instance", description = "Shut the instances down before each execution.")
            void shutdown(boolean given) {
                shutdown = true;
            }

            @Option(names = {"--dont-shutdown-instance", "--no-shutdown-instance"}, description = "Do not shut the instances down.")
            void dontShutdown(boolean given) {
                shutdown = false;
            }
        }

        @Command(name = "create", description = "Create a schedule, e.g. -M 0 -H 2 for 02:00 UTC every day.")
        void create(@Mixin ShowOptions format, @Mixin Fields fields,
                @Option(names = "--disabled", description = "Create it disabled.") boolean disabled,
                @Option(names = {"--expires-at", "--expires"}, paramLabel = "<time>", description = "Expiry, ISO 8601 (e.g. 2030-01-01T00:00:00Z).")
                String expires,
                @Option(names = "--shutdown-instance", description = "Shut the instances down before each execution.") boolean shutdown,
                @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
            // As the Coriolis client: a schedule with no field at all would run every minute, which is never what was meant.
            if (!fields.any()) {
                throw new CliException("Give at least one of --minute, --hour, --day-of-month, --month or --day-of-week");
            }
            ObjectNode body = Json.object();
            body.set("schedule", fields.json());
            body.put("enabled", !disabled);
            Requests.putIfGiven(body, "expiration_date", expires);
            body.put("shutdown_instance", shutdown);
            cli.show(format, Transfers.fields(cli.migration().post("/replicas/" + replica + "/schedules", body).path("schedule"), Set.of()));
        }

        @Command(name = "list", description = "List a replica's schedules.")
        void list(@Mixin ListOptions format,
                @Option(names = "--hide-expired", description = "Leave expired schedules out.") boolean hideExpired,
                @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode s : cli.migration().get("/replicas/" + replica + "/schedules" + (hideExpired ? "?show_expired=false" : ""))
                    .path("schedules")) {
                rows.add(List.of(s.path("id"), Json.write(s.path("schedule")), s.path("enabled"), s.path("expiration_date"),
                        s.path("shutdown_instance")));
            }
            cli.list(format, List.of("ID", "Schedule", "Enabled", "Expires", "Shutdown Instance"), rows);
        }

        @Command(name = "show", description = "Show a schedule.")
        void show(@Mixin ShowOptions format,
                @Parameters(index = "0", paramLabel = "<replica>", description = "Replica ID.") String replica,
                @Parameters(index = "1", paramLabel = "<schedule>", description = "Schedule ID.") String schedule) {
            cli.show(format, Transfers.fields(cli.migration().get("/replicas/" + replica + "/schedules/" + schedule).path("schedule"), Set.of()));
        }

        @Command(name = "update", description = "Update a schedule (given cron fields replace all of them).")
        void update(@Mixin ShowOptions format, @Mixin Fields fields, @ArgGroup(exclusive = true) Enabling enabling,
                @Option(names = {"--expires-at", "--expires"}, paramLabel = "<time>", description = "New expiry, ISO 8601.") String expires,
                @Option(names = {"--no-expiration-date", "--no-expiry"}, description = "Remove the expiry.") boolean noExpiry,
                @ArgGroup(exclusive = true) Shutdown shutdownChoice,
                @Parameters(index = "0", paramLabel = "<replica>", description = "Replica ID.") String replica,
                @Parameters(index = "1", paramLabel = "<schedule>", description = "Schedule ID.") String schedule) {
            if (expires != null && noExpiry) {
                throw new CliException("--expires-at and --no-expiration-date are mutually exclusive");
            }
            Boolean shutdown = shutdownChoice == null ? null : shutdownChoice.shutdown;
            ObjectNode body = Json.object();
            if (fields.any()) {
                body.set("schedule", fields.json());
            }
            if (enabling != null) {
                body.put("enabled", enabling.enabled);
            }
            if (noExpiry) {
                body.putNull("expiration_date");
            }
            Requests.putIfGiven(body, "expiration_date", expires);
            if (shutdown != null) {
                body.put("shutdown_instance", shutdown);
            }
            cli.show(format, Transfers.fields(cli.migration().put("/replicas/" + replica + "/schedules/" + schedule, body).path("schedule"),
                    Set.of()));
        }

        @Command(name = "delete", description = "Delete schedules.")
        void delete(@Parameters(index = "0", paramLabel = "<replica>", description = "Replica ID.") String replica,
                @Parameters(index = "1", arity = "1..*", paramLabel = "<schedule>", description = "Schedule ID(s).") List<String> schedules) {
            Deletion.each(schedules, "schedules", cli.terminal().err(), s -> cli.migration().delete("/replicas/" + replica + "/schedules/" + s));
        }
    }
}
