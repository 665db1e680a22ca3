package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CloudClient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata flavor …}. */
@Command(name = "flavor", description = "Flavors (Compute).", mixinStandardHelpOptions = true)
final class FlavorCommand {
    @Command(name = "list", description = "List flavors.")
    int list(@Mixin ClientOptions o, @Option(names = "--all", description = "Public and private flavors.") boolean all,
            @Option(names = "--private", description = "Only private flavors.") boolean onlyPrivate) {
        JsonNode flavors = o.client().get("compute", "/flavors/detail" + (all ? "?is_public=none" : onlyPrivate ? "?is_public=false" : ""))
                .path("flavors");
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode f : flavors) {
            rows.add(List.of(f.path("id").asText(), f.path("name").asText(), f.path("ram").asInt(), f.path("disk").asInt(),
                    f.path("OS-FLV-EXT-DATA:ephemeral").asInt(), f.path("vcpus").asInt(), f.path("os-flavor-access:is_public").asBoolean()));
        }
        o.output().list(List.of("ID", "Name", "RAM", "Disk", "Ephemeral", "VCPUs", "Is Public"), rows);
        return 0;
    }

    @Command(name = "show", description = "Show a flavor.")
    int show(@Mixin ClientOptions o, @Parameters(paramLabel = "<flavor>") String flavor) {
        CloudClient c = o.client();
        print(o, c, Resolve.flavor(c, flavor));
        return 0;
    }

    @Command(name = "create", description = "Create a flavor (admin).")
    int create(@Mixin ClientOptions o, @Option(names = "--id", description = "Flavor id (default: auto).") String id,
            @Option(names = "--ram", defaultValue = "256", description = "Memory in MB.") int ram,
            @Option(names = "--disk", defaultValue = "0", description = "Root disk in GB.") int disk,
            @Option(names = "--ephemeral", defaultValue = "0") int ephemeral,
            @Option(names = "--swap", defaultValue = "0") int swap,
            @Option(names = "--vcpus", defaultValue = "1") int vcpus,
            @Option(names = "--rxtx-factor", defaultValue = "1.0") double rxtx,
            @Option(names = "--public", defaultValue = "true", negatable = true, description = "Everybody may use it (--no-public).") boolean isPublic,
            @Option(names = "--private", description = "Only projects given access.") boolean isPrivate,
            @Option(names = "--property", description = "key=value extra spec (repeatable).") Map<String, String> properties,
            @Parameters(paramLabel = "<flavor-name>") String name) {
        CloudClient c = o.client();
        ObjectNode f = CloudClient.object();
        f.put("name", name);
        if (id != null) {
            f.put("id", id);
        }
        f.put("ram", ram);
        f.put("disk", disk);
        f.put("vcpus", vcpus);
        f.put("OS-FLV-EXT-DATA:ephemeral", ephemeral);
        f.put("swap", swap);
        f.put("rxtx_factor", rxtx);
        f.put("os-flavor-access:is_public", isPublic && !isPrivate);
        ObjectNode body = CloudClient.object();
        body.set("flavor", f);
        JsonNode created = c.post("compute", "/flavors", body).path("flavor");
        if (properties != null) {
            setSpecs(c, created.path("id").asText(), properties);
        }
        print(o, c, c.get("compute", "/flavors/" + created.path("id").asText()).path("flavor"));
        return 0;
    }

    @Command(name = "set", description = "Set extra specs of a flavor (admin).")
    int set(@Mixin ClientOptions o, @Option(names = "--property", required = true, description = "key=value (repeatable).")
            Map<String, String> properties, @Parameters(paramLabel = "<flavor>") String flavor) {
        CloudClient c = o.client();
        setSpecs(c, Resolve.flavor(c, flavor).path("id").asText(), properties);
        return 0;
    }

    @Command(name = "delete", description = "Delete flavors (admin).")
    int delete(@Mixin ClientOptions o, @Parameters(paramLabel = "<flavor>", arity = "1..*") List<String> flavors) {
        CloudClient c = o.client();
        for (String flavor : flavors) {
            c.delete("compute", "/flavors/" + CloudClient.encode(Resolve.flavor(c, flavor).path("id").asText()));
        }
        return 0;
    }

    private static void setSpecs(CloudClient c, String id, Map<String, String> specs) {
        ObjectNode body = CloudClient.object();
        ObjectNode extra = body.putObject("extra_specs");
        specs.forEach(extra::put);
        c.post("compute", "/flavors/" + CloudClient.encode(id) + "/os-extra_specs", body);
    }

    private static void print(ClientOptions o, CloudClient c, JsonNode f) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("OS-FLV-DISABLED:disabled", f.path("OS-FLV-DISABLED:disabled").asBoolean());
        fields.put("OS-FLV-EXT-DATA:ephemeral", f.path("OS-FLV-EXT-DATA:ephemeral").asInt());
        fields.put("disk", f.path("disk").asInt());
        fields.put("id", f.path("id").asText());
        fields.put("name", f.path("name").asText());
        fields.put("os-flavor-access:is_public", f.path("os-flavor-access:is_public").asBoolean());
        fields.put("properties", c.get("compute", "/flavors/" + CloudClient.encode(f.path("id").asText()) + "/os-extra_specs")
                .path("extra_specs"));
        fields.put("ram", f.path("ram").asInt());
        fields.put("rxtx_factor", f.path("rxtx_factor").asDouble());
        fields.put("swap", f.path("swap").asText());
        fields.put("vcpus", f.path("vcpus").asInt());
        o.output().show(fields);
    }
}
