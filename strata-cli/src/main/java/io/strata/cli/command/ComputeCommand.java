package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata compute service list|set}: the compute services of the hosts (admin). */
@Command(name = "compute", description = "Compute services (admin).",
        subcommands = ComputeCommand.Service.class)
final class ComputeCommand {
    @Command(name = "service", description = "Compute services of the hosts.")
    static final class Service {
        private final Cli cli;

        Service(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List compute services.")
        void list(@Mixin ListOptions format,
                @Option(names = "--host", paramLabel = "<host>", description = "Services on this host.") String host,
                @Option(names = "--service", paramLabel = "<service>", description = "Services with this binary, e.g. nova-compute.")
                String binary,
                @Option(names = "--long", description = "More columns.") boolean longFormat) {
            Map<String, String> query = new LinkedHashMap<>();
            Requests.putIfGiven(query, "host", host);
            Requests.putIfGiven(query, "binary", binary);
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode s : cli.compute().get("/os-services" + Requests.queryString(query)).path("services")) {
                List<Object> row = new ArrayList<>(List.of(s.path("id"), s.path("binary"), s.path("host"), s.path("zone"), s.path("status"),
                        s.path("state"), s.path("updated_at")));
                if (longFormat) {
                    row.add(s.path("disabled_reason"));
                    row.add(s.path("forced_down"));
                }
                rows.add(row);
            }
            List<String> header = new ArrayList<>(List.of("ID", "Binary", "Host", "Zone", "Status", "State", "Updated At"));
            if (longFormat) {
                header.addAll(List.of("Disabled Reason", "Forced Down"));
            }
            cli.list(format, header, rows);
        }

        static final class Enabling {
            @Option(names = "--enable", description = "Enable the service.")
            boolean enable;

            @Option(names = "--disable", description = "Disable the service: the scheduler places no new servers there.")
            boolean disable;
        }

        static final class Forcing {
            @Option(names = "--up", description = "Clear a forced down.")
            boolean up;

            @Option(names = "--down", description = "Force the service down (its host is known dead).")
            boolean down;
        }

        @Command(name = "set", description = "Enable, disable, or force down a compute service.")
        void set(@ArgGroup(exclusive = true) Enabling enabling, @ArgGroup(exclusive = true) Forcing forcing,
                @Option(names = "--disable-reason", paramLabel = "<reason>",
                        description = "Why it is disabled (with --disable).") String reason,
                @Parameters(index = "0", paramLabel = "<host>", description = "Host name.") String host,
                @Parameters(index = "1", paramLabel = "<service>", description = "Service binary, e.g. nova-compute.") String binary) {
            if (reason != null && (enabling == null || !enabling.disable)) {
                throw new CliException("Cannot specify option --disable-reason without --disable specified.");
            }
            ObjectNode body = Json.object();
            body.put("host", host);
            body.put("binary", binary);
            if (enabling != null && enabling.enable) {
                cli.compute().put("/os-services/enable", body);
            } else if (enabling != null) {
                if (reason != null) {
                    ObjectNode withReason = body.deepCopy();
                    withReason.put("disabled_reason", reason);
                    cli.compute().put("/os-services/disable-log-reason", withReason);
                } else {
                    cli.compute().put("/os-services/disable", body);
                }
            }
            if (forcing != null) {
                ObjectNode force = body.deepCopy();
                force.put("forced_down", forcing.down);
                cli.compute().put("/os-services/force-down", force);
            }
        }
    }
}
