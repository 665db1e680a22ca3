package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.output.Columns;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code strata network …} and {@code strata subnet …}: the Networking API's networks and subnets,
 * read-only as Strata serves them, in the openstack client's columns.
 */
final class NetworkCommand {
    private NetworkCommand() {}

    @Command(name = "network", description = "Networks (Networking).")
    static final class Networks {
        private final Cli cli;

        Networks(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List networks.")
        void list(@Mixin ListOptions format,
                @Option(names = "--name", paramLabel = "<name>", description = "Networks with this name only.") String name) {
            String query = "/networks" + (name == null ? "" : "?name=" + Finder.encode(name));
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode network : cli.session().network().get(query).path("networks")) {
                rows.add(List.of(network.path("id").asText(), network.path("name").asText(), Columns.list(network.path("subnets"))));
            }
            cli.list(format, List.of("ID", "Name", "Subnets"), rows);
        }

        @Command(name = "show", description = "Show a network.")
        void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<network>", description = "Network (name or ID).") String network) {
            cli.show(format, fields(cli.find().network(network)));
        }
    }

    @Command(name = "subnet", description = "Subnets (Networking).")
    static final class Subnets {
        private final Cli cli;

        Subnets(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "list", description = "List subnets.")
        void list(@Mixin ListOptions format,
                @Option(names = "--network", paramLabel = "<network>", description = "Subnets of this network (name or ID) only.")
                String network) {
            String query = "/subnets" + (network == null ? "" : "?network_id=" + Finder.encode(cli.find().network(network).path("id").asText()));
            List<List<Object>> rows = new ArrayList<>();
            for (JsonNode subnet : cli.session().network().get(query).path("subnets")) {
                rows.add(List.of(subnet.path("id").asText(), subnet.path("name").asText(), subnet.path("network_id").asText(),
                        subnet.path("cidr").asText()));
            }
            cli.list(format, List.of("ID", "Name", "Network", "Subnet"), rows);
        }

        @Command(name = "show", description = "Show a subnet.")
        void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<subnet>", description = "Subnet (name or ID).") String subnet) {
            cli.show(format, fields(cli.find().subnet(subnet)));
        }
    }

    /** Every attribute, sorted, formatted as the openstack client formats Neutron's (UP/DOWN, External/Internal, lists, dicts). */
    static Map<String, Object> fields(JsonNode resource) {
        Map<String, Object> fields = new TreeMap<>();
        resource.properties().forEach(e -> {
            JsonNode value = e.getValue();
            Object shown = switch (e.getKey()) {
                case "admin_state_up" -> value.asBoolean() ? "UP" : "DOWN";
                case "router:external" -> value.asBoolean() ? "External" : "Internal";
                default -> value.isArray() && !value.isEmpty() && value.get(0).isObject() ? Columns.listOfDicts(value)
                        : value.isArray() ? Columns.list(value) : value.isObject() ? Columns.dict(value) : value;
            };
            fields.put(e.getKey(), shown);
        });
        return fields;
    }
}
