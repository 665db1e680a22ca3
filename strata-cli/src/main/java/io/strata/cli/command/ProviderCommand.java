package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code strata provider list | schema list PLATFORM TYPE} (coriolis provider …). */
@Command(name = "provider", description = "Migration providers and their JSON schemas.", subcommands = ProviderCommand.Schema.class)
final class ProviderCommand {
    private final Cli cli;

    ProviderCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "list", description = "List providers and the types (operations) each supports.")
    void list(@Mixin ListOptions format) {
        List<List<Object>> rows = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> providers = cli.migration().get("/providers").path("providers").fields();
        while (providers.hasNext()) {
            Map.Entry<String, JsonNode> provider = providers.next();
            List<String> types = new ArrayList<>();
            provider.getValue().path("types").forEach(t -> types.add(t.asText()));
            rows.add(List.of(provider.getKey(), String.join(", ", types)));
        }
        cli.list(format, List.of("Name", "Types"), rows);
    }

    @Command(name = "schema", description = "Provider schemas.")
    static final class Schema {
        private final Cli cli;

        Schema(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "Show the schemas of a provider type (16: connection info, 1/4: destination "
                + "environment, 2/8: source environment).")
        void list(@Mixin ListOptions format,
                @Parameters(index = "0", paramLabel = "<platform>", description = "Provider, e.g. qemu-host, strata, openstack.") String platform,
                @Parameters(index = "1", paramLabel = "<type>", description = "Provider type number.") int type) {
            List<List<Object>> rows = new ArrayList<>();
            Iterator<Map.Entry<String, JsonNode>> schemas = cli.migration().get("/providers/" + Finder.encode(platform) + "/schemas/" + type)
                    .path("schemas").fields();
            while (schemas.hasNext()) {
                Map.Entry<String, JsonNode> schema = schemas.next();
                rows.add(List.of(schema.getKey(), schema.getValue()));
            }
            cli.list(format, List.of("Schema", "Value"), rows);
        }
    }
}
