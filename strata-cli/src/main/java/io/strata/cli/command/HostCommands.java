package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Operator nouns: hypervisor, service (also as "compute service", the openstack client's spelling). */
final class HostCommands {
    private HostCommands() {}

    @Command(name = "hypervisor", description = "Hypervisors (Compute, admin).", mixinStandardHelpOptions = true,
            subcommands = HypervisorStats.class)
    static final class Hypervisor {
        @Command(name = "list", description = "List hypervisors.")
        int list(@Mixin ClientOptions o, @Option(names = "--long") boolean longFormat) {
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode h : o.client().get("compute", "/os-hypervisors/detail").path("hypervisors")) {
                List<Object> row = new ArrayList<>(List.of(h.path("id").asInt(), h.path("hypervisor_hostname").asText(),
                        h.path("hypervisor_type").asText(), h.path("host_ip").asText(), h.path("state").asText()));
                if (longFormat) {
                    row.addAll(List.of(h.path("vcpus_used").asInt(), h.path("vcpus").asInt(), h.path("memory_mb_used").asLong(),
                            h.path("memory_mb").asLong(), h.path("cpu_info").path("accelerator").asText("")));
                }
                rows.add(row);
            }
            List<String> header = new ArrayList<>(List.of("ID", "Hypervisor Hostname", "Hypervisor Type", "Host IP", "State"));
            if (longFormat) {
                header.addAll(List.of("vCPUs Used", "vCPUs", "Memory MB Used", "Memory MB", "Accelerator"));
            }
            o.output().list(header, rows);
            return 0;
        }

        @Command(name = "show", description = "Show a hypervisor.")
        int show(@Mixin ClientOptions o, @Parameters(paramLabel = "<hypervisor>") String hypervisor) {
            CloudClient c = o.client();
            for (JsonNode h : c.get("compute", "/os-hypervisors/detail").path("hypervisors")) {
                if (h.path("id").asText().equals(hypervisor) || h.path("hypervisor_hostname").asText().equals(hypervisor)) {
                    Map<String, Object> fields = new TreeMap<>();
                    h.fields().forEachRemaining(e -> fields.put(e.getKey(), e.getValue()));
                    o.output().show(fields);
                    return 0;
                }
            }
            throw new CloudException(404, "No hypervisor with a name or ID of '" + hypervisor + "' exists.");
        }
    }

    @Command(name = "stats", description = "Hypervisor statistics.")
    static final class HypervisorStats {
        @Command(name = "show", description = "Totals over all hypervisors.")
        int show(@Mixin ClientOptions o) {
            Map<String, Object> fields = new TreeMap<>();
            o.client().get("compute", "/os-hypervisors/statistics").path("hypervisor_statistics").fields()
                    .forEachRemaining(e -> fields.put(e.getKey(), e.getValue()));
            o.output().show(fields);
            return 0;
        }
    }

    @Command(name = "service", description = "Compute services of the hosts (admin).", mixinStandardHelpOptions = true)
    static final class Service {
        @Command(name = "list", description = "List compute services.")
        int list(@Mixin ClientOptions o, @Option(names = "--host") String host, @Option(names = "--service") String binary,
                @Option(names = "--long") boolean longFormat) {
            StringBuilder query = new StringBuilder("/os-services?");
            if (host != null) {
                query.append("host=").append(CloudClient.encode(host)).append('&');
            }
            if (binary != null) {
                query.append("binary=").append(CloudClient.encode(binary));
            }
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode s : o.client().get("compute", query.toString()).path("services")) {
                List<Object> row = new ArrayList<>(List.of(s.path("id").asInt(), s.path("binary").asText(), s.path("host").asText(),
                        s.path("zone").asText(), s.path("status").asText(), s.path("state").asText(), s.path("updated_at").asText()));
                if (longFormat) {
                    row.add(s.path("disabled_reason").isNull() ? "None" : s.path("disabled_reason").asText());
                }
                rows.add(row);
            }
            List<String> header = new ArrayList<>(List.of("ID", "Binary", "Host", "Zone", "Status", "State", "Updated At"));
            if (longFormat) {
                header.add("Disabled Reason");
            }
            o.output().list(header, rows);
            return 0;
        }

        @Command(name = "set", description = "Enable or disable a host's compute service (a disabled host gets no new servers).")
        int set(@Mixin ClientOptions o, @Option(names = "--enable") boolean enable, @Option(names = "--disable") boolean disable,
                @Option(names = "--disable-reason") String reason, @Option(names = "--down", description = "Force the service down.")
                boolean down, @Option(names = "--up", description = "Unset forced down.") boolean up,
                @Parameters(index = "0", paramLabel = "<host>") String host,
                @Parameters(index = "1", paramLabel = "<service>", defaultValue = "nova-compute") String binary) {
            if (enable && disable) {
                throw new CloudException(0, "--enable and --disable are mutually exclusive");
            }
            CloudClient c = o.client();
            ObjectNode body = CloudClient.object();
            body.put("host", host);
            body.put("binary", binary);
            if (enable) {
                c.put("compute", "/os-services/enable", body);
            } else if (disable) {
                if (reason != null) {
                    body.put("disabled_reason", reason);
                    c.put("compute", "/os-services/disable-log-reason", body);
                } else {
                    c.put("compute", "/os-services/disable", body);
                }
            }
            if (down || up) {
                ObjectNode force = body.deepCopy();
                force.remove("disabled_reason");
                force.put("forced_down", down);
                c.put("compute", "/os-services/force-down", force);
            }
            return 0;
        }
    }

    @Command(name = "compute", description = "Compute (the openstack client's spelling: compute service list|set).",
            mixinStandardHelpOptions = true, subcommands = Service.class)
    static final class Compute {
    }
}
