package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.client.Response;
import io.strata.cli.client.ServiceClient;
import io.strata.cli.output.Cell;
import io.strata.cli.output.Columns;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * How servers read, as the openstack client prepares them (_prep_server_detail and server
 * list): image and flavor by name, addresses per network, power state in words, metadata as
 * "properties", fields sorted.
 */
final class ServerView {
    /** What the openstack client shows for a server without an image. */
    static final String BOOTED_FROM_VOLUME = "N/A (booted from volume)";
    private static final String[] POWER_STATES = {"NOSTATE", "Running", "", "Paused", "Shutdown", "", "Crashed", "Suspended"};

    static final List<String> LIST_COLUMNS = List.of("ID", "Name", "Status", "Networks", "Image", "Flavor");
    static final List<String> LONG_COLUMNS = List.of("ID", "Name", "Status", "Task State", "Power State", "Networks", "Image Name",
            "Image ID", "Flavor", "Availability Zone", "Host", "Properties", "Host Status");

    private final ServiceClient images;
    private final Map<String, String> imageNames = new HashMap<>();

    ServerView(ServiceClient images) {
        this.images = requireNonNull(images, "images is null");
    }

    /** The fields of {@code server show}. */
    Map<String, Object> detail(JsonNode server) {
        Map<String, Object> fields = new TreeMap<>();
        server.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
        fields.remove("links");
        String imageId = imageId(server);
        fields.put("image", imageId == null ? BOOTED_FROM_VOLUME : imageName(imageId).map(n -> n + " (" + imageId + ")").orElse(imageId));
        JsonNode flavor = server.path("flavor");
        fields.put("flavor", flavor.has("id") ? flavor.path("id").asText() : Columns.dict(flavor));
        if (fields.containsKey("os-extended-volumes:volumes_attached")) {
            fields.put("volumes_attached", Columns.listOfDicts(fields.remove("os-extended-volumes:volumes_attached")));
        }
        if (fields.containsKey("security_groups")) {
            fields.put("security_groups", Columns.listOfDicts(fields.get("security_groups")));
        }
        if (fields.containsKey("tags")) {
            fields.put("tags", Columns.list(fields.get("tags")));
        }
        fields.put("addresses", addresses(server));
        fields.put("properties", Columns.dict(fields.remove("metadata")));
        if (fields.containsKey("tenant_id")) {
            fields.put("project_id", fields.remove("tenant_id"));
        }
        if (server.has("OS-EXT-STS:power_state")) {
            fields.put("OS-EXT-STS:power_state", powerState(server.path("OS-EXT-STS:power_state")));
        }
        return fields;
    }

    /** A row of {@code server list}, short or --long. */
    List<Object> row(JsonNode server, boolean longFormat) {
        String imageId = imageId(server);
        String imageName = imageId == null ? BOOTED_FROM_VOLUME : imageName(imageId).orElse("");
        JsonNode flavor = server.path("flavor");
        String flavorName = flavor.has("original_name") ? flavor.path("original_name").asText() : flavor.path("id").asText("");
        List<Object> row = new ArrayList<>();
        row.add(server.path("id").asText());
        row.add(server.path("name").asText());
        row.add(server.path("status").asText());
        if (longFormat) {
            row.add(server.get("OS-EXT-STS:task_state"));
            row.add(powerState(server.path("OS-EXT-STS:power_state")));
        }
        row.add(addresses(server));
        if (longFormat) {
            row.add(imageName);
            row.add(imageId == null ? BOOTED_FROM_VOLUME : imageId);
            row.add(flavorName);
            row.add(server.get("OS-EXT-AZ:availability_zone"));
            row.add(server.get("OS-EXT-SRV-ATTR:host"));
            row.add(Columns.dict(server.path("metadata")));
            row.add(server.has("host_status") ? server.get("host_status") : "");
        } else {
            row.add(imageName);
            row.add(flavorName);
        }
        return row;
    }

    /** {@code net=ip, ip; net2=ip} for people, {@code {"net": ["ip"]}} for scripts. */
    static Cell addresses(JsonNode server) {
        Map<String, List<String>> networks = new LinkedHashMap<>();
        server.path("addresses").properties().forEach(e -> {
            List<String> ips = new ArrayList<>();
            e.getValue().forEach(address -> {
                if (address.has("addr")) {
                    ips.add(address.path("addr").asText());
                }
            });
            networks.put(e.getKey(), ips);
        });
        return Columns.dictOfLists(networks);
    }

    static Cell powerState(JsonNode code) {
        int state = code.asInt(-1);
        String name = code.isIntegralNumber() && state >= 0 && state < POWER_STATES.length ? POWER_STATES[state] : "N/A";
        return new Cell(code, name);
    }

    private static String imageId(JsonNode server) {
        JsonNode image = server.path("image");
        return image.isObject() && image.hasNonNull("id") ? image.path("id").asText() : null;
    }

    /** An image's name, looked up once per image (an image we may not see has none). */
    private Optional<String> imageName(String id) {
        String name = imageNames.computeIfAbsent(id, key -> {
            Response response = images.tryGet("/images/" + Finder.encode(key));
            return response.status() == 200 ? response.json().path("name").asText("") : "";
        });
        return name.isEmpty() ? Optional.empty() : Optional.of(name);
    }
}
