package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.output.Cell;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code strata catalog list|show}: the service catalog that came with the token. */
@Command(name = "catalog", description = "The service catalog (Identity).")
final class CatalogCommand {
    private final Cli cli;

    CatalogCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "list", description = "List services and their endpoints.")
    void list(@Mixin ListOptions format) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode service : cli.session().token().body().path("catalog")) {
            rows.add(List.of(service.path("name").asText(""), service.path("type").asText(), endpoints(service.path("endpoints"))));
        }
        cli.list(format, List.of("Name", "Type", "Endpoints"), rows);
    }

    @Command(name = "show", description = "Show one service of the catalog.")
    void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<service>", description = "Service type or name.") String wanted) {
        for (JsonNode service : cli.session().token().body().path("catalog")) {
            if (service.path("type").asText().equals(wanted) || service.path("name").asText().equals(wanted)) {
                Map<String, Object> fields = new TreeMap<>();
                service.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
                fields.put("endpoints", endpoints(service.path("endpoints")));
                cli.show(format, fields);
                return;
            }
        }
        throw new io.strata.cli.client.CliException("Service '" + wanted + "' is not in the catalog");
    }

    /** "RegionOne\n  public: URL\n" per endpoint, trailing newline included (the openstack client's EndpointsColumn). */
    private static Cell endpoints(JsonNode endpoints) {
        StringBuilder text = new StringBuilder();
        for (JsonNode endpoint : endpoints) {
            String region = endpoint.hasNonNull("region_id") ? endpoint.path("region_id").asText()
                    : endpoint.path("region").asText("<none>");
            text.append(region).append('\n').append("  ").append(endpoint.path("interface").asText()).append(": ")
                    .append(endpoint.path("url").asText()).append('\n');
        }
        return new Cell(endpoints, text.toString());
    }
}
