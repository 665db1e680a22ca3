package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.strata.cli.client.Json;
import io.strata.cli.client.Response;
import io.strata.cli.output.Columns;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata hypervisor list|show|stats show} (admin). */
@Command(name = "hypervisor", description = "Hypervisors (Compute, admin).",
        subcommands = HypervisorCommand.Stats.class)
final class HypervisorCommand {
    private static final Pattern UPTIME = Pattern.compile("\\s*(.+)\\sup\\s+(.+),\\s+(.+)\\susers?,\\s+load average:\\s(.+)");

    private final Cli cli;

    HypervisorCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "list", description = "List hypervisors.")
    void list(@Mixin ListOptions format,
            @Option(names = "--matching", paramLabel = "<hostname>",
                    description = "Hypervisors whose host name contains this.") String matching,
            @Option(names = "--long", description = "More columns.") boolean longFormat) {
        JsonNode hypervisors;
        if (matching != null) {
            // The search answer lacks details; fetch each match.
            Response found = cli.compute().tryGet("/os-hypervisors/" + Finder.encode(matching) + "/search");
            ArrayNode matches = Json.array();
            if (found.status() != 404) {
                for (JsonNode match : found.orThrow().json().path("hypervisors")) {
                    matches.add(cli.compute().get("/os-hypervisors/" + match.path("id").asText()).path("hypervisor"));
                }
            }
            hypervisors = matches;
        } else {
            hypervisors = cli.compute().get("/os-hypervisors/detail").path("hypervisors");
        }
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode h : hypervisors) {
            List<Object> row = new ArrayList<>(List.of(h.path("id"), h.path("hypervisor_hostname"), h.path("hypervisor_type"),
                    h.path("host_ip"), h.path("state")));
            if (longFormat) {
                row.addAll(List.of(h.path("vcpus_used"), h.path("vcpus"), h.path("memory_mb_used"), h.path("memory_mb")));
            }
            rows.add(row);
        }
        List<String> header = new ArrayList<>(List.of("ID", "Hypervisor Hostname", "Hypervisor Type", "Host IP", "State"));
        if (longFormat) {
            header.addAll(List.of("vCPUs Used", "vCPUs", "Memory MB Used", "Memory MB"));
        }
        cli.list(format, header, rows);
    }

    @Command(name = "show", description = "Show a hypervisor.")
    void show(@Mixin ShowOptions format,
              @Parameters(paramLabel = "<hypervisor>", description = "Hypervisor (host name or ID).") String hypervisor) {
        JsonNode found = cli.find().hypervisor(hypervisor);
        Map<String, Object> fields = new TreeMap<>();
        found.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
        fields.remove("service");
        fields.put("service_id", found.at("/service/id"));
        fields.put("service_host", found.at("/service/host"));
        JsonNode cpuInfo = found.path("cpu_info");
        fields.put("cpu_info", Columns.dict(cpuInfo.isTextual() && !cpuInfo.asText().isEmpty() ? Json.parse(cpuInfo.asText()) : cpuInfo));
        fields.put("aggregates", aggregates(found.at("/service/host").asText()));
        // Optional extras the cloud may not implement: leave them out rather than fail.
        Response uptime = cli.compute().tryGet("/os-hypervisors/" + found.path("id").asText() + "/uptime");
        if (uptime.status() == 200) {
            Matcher m = UPTIME.matcher(uptime.json().at("/hypervisor/uptime").asText(""));
            if (m.matches()) {
                fields.put("host_time", m.group(1));
                fields.put("uptime", m.group(2));
                fields.put("users", m.group(3));
                fields.put("load_average", m.group(4));
            }
        }
        cli.show(format, fields);
    }

    /** Names of the host aggregates the host is in; none when the cloud has no aggregates API. */
    private List<String> aggregates(String host) {
        List<String> names = new ArrayList<>();
        Response response = cli.compute().tryGet("/os-aggregates");
        if (response.status() == 200) {
            for (JsonNode aggregate : response.json().path("aggregates")) {
                aggregate.path("hosts").forEach(h -> {
                    if (h.asText().equals(host)) {
                        names.add(aggregate.path("name").asText());
                    }
                });
            }
        }
        return names;
    }

    @Command(name = "stats", description = "Hypervisor statistics.")
    static final class Stats {
        private final Cli cli;

        Stats(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "show", description = "Totals over all hypervisors.")
        void show(@Mixin ShowOptions format) {
            Map<String, Object> fields = new TreeMap<>();
            cli.compute().get("/os-hypervisors/statistics").path("hypervisor_statistics").properties()
                    .forEach(e -> fields.put(e.getKey(), e.getValue()));
            cli.show(format, fields);
        }
    }
}
