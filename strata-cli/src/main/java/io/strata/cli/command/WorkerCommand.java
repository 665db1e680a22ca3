package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata worker …}: the migration worker services (coriolis service …). */
@Command(name = "worker", description = "Migration worker services (admin to change).")
final class WorkerCommand {
    private final Cli cli;

    WorkerCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "list", description = "List worker services.")
    void list(@Mixin ListOptions format) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode s : cli.migration().get("/services").path("services")) {
            rows.add(List.of(s.path("id"), s.path("host"), s.path("binary"), s.path("topic"), s.path("enabled"), s.path("status"),
                    s.path("last_seen_at")));
        }
        cli.list(format, List.of("ID", "Host", "Binary", "Topic", "Enabled", "Status", "Last Seen"), rows);
    }

    @Command(name = "show", description = "Show a worker service.")
    void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<worker>", description = "Worker ID.") String worker) {
        cli.show(format, Transfers.fields(cli.migration().get("/services/" + worker).path("service"), Set.of()));
    }

    static final class Enabling {
        @Option(names = "--enable", description = "Take new executions again.")
        boolean enable;

        @Option(names = "--disable", description = "Take no new executions (maintenance).")
        boolean disable;
    }

    @Command(name = "update", description = "Enable or disable a worker, or map it to regions.")
    void update(@Mixin ShowOptions format, @ArgGroup(exclusive = true) Enabling enabling,
            @Option(names = "--region", paramLabel = "<region>", description = "Regions to map (replaces the mapping; repeat).") List<String> regions,
            @Option(names = "--no-regions", description = "Map it to no region (it then serves every region).") boolean noRegions,
            @Parameters(paramLabel = "<worker>", description = "Worker ID.") String worker) {
        ObjectNode body = Json.object();
        if (enabling != null) {
            body.put("enabled", enabling.enable);
        }
        if (regions != null || noRegions) {
            ArrayNode ids = body.putArray("mapped_regions");
            if (regions != null) {
                Transfers transfers = new Transfers(cli);
                regions.forEach(r -> ids.add(transfers.region(r).path("id").asText()));
            }
        }
        cli.show(format, Transfers.fields(cli.migration().put("/services/" + worker, EndpointCommand.wrap("service", body)).path("service"), Set.of()));
    }

    @Command(name = "delete", description = "Remove worker records (a running controller registers again on its next start).")
    void delete(@Parameters(paramLabel = "<worker>", arity = "1..*", description = "Worker ID(s).") List<String> workers) {
        Deletion.each(workers, "workers", cli.terminal().err(), w -> cli.migration().delete("/services/" + w));
    }
}
