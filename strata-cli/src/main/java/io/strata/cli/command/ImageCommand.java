package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata image …}: Glance images, as the openstack client shows them. */
@Command(name = "image", description = "Images (Image service).", mixinStandardHelpOptions = true)
final class ImageCommand {
    private static final Set<String> CORE = Set.of("id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
            "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format", "container_format",
            "created_at", "updated_at", "tags", "self", "file", "schema");

    @Command(name = "list", description = "List images.")
    int list(@Mixin ClientOptions o, @Option(names = "--public") boolean isPublic, @Option(names = "--private") boolean isPrivate,
            @Option(names = "--shared") boolean shared, @Option(names = "--name") String name, @Option(names = "--long") boolean longFormat) {
        CloudClient c = o.client();
        String query = "/images?limit=1000" + (name == null ? "" : "&name=" + CloudClient.encode(name))
                + (isPublic ? "&visibility=public" : isPrivate ? "&visibility=private" : shared ? "&visibility=shared" : "");
        List<List<Object>> rows = new ArrayList<>();
        String next = query;
        while (next != null) {
            JsonNode page = c.get("image", next);
            for (JsonNode i : page.path("images")) {
                List<Object> row = new ArrayList<>(List.of(i.path("id").asText(), i.path("name").asText(""), i.path("status").asText()));
                if (longFormat) {
                    row.addAll(List.of(i.path("disk_format").asText(""), i.path("container_format").asText(""),
                            i.path("size").isNumber() ? (Object) i.path("size").asLong() : "", i.path("checksum").asText(""),
                            i.path("visibility").asText()));
                }
                rows.add(row);
            }
            next = page.has("next") ? page.path("next").asText().replaceFirst("^/v2", "") : null;
        }
        List<String> header = new ArrayList<>(List.of("ID", "Name", "Status"));
        if (longFormat) {
            header.addAll(List.of("Disk Format", "Container Format", "Size", "Checksum", "Visibility"));
        }
        o.output().list(header, rows);
        return 0;
    }

    @Command(name = "show", description = "Show an image.")
    int show(@Mixin ClientOptions o, @Parameters(paramLabel = "<image>") String image) {
        print(o, Resolve.image(o.client(), image));
        return 0;
    }

    @Command(name = "create", description = "Create an image, optionally uploading its data.")
    int create(@Mixin ClientOptions o,
            @Option(names = "--file", description = "Upload this file as the image's data.") Path file,
            @Option(names = "--disk-format", defaultValue = "raw") String diskFormat,
            @Option(names = "--container-format", defaultValue = "bare") String containerFormat,
            @Option(names = "--min-disk") Integer minDisk,
            @Option(names = "--min-ram") Integer minRam,
            @Option(names = "--public") boolean isPublic,
            @Option(names = "--private") boolean isPrivate,
            @Option(names = "--shared") boolean shared,
            @Option(names = "--community") boolean community,
            @Option(names = "--protected") boolean isProtected,
            @Option(names = "--property", description = "key=value (repeatable).") Map<String, String> properties,
            @Option(names = "--tag", description = "Tag (repeatable).") List<String> tags,
            @Parameters(paramLabel = "<image-name>") String name) {
        CloudClient c = o.client();
        if (file != null && !Files.isRegularFile(file)) {
            throw new CloudException(0, "No such file: " + file);
        }
        ObjectNode body = CloudClient.object();
        body.put("name", name);
        body.put("disk_format", diskFormat);
        body.put("container_format", containerFormat);
        if (minDisk != null) {
            body.put("min_disk", minDisk);
        }
        if (minRam != null) {
            body.put("min_ram", minRam);
        }
        String visibility = isPublic ? "public" : isPrivate ? "private" : shared ? "shared" : community ? "community" : null;
        if (visibility != null) {
            body.put("visibility", visibility);
        }
        if (isProtected) {
            body.put("protected", true);
        }
        if (properties != null) {
            properties.forEach(body::put);
        }
        if (tags != null) {
            ArrayNode array = body.putArray("tags");
            tags.forEach(array::add);
        }
        JsonNode image = c.post("image", "/images", body);
        if (file != null) {
            c.upload("/images/" + image.path("id").asText() + "/file", file);
            image = c.get("image", "/images/" + image.path("id").asText());
        }
        print(o, image);
        return 0;
    }

    @Command(name = "save", description = "Download an image's data.")
    int save(@Mixin ClientOptions o, @Option(names = "--file", required = true, description = "Where to write it.") Path file,
            @Parameters(paramLabel = "<image>") String image) throws IOException {
        CloudClient c = o.client();
        String id = Resolve.image(c, image).path("id").asText();
        Path tmp = file.resolveSibling(file.getFileName() + ".part");
        try (InputStream in = c.download("/images/" + id + "/file")) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        return 0;
    }

    @Command(name = "set", description = "Change an image.")
    int set(@Mixin ClientOptions o, @Option(names = "--name") String name,
            @Option(names = "--property", description = "key=value (repeatable).") Map<String, String> properties,
            @Option(names = "--tag", description = "Add a tag (repeatable).") List<String> tags,
            @Option(names = "--public") boolean isPublic, @Option(names = "--private") boolean isPrivate,
            @Option(names = "--shared") boolean shared, @Option(names = "--protected") boolean isProtected,
            @Option(names = "--unprotected") boolean unprotected, @Option(names = "--min-disk") Integer minDisk,
            @Option(names = "--min-ram") Integer minRam, @Parameters(paramLabel = "<image>") String image) {
        CloudClient c = o.client();
        JsonNode current = Resolve.image(c, image);
        ArrayNode ops = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        if (name != null) {
            ops.addObject().put("op", "replace").put("path", "/name").put("value", name);
        }
        String visibility = isPublic ? "public" : isPrivate ? "private" : shared ? "shared" : null;
        if (visibility != null) {
            ops.addObject().put("op", "replace").put("path", "/visibility").put("value", visibility);
        }
        if (isProtected || unprotected) {
            ops.addObject().put("op", "replace").put("path", "/protected").put("value", isProtected);
        }
        if (minDisk != null) {
            ops.addObject().put("op", "replace").put("path", "/min_disk").put("value", minDisk);
        }
        if (minRam != null) {
            ops.addObject().put("op", "replace").put("path", "/min_ram").put("value", minRam);
        }
        if (properties != null) {
            properties.forEach((k, v) -> ops.addObject().put("op", "add").put("path", "/" + k.replace("~", "~0").replace("/", "~1"))
                    .put("value", v));
        }
        if (tags != null) {
            tags.forEach(t -> ops.addObject().put("op", "add").put("path", "/tags/-").put("value", t));
        }
        if (!ops.isEmpty()) {
            c.patch("image", "/images/" + current.path("id").asText(), ops, "application/openstack-images-v2.1-json-patch");
        }
        return 0;
    }

    @Command(name = "delete", description = "Delete images.")
    int delete(@Mixin ClientOptions o, @Parameters(paramLabel = "<image>", arity = "1..*") List<String> images) {
        CloudClient c = o.client();
        for (String image : images) {
            c.delete("image", "/images/" + Resolve.image(c, image).path("id").asText());
        }
        return 0;
    }

    static void print(ClientOptions o, JsonNode image) {
        Map<String, Object> fields = new TreeMap<>();
        Map<String, Object> properties = new LinkedHashMap<>();
        image.fields().forEachRemaining(e -> {
            if (CORE.contains(e.getKey())) {
                if (!Set.of("self", "schema").contains(e.getKey())) {
                    fields.put(e.getKey(), e.getValue());
                }
            } else {
                properties.put(e.getKey(), e.getValue().asText());
            }
        });
        fields.put("properties", properties);
        fields.put("tags", String.join(", ", iterable(image.path("tags"))));
        o.output().show(fields);
    }

    private static List<String> iterable(JsonNode array) {
        List<String> items = new ArrayList<>();
        array.forEach(n -> items.add(n.asText()));
        return items;
    }
}
