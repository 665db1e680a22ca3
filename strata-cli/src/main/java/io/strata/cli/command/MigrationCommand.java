package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata migration …}: one-off moves of instances, or deployments of replicas (coriolis migration …). */
@Command(name = "migration", description = "Migrations: copy and deploy instances on a destination.",
        subcommands = MigrationCommand.Deploy.class)
final class MigrationCommand {
    private final Cli cli;
    private final Transfers transfers;

    MigrationCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
        this.transfers = new Transfers(cli);
    }

    @Command(name = "list", description = "List migrations.")
    void list(@Mixin ListOptions format) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode m : cli.migration().get("/migrations").path("migrations")) {
            List<String> instances = new ArrayList<>();
            m.path("instances").forEach(i -> instances.add(i.asText()));
            rows.add(List.of(m.path("id"), m.path("status"), String.join("\n", instances), m.path("notes"), m.path("created_at")));
        }
        cli.list(format, List.of("ID", "Status", "Instances", "Notes", "Created"), rows);
    }

    @Command(name = "show", description = "Show a migration with its tasks and their progress.")
    void show(@Mixin ShowOptions format,
            @Option(names = "--show-instances-data", description = "Include what the tasks learnt and created per instance.") boolean info,
            @Parameters(paramLabel = "<migration>", description = "Migration ID.") String migration) {
        cli.show(format, fields(cli.migration().get("/migrations/" + migration).path("migration"), info));
    }

    static Map<String, Object> fields(JsonNode migration, boolean info) {
        Map<String, Object> fields = Transfers.fields(migration, info ? Set.of("executions", "tasks") : Set.of("executions", "tasks", "info"));
        fields.put("tasks", Transfers.tasksText(migration.path("tasks")));
        return fields;
    }

    @Command(name = "create", description = "Migrate instances: copy their disks, optionally shut them down, deploy them.")
    void create(@Mixin ShowOptions format, @Mixin WaitOptions wait, @Mixin TransferOptions options,
            @Option(names = "--shutdown-instances", description = "Shut the sources down and copy their last changes before deploying.")
            boolean shutdown,
            @Option(names = "--skip-os-morphing", description = "Deploy the disks as copied, without adapting the guest OS to the destination.")
            boolean skipOsMorphing,
            @Option(names = "--replication-count", paramLabel = "<n>", description = "Copies to make before deploying (1 to 10; each copies "
                    + "what changed since the one before, the last after the shutdown with --shutdown-instances). Default: 1, or 2 with "
                    + "--shutdown-instances.") Integer replicationCount) {
        ObjectNode body = options.body(transfers);
        body.put("shutdown_instances", shutdown);
        body.put("skip_os_morphing", skipOsMorphing);
        if (replicationCount != null) {
            body.put("replication_count", replicationCount);
        }
        finish(format, wait, cli.migration().post("/migrations", EndpointCommand.wrap("migration", body)).path("migration"));
    }

    private void finish(ShowOptions format, WaitOptions wait, JsonNode migration) {
        if (wait.enabled()) {
            String id = migration.path("id").asText();
            migration = transfers.await("/migrations/" + id, "migration", "Migration " + id, wait.timeout());
        }
        cli.show(format, fields(migration, false));
    }

    @Command(name = "cancel", description = "Cancel a running migration; what it deployed is removed.")
    void cancel(@Option(names = "--force", description = "Cancel even if the running task cannot stop cleanly.") boolean force,
            @Parameters(paramLabel = "<migration>", arity = "1..*", description = "Migration ID(s).") List<String> migrations) {
        for (String migration : migrations) {
            ObjectNode body = Json.object();
            body.putObject("cancel").put("force", force);
            cli.migration().post("/migrations/" + migration + "/actions", body);
        }
    }

    @Command(name = "delete", description = "Delete migrations that are not running.")
    void delete(@Parameters(paramLabel = "<migration>", arity = "1..*", description = "Migration ID(s).") List<String> migrations) {
        Deletion.each(migrations, "migrations", cli.terminal().err(), m -> cli.migration().delete("/migrations/" + m));
    }

    @Command(name = "deploy", description = "Deploy from a replica.")
    static final class Deploy {
        private final Cli cli;

        Deploy(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "replica", description = "Deploy a replica's latest copy as running instances.")
        void replica(@Mixin ShowOptions format, @Mixin WaitOptions wait,
                @Option(names = "--force", description = "Deploy even if no execution of the replica ever completed (its disks may be partial).")
                boolean force,
                @Option(names = "--dont-clone-disks", description = "Use the replica's disks themselves instead of copies.") boolean dontClone,
                @Option(names = "--skip-os-morphing", description = "Deploy the disks as replicated, without adapting the guest OS to the "
                        + "destination.") boolean skipOsMorphing,
                @Option(names = "--destination-environment", paramLabel = "<json>", description = "Overrides of the replica's destination "
                        + "environment (JSON or @file), e.g. {\"instance_name\": \"web-2\"}.") String environment,
                @Option(names = "--instance", paramLabel = "<instance>", description = "Deploy only these instances (repeat).") List<String> instances,
                @Mixin MorphingOptions morphing,
                @Parameters(paramLabel = "<replica>", description = "Replica ID.") String replica) {
            ObjectNode body = Json.object();
            body.put("replica_id", replica);
            body.put("clone_disks", !dontClone);
            if (force) {
                body.put("force", true);
            }
            body.put("skip_os_morphing", skipOsMorphing);
            ObjectNode env = Transfers.jsonObject("--destination-environment", environment);
            if (env != null) {
                body.set("destination_environment", env);
            }
            if (instances != null) {
                instances.forEach(body.putArray("instances")::add);
            }
            // Given, they replace the replica's for this deployment; else the replica's apply.
            morphing.addTo(body, false);
            new MigrationCommand(cli).finish(format, wait, cli.migration().post("/migrations", EndpointCommand.wrap("migration", body)).path("migration"));
        }
    }
}
