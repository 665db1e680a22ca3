package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.Json;
import io.strata.cli.client.ServiceClient;
import io.strata.cli.output.Columns;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata flavor …}: flavors and their extra specs (shown as "properties"). */
@Command(name = "flavor", description = "Flavors (Compute).")
final class FlavorCommand {
    private final Cli cli;

    FlavorCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    static final class Which {
        @Option(names = "--public", description = "Public flavors only (default).")
        boolean publicOnly;

        @Option(names = "--private", description = "Private flavors only.")
        boolean privateOnly;

        @Option(names = "--all", description = "Public and private flavors.")
        boolean all;

        String isPublic() {
            return all ? "None" : privateOnly ? "False" : "True";
        }
    }

    @Command(name = "list", description = "List flavors.")
    void list(@Mixin ListOptions format, @ArgGroup(exclusive = true) Which which,
            @Option(names = "--min-disk", paramLabel = "<min-disk>", description = "Flavors with at least this disk (GB).") Integer minDisk,
            @Option(names = "--min-ram", paramLabel = "<min-ram>", description = "Flavors with at least this RAM (MB).") Integer minRam,
            @Option(names = "--long", description = "More columns.") boolean longFormat,
            @Option(names = "--limit", paramLabel = "<num-flavors>", description = "At most this many flavors.") Integer limit) {
        StringBuilder query = new StringBuilder("/flavors/detail?is_public=").append(which == null ? "True" : which.isPublic());
        if (minDisk != null) {
            query.append("&minDisk=").append(minDisk);
        }
        if (minRam != null) {
            query.append("&minRam=").append(minRam);
        }
        if (limit != null) {
            query.append("&limit=").append(limit);
        }
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode flavor : cli.compute().get(query.toString()).path("flavors")) {
            List<Object> row = new ArrayList<>(List.of(flavor.path("id").asText(), flavor.path("name").asText(), flavor.path("ram"),
                    flavor.path("disk"), flavor.path("OS-FLV-EXT-DATA:ephemeral"), flavor.path("vcpus"),
                    flavor.path("os-flavor-access:is_public")));
            if (longFormat) {
                row.add(flavor.path("swap"));
                row.add(flavor.path("rxtx_factor"));
                row.add(Columns.dict(extraSpecs(flavor)));
            }
            rows.add(row);
        }
        List<String> header = new ArrayList<>(List.of("ID", "Name", "RAM", "Disk", "Ephemeral", "VCPUs", "Is Public"));
        if (longFormat) {
            header.addAll(List.of("Swap", "RXTX Factor", "Properties"));
        }
        cli.list(format, header, rows);
    }

    @Command(name = "show", description = "Show a flavor.")
    void show(@Mixin ShowOptions format, @Parameters(paramLabel = "<flavor>", description = "Flavor (name or ID).") String flavor) {
        cli.show(format, fields(cli.find().flavor(flavor)));
    }

    @Command(name = "create", description = "Create a flavor (admin).")
    void create(@Mixin ShowOptions format,
            @Option(names = "--id", paramLabel = "<id>", description = "Flavor ID (default: generated).") String id,
            @Option(names = "--ram", paramLabel = "<size-mb>", defaultValue = "256", description = "Memory in MB (default 256).") int ram,
            @Option(names = "--disk", paramLabel = "<size-gb>", defaultValue = "0", description = "Root disk in GB (default 0).") int disk,
            @Option(names = "--ephemeral", paramLabel = "<size-gb>", defaultValue = "0", description = "Ephemeral disk in GB (default 0).")
            int ephemeral,
            @Option(names = "--swap", paramLabel = "<size-mb>", defaultValue = "0", description = "Swap in MB (default 0).") int swap,
            @Option(names = "--vcpus", paramLabel = "<vcpus>", defaultValue = "1", description = "Virtual CPUs (default 1).") int vcpus,
            @Option(names = "--rxtx-factor", paramLabel = "<factor>", defaultValue = "1.0", description = "RX/TX factor (default 1.0).")
            double rxtxFactor,
            @ArgGroup(exclusive = true) Access access,
            @Option(names = "--property", paramLabel = "<key=value>",
                    description = "Extra spec (repeat for several).") Map<String, String> properties,
            @Option(names = "--project", paramLabel = "<project>",
                    description = "Give this project access to a private flavor.") String project,
            @Parameters(paramLabel = "<flavor-name>", description = "Name of the new flavor.") String name) {
        ObjectNode flavor = Json.object();
        flavor.put("name", name);
        Requests.putIfGiven(flavor, "id", id);
        flavor.put("ram", ram);
        flavor.put("disk", disk);
        flavor.put("vcpus", vcpus);
        flavor.put("OS-FLV-EXT-DATA:ephemeral", ephemeral);
        flavor.put("swap", swap);
        flavor.put("rxtx_factor", rxtxFactor);
        flavor.put("os-flavor-access:is_public", access == null || !access.isPrivate);
        ObjectNode body = Json.object();
        body.set("flavor", flavor);
        ServiceClient compute = cli.compute();
        String created = compute.post("/flavors", body).path("flavor").path("id").asText();
        if (properties != null) {
            setSpecs(compute, created, properties);
        }
        if (project != null) {
            addAccess(created, project);
        }
        cli.show(format, fields(compute.get("/flavors/" + Finder.encode(created)).path("flavor")));
    }

    static final class Access {
        @Option(names = "--public", description = "Every project may use it (default).")
        boolean isPublic;

        @Option(names = "--private", description = "Only projects given access may use it.")
        boolean isPrivate;
    }

    @Command(name = "set", description = "Set a flavor's properties (extra specs) or access (admin).")
    void set(@Option(names = "--property", paramLabel = "<key=value>", description = "Extra spec to add or change (repeat for several).")
            Map<String, String> properties,
            @Option(names = "--no-property", description = "Remove every extra spec first.") boolean noProperty,
            @Option(names = "--project", paramLabel = "<project>", description = "Give this project access (name or ID).") String project,
            @Parameters(paramLabel = "<flavor>", description = "Flavor (name or ID).") String flavor) {
        ServiceClient compute = cli.compute();
        JsonNode found = cli.find().flavor(flavor);
        String id = found.path("id").asText();
        if (noProperty) {
            extraSpecs(found).fieldNames().forEachRemaining(key ->
                    compute.delete("/flavors/" + Finder.encode(id) + "/os-extra_specs/" + Finder.encode(key)));
        }
        if (properties != null) {
            setSpecs(compute, id, properties);
        }
        if (project != null) {
            addAccess(id, project);
        }
    }

    @Command(name = "delete", description = "Delete flavors (admin).")
    void delete(@Parameters(paramLabel = "<flavor>", arity = "1..*", description = "Flavor(s) to delete (name or ID).") List<String> flavors) {
        Deletion.each(flavors, "flavors", cli.terminal().err(),
                flavor -> cli.compute().delete("/flavors/" + Finder.encode(cli.find().flavor(flavor).path("id").asText())));
    }

    private void addAccess(String flavorId, String project) {
        ObjectNode body = Json.object();
        body.putObject("addTenantAccess").put("tenant", cli.find().project(project, null).path("id").asText());
        cli.compute().post("/flavors/" + Finder.encode(flavorId) + "/action", body);
    }

    private static void setSpecs(ServiceClient compute, String id, Map<String, String> specs) {
        ObjectNode body = Json.object();
        ObjectNode extra = body.putObject("extra_specs");
        specs.forEach(extra::put);
        compute.post("/flavors/" + Finder.encode(id) + "/os-extra_specs", body);
    }

    /** The extra specs: embedded since microversion 2.61, else one more call. */
    private JsonNode extraSpecs(JsonNode flavor) {
        if (flavor.has("extra_specs")) {
            return flavor.path("extra_specs");
        }
        return cli.compute().get("/flavors/" + Finder.encode(flavor.path("id").asText()) + "/os-extra_specs").path("extra_specs");
    }

    /** The openstack client's flavor fields, sorted; private flavors list the projects that may use them. */
    private Map<String, Object> fields(JsonNode flavor) {
        Map<String, Object> fields = new TreeMap<>();
        flavor.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
        fields.remove("links");
        fields.remove("extra_specs");
        fields.putIfAbsent("description", null);
        fields.putIfAbsent("OS-FLV-DISABLED:disabled", false);
        fields.put("properties", Columns.dict(extraSpecs(flavor)));
        Object projects = null;
        if (!flavor.path("os-flavor-access:is_public").asBoolean(true)) {
            List<String> ids = new ArrayList<>();
            cli.compute().get("/flavors/" + Finder.encode(flavor.path("id").asText()) + "/os-flavor-access").path("flavor_access")
                    .forEach(entry -> ids.add(entry.path("tenant_id").asText()));
            projects = ids;
        }
        fields.put("access_project_ids", projects);
        return fields;
    }
}
