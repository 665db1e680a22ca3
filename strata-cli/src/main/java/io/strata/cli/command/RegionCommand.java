package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
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

/** {@code strata region …} (coriolis region …): where endpoints and workers are. */
@Command(name = "region", description = "Migration regions (admin to change).")
final class RegionCommand {
    private final Cli cli;
    private final Transfers transfers;

    RegionCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
        this.transfers = new Transfers(cli);
    }

    @Command(name = "list", description = "List regions.")
    void list(@Mixin ListOptions format) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode r : cli.migration().get("/regions").path("regions")) {
            rows.add(List.of(r.path("id"), r.path("name"), r.path("description"), r.path("enabled")));
        }
        cli.list(format, List.of("ID", "Name", "Description", "Enabled"), rows);
    }

    @Command(name = "show", description = "Show a region with the endpoints and workers mapped to it.")
    void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<region>", description = "Region (name or ID).") String region) {
        String id = transfers.region(region).path("id").asText();
        cli.show(format, Transfers.fields(cli.migration().get("/regions/" + id).path("region"), Set.of()));
    }

    @Command(name = "create", description = "Create a region.")
    void create(@Mixin ShowOptions format,
            @Option(names = "--description", paramLabel = "<text>", description = "Description.") String description,
            @Option(names = "--disabled", description = "Create it disabled.") boolean disabled,
            @Parameters(paramLabel = "<name>", description = "Region name.") String name) {
        ObjectNode region = Json.object();
        region.put("name", name);
        Requests.putIfGiven(region, "description", description);
        region.put("enabled", !disabled);
        cli.show(format, Transfers.fields(cli.migration().post("/regions", EndpointCommand.wrap("region", region)).path("region"), Set.of()));
    }

    static final class Enabling {
        @Option(names = "--enabled", description = "Enable.")
        boolean enabled;

        @Option(names = "--disabled", description = "Disable.")
        boolean disabled;
    }

    @Command(name = "update", description = "Update a region.")
    void update(@Mixin ShowOptions format, @ArgGroup(exclusive = true) Enabling enabling,
            @Option(names = "--name", paramLabel = "<name>", description = "New name.") String name,
            @Option(names = "--description", paramLabel = "<text>", description = "New description.") String description,
            @Parameters(paramLabel = "<region>", description = "Region (name or ID).") String region) {
        String id = transfers.region(region).path("id").asText();
        ObjectNode body = Json.object();
        Requests.putIfGiven(body, "name", name);
        Requests.putIfGiven(body, "description", description);
        if (enabling != null) {
            body.put("enabled", enabling.enabled);
        }
        cli.show(format, Transfers.fields(cli.migration().put("/regions/" + id, EndpointCommand.wrap("region", body)).path("region"), Set.of()));
    }

    @Command(name = "delete", description = "Delete regions nothing is mapped to.")
    void delete(@Parameters(paramLabel = "<region>", arity = "1..*", description = "Region(s) (name or ID).") List<String> regions) {
        Deletion.each(regions, "regions", cli.terminal().err(), r -> cli.migration().delete("/regions/" + transfers.region(r).path("id").asText()));
    }
}
