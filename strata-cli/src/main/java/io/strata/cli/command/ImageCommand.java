package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import io.strata.cli.client.ServiceClient;
import io.strata.cli.output.Columns;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata image …}: Image service v2 images, shown as the openstack client shows them. */
@Command(name = "image", description = "Images (Image service).")
final class ImageCommand {
    /** The image attributes the openstack client shows as fields; everything else is a property. */
    private static final Set<String> FIELDS = Set.of("status", "name", "container_format", "created_at", "size", "disk_format",
            "updated_at", "visibility", "min_disk", "protected", "id", "file", "checksum", "owner", "virtual_size", "min_ram", "schema");
    private static final String JSON_PATCH = "application/openstack-images-v2.1-json-patch";

    private final Cli cli;

    ImageCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    /** Visibility flags, one at most. */
    static final class Visibility {
        @Option(names = "--public", description = "Everybody may use it.")
        boolean isPublic;

        @Option(names = "--private", description = "Only its project may use it.")
        boolean isPrivate;

        @Option(names = "--community", description = "Everybody may use it; it is not listed by default.")
        boolean community;

        @Option(names = "--shared", description = "Projects it is shared with may use it.")
        boolean shared;

        String value() {
            return isPublic ? "public" : isPrivate ? "private" : community ? "community" : shared ? "shared" : null;
        }
    }

    /** Protection flags, one at most. */
    static final class Protection {
        @Option(names = "--protected", description = "Refuse to delete it.")
        boolean isProtected;

        @Option(names = "--unprotected", description = "Allow deleting it (default).")
        boolean unprotected;
    }

    @Command(name = "list", description = "List images.")
    void list(@Mixin ListOptions format, @ArgGroup(exclusive = true) Visibility visibility,
            @Option(names = "--name", paramLabel = "<name>", description = "Images with this name.") String name,
            @Option(names = "--status", paramLabel = "<status>", description = "Images in this status.") String status,
            @Option(names = "--tag", paramLabel = "<tag>", description = "Images with this tag (repeat for several).") List<String> tags,
            @Option(names = "--property", paramLabel = "<key=value>",
                    description = "Images with this property.") Map<String, String> properties,
            @Option(names = "--long", description = "More columns.") boolean longFormat,
            @Option(names = "--sort", paramLabel = "<key>[:<direction>]", defaultValue = "name:asc",
                    description = "Sort by these attributes, asc or desc, comma-separated (default: name:asc).") String sort,
            @Option(names = "--limit", paramLabel = "<num-images>", description = "At most this many images.") Integer limit) {
        Map<String, String> query = new LinkedHashMap<>();
        Requests.putIfGiven(query, "name", name);
        Requests.putIfGiven(query, "status", status);
        Requests.putIfGiven(query, "visibility", visibility == null ? null : visibility.value());
        if (limit != null) {
            query.put("limit", limit.toString());
        }
        StringBuilder path = new StringBuilder("/images").append(Requests.queryString(query));
        if (tags != null) {
            tags.forEach(tag -> path.append(path.indexOf("?") < 0 ? '?' : '&').append("tag=").append(Finder.encode(tag)));
        }
        List<JsonNode> images = new ArrayList<>();
        String next = path.toString();
        while (next != null) {
            JsonNode page = cli.image().get(next);
            page.path("images").forEach(image -> {
                if (properties == null || properties.entrySet().stream().allMatch(p -> image.path(p.getKey()).asText("").equals(p.getValue()))) {
                    images.add(image);
                }
            });
            // Glance's next link is relative to the unversioned root: "/v2/images?marker=…".
            next = limit == null && page.hasNonNull("next") ? page.path("next").asText().replaceFirst("^/v2", "") : null;
        }
        // As the openstack client: sorted here, by name unless --sort says otherwise.
        images.sort(comparator(sort));
        List<List<Object>> rows = new ArrayList<>();
        images.forEach(image -> rows.add(row(image, longFormat)));
        cli.list(format, longFormat ? List.of("ID", "Name", "Disk Format", "Container Format", "Size", "Checksum", "Status",
                "Visibility", "Protected", "Project", "Tags") : List.of("ID", "Name", "Status"), rows);
    }

    /** osc_lib's sort_items: "key[:asc|desc],…", comparing values as text. */
    static Comparator<JsonNode> comparator(String sort) {
        Comparator<JsonNode> order = (a, b) -> 0;
        for (String part : sort.split(",")) {
            String[] keyAndDirection = part.strip().split(":", 2);
            String key = keyAndDirection[0];
            String direction = keyAndDirection.length > 1 ? keyAndDirection[1] : "asc";
            if (!direction.equals("asc") && !direction.equals("desc")) {
                throw new CliException("Specify the sort direction as 'asc' or 'desc', not '" + direction + "'");
            }
            Comparator<JsonNode> byKey = Comparator.comparing(image -> image.path(key).asText(""));
            order = order.thenComparing(direction.equals("desc") ? byKey.reversed() : byKey);
        }
        return order;
    }

    private static List<Object> row(JsonNode image, boolean longFormat) {
        if (!longFormat) {
            return List.of(image.path("id").asText(), image.path("name").asText(""), image.path("status").asText());
        }
        List<Object> row = new ArrayList<>();
        row.add(image.path("id").asText());
        row.add(image.path("name").asText(""));
        for (String field : List.of("disk_format", "container_format", "size", "checksum", "status", "visibility", "protected", "owner")) {
            row.add(image.get(field));
        }
        row.add(Columns.list(image.path("tags")));
        return row;
    }

    @Command(name = "show", description = "Show an image.")
    void show(@Mixin ShowOptions format,
            @Option(names = "--human-readable", description = "Size in KiB, MiB, GiB….") boolean humanReadable,
            @Parameters(paramLabel = "<image>", description = "Image (name or ID).") String image) {
        Map<String, Object> fields = fields(cli.find().image(image));
        if (humanReadable && fields.get("size") instanceof JsonNode size && size.isNumber()) {
            fields.put("size", humanSize(size.asLong()));
        }
        cli.show(format, fields);
    }

    @Command(name = "create", description = "Create an image, uploading its data from a file.")
    void create(@Mixin ShowOptions format,
            @Option(names = "--file", paramLabel = "<file>", description = "Upload this file as the image's data.") Path file,
            @Option(names = "--progress", description = "Show the upload's progress on stderr.") boolean showProgress,
            @Option(names = "--id", paramLabel = "<id>", description = "Image ID to reserve.") String id,
            @Option(names = "--disk-format", paramLabel = "<disk-format>", defaultValue = "raw",
                    description = "raw, qcow2, vmdk, vdi, iso… (default: raw).") String diskFormat,
            @Option(names = "--container-format", paramLabel = "<container-format>", defaultValue = "bare",
                    description = "bare, ovf, ova… (default: bare).") String containerFormat,
            @Option(names = "--min-disk", paramLabel = "<disk-gb>", description = "Minimum disk to boot it, in GB.") Integer minDisk,
            @Option(names = "--min-ram", paramLabel = "<ram-mb>", description = "Minimum RAM to boot it, in MB.") Integer minRam,
            @ArgGroup(exclusive = true) Visibility visibility, @ArgGroup(exclusive = true) Protection protection,
            @Option(names = "--property", paramLabel = "<key=value>",
                    description = "Property (repeat for several).") Map<String, String> properties,
            @Option(names = "--tag", paramLabel = "<tag>", description = "Tag (repeat for several).") List<String> tags,
            @Option(names = "--project", paramLabel = "<project>",
                    description = "Owner other than the current project (name or ID).") String project,
            @Parameters(paramLabel = "<image-name>", description = "Name of the new image.") String name) {
        if (file != null && !Files.isRegularFile(file)) {
            throw new CliException("Can't open '" + file + "': No such file or directory");
        }
        ObjectNode body = Json.object();
        body.put("name", name);
        Requests.putIfGiven(body, "id", id);
        body.put("disk_format", diskFormat);
        body.put("container_format", containerFormat);
        if (minDisk != null) {
            body.put("min_disk", minDisk);
        }
        if (minRam != null) {
            body.put("min_ram", minRam);
        }
        Requests.putIfGiven(body, "visibility", visibility == null ? null : visibility.value());
        if (protection != null) {
            body.put("protected", protection.isProtected);
        }
        if (project != null) {
            body.put("owner", cli.find().project(project, null).path("id").asText());
        }
        if (properties != null) {
            properties.forEach(body::put);
        }
        if (tags != null) {
            ArrayNode array = body.putArray("tags");
            tags.forEach(array::add);
        }
        ServiceClient images = cli.image();
        JsonNode image = images.post("/images", body);
        if (file != null) {
            String path = "/images/" + image.path("id").asText();
            upload(images, path + "/file", file, name, showProgress);
            image = images.get(path);
        }
        cli.show(format, fields(image));
    }

    private void upload(ServiceClient images, String path, Path file, String name, boolean showProgress) {
        if (!showProgress) {
            images.upload(path, file, null);
            return;
        }
        ProgressLine progress = new ProgressLine(cli.terminal());
        long size = file.toFile().length();
        long[] lastDrawn = {0};
        images.upload(path, file, sent -> {
            // Called for every buffer the HTTP client reads; redraw ten times a second at most.
            long now = System.nanoTime();
            if (now - lastDrawn[0] > 100_000_000L || sent == size) {
                lastDrawn[0] = now;
                progress.update("Uploading " + name + ": " + humanSize(sent) + " of " + humanSize(size),
                        size == 0 ? 100 : (int) (sent * 100 / size));
            }
        });
        progress.finish("Uploaded " + name + ": " + humanSize(size));
    }

    @Command(name = "save", description = "Download an image's data.")
    void save(@Option(names = "--file", paramLabel = "<filename>", description = "Where to save it (default: stdout).") Path file,
            @Parameters(paramLabel = "<image>", description = "Image (name or ID).") String image) {
        if (file == null && cli.terminal().outIsTerminal()) {
            // As the openstack client: image data on a screen helps nobody.
            throw new CliException("No redirection or local file specified for downloaded image data");
        }
        String id = cli.find().image(image).path("id").asText();
        try (InputStream in = cli.image().download("/images/" + id + "/file")) {
            if (file == null) {
                OutputStream out = cli.terminal().out();
                in.transferTo(out);
                out.flush();
                return;
            }
            // Write beside the target and move into place, so a failed download leaves no half file.
            Path partial = file.toAbsolutePath().resolveSibling(file.getFileName() + ".part");
            Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new CliException("Could not save image " + image + (file == null ? "" : " to " + file) + ": " + e.getMessage(), e);
        }
    }

    @Command(name = "set", description = "Change an image.")
    void set(@Option(names = "--name", paramLabel = "<name>", description = "New name.") String name,
            @Option(names = "--min-disk", paramLabel = "<disk-gb>", description = "Minimum disk to boot it, in GB.") Integer minDisk,
            @Option(names = "--min-ram", paramLabel = "<ram-mb>", description = "Minimum RAM to boot it, in MB.") Integer minRam,
            @Option(names = "--container-format", paramLabel = "<container-format>",
                    description = "Container format.") String containerFormat,
            @Option(names = "--disk-format", paramLabel = "<disk-format>", description = "Disk format.") String diskFormat,
            @ArgGroup(exclusive = true) Visibility visibility, @ArgGroup(exclusive = true) Protection protection,
            @Option(names = "--property", paramLabel = "<key=value>", description = "Property to add or change (repeat for several).")
            Map<String, String> properties,
            @Option(names = "--tag", paramLabel = "<tag>", description = "Tag to add (repeat for several).") List<String> tags,
            @Option(names = "--architecture", paramLabel = "<architecture>",
                    description = "Operating system architecture.") String architecture,
            @Option(names = "--os-distro", paramLabel = "<os-distro>", description = "Operating system distribution name.") String osDistro,
            @Option(names = "--os-version", paramLabel = "<os-version>", description = "Operating system version.") String osVersion,
            @Option(names = "--project", paramLabel = "<project>", description = "New owner (name or ID).") String project,
            @Option(names = "--hidden", description = "Hide the image from default lists.") boolean hidden,
            @Option(names = "--unhidden", description = "Show the image in default lists again.") boolean unhidden,
            @Option(names = "--deactivate", description = "Deactivate the image (its data cannot be downloaded).") boolean deactivate,
            @Option(names = "--activate", description = "Reactivate the image.") boolean activate,
            @Parameters(paramLabel = "<image>", description = "Image (name or ID).") String image) {
        JsonNode current = cli.find().image(image);
        String path = "/images/" + current.path("id").asText();
        ArrayNode ops = Json.array();
        replace(ops, current, "name", name);
        replace(ops, current, "min_disk", minDisk);
        replace(ops, current, "min_ram", minRam);
        replace(ops, current, "container_format", containerFormat);
        replace(ops, current, "disk_format", diskFormat);
        replace(ops, current, "visibility", visibility == null ? null : visibility.value());
        replace(ops, current, "protected", protection == null ? null : protection.isProtected);
        replace(ops, current, "architecture", architecture);
        replace(ops, current, "os_distro", osDistro);
        replace(ops, current, "os_version", osVersion);
        replace(ops, current, "owner", project == null ? null : cli.find().project(project, null).path("id").asText());
        replace(ops, current, "os_hidden", hidden ? Boolean.TRUE : unhidden ? Boolean.FALSE : null);
        if (properties != null) {
            properties.forEach((key, value) -> replace(ops, current, key, value));
        }
        if (tags != null) {
            Set<String> all = new LinkedHashSet<>();
            current.path("tags").forEach(tag -> all.add(tag.asText()));
            all.addAll(tags);
            ArrayNode array = Json.array();
            all.forEach(array::add);
            ops.addObject().put("op", "replace").put("path", "/tags").set("value", array);
        }
        if (!ops.isEmpty()) {
            cli.image().patch(path, ops, JSON_PATCH);
        }
        if (deactivate) {
            cli.image().post(path + "/actions/deactivate", null);
        }
        if (activate) {
            cli.image().post(path + "/actions/reactivate", null);
        }
    }

    /** A JSON-patch "add" for an attribute the image lacks, "replace" for one it has. */
    private static void replace(ArrayNode ops, JsonNode current, String attribute, Object value) {
        if (value == null) {
            return;
        }
        ObjectNode op = ops.addObject();
        op.put("op", current.has(attribute) ? "replace" : "add").put("path", "/" + attribute.replace("~", "~0").replace("/", "~1"));
        switch (value) {
            case Integer number -> op.put("value", number);
            case Boolean flag -> op.put("value", flag);
            default -> op.put("value", value.toString());
        }
    }

    @Command(name = "delete", description = "Delete images.")
    void delete(@Parameters(paramLabel = "<image>", arity = "1..*", description = "Image(s) to delete (name or ID).") List<String> images) {
        Deletion.each(images, "images", cli.terminal().err(),
                image -> cli.image().delete("/images/" + cli.find().image(image).path("id").asText()));
    }

    /**
     * The openstack client's image fields: the core attributes (null ones left out), tags, and
     * every other attribute gathered under "properties"; sorted.
     */
    static Map<String, Object> fields(JsonNode image) {
        Map<String, Object> fields = new TreeMap<>();
        Map<String, Object> properties = new TreeMap<>();
        image.properties().forEach(e -> {
            String key = e.getKey();
            if (e.getValue().isNull() || key.equals("self") || key.equals("tags")) {
                return;
            }
            if (FIELDS.contains(key)) {
                fields.put(key, e.getValue());
            } else {
                properties.put(key, e.getValue());
            }
        });
        fields.put("tags", Columns.list(image.path("tags")));
        if (!properties.isEmpty()) {
            fields.put("properties", Columns.dict(properties));
        }
        return fields;
    }

    /** osc_lib's format_size: powers of 1000, one decimal at most, e.g. "1.5M". */
    static String humanSize(long bytes) {
        String[] suffixes = {"", "K", "M", "G", "T", "P", "E", "Z"};
        double size = bytes;
        int unit = 0;
        while (size >= 1000 && unit < suffixes.length - 1) {
            size /= 1000;
            unit++;
        }
        String number = String.format(Locale.ROOT, "%.1f", size);
        return (number.endsWith(".0") ? number.substring(0, number.length() - 2) : number) + suffixes[unit];
    }
}
