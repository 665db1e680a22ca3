package io.strata.image;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Glance's Image API v2 at /image: images, data upload and download, JSON-patch updates, tags, members. */
public final class ImageApi implements ApiArea {
    private static final String V2 = "/image/v2";
    private static final String PATCH_TYPE = "application/openstack-images-v2.1-json-patch";
    private static final String PATCH_TYPE_OLD = "application/openstack-images-v2.0-json-patch";
    /** Attributes with a fixed meaning: everything else in a request is a free-form string property. */
    private static final Set<String> CORE = Set.of("id", "name", "visibility", "container_format", "disk_format", "min_disk", "min_ram",
            "protected", "os_hidden", "tags");
    private static final Set<String> READ_ONLY = Set.of("status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size",
            "created_at", "updated_at", "file", "self", "schema", "direct_url", "locations", "owner", "stores");
    private static final List<String> VERSIONS = List.of("v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0");

    private final ImageService images;
    private final String baseUrl;

    public ImageApi(ImageService images, String baseUrl) {
        this.images = requireNonNull(images, "images is null");
        this.baseUrl = requireNonNull(baseUrl, "baseUrl is null");
    }

    @Override
    public Set<String> publicRoutes() {
        return Set.of("GET /image", "GET /image/versions", "GET /image/v2");
    }

    @Override
    public void addRoutes(RoutesConfig r) {
        r.get("/image", ctx -> ctx.status(300).json(versions()));
        r.get("/image/versions", ctx -> ctx.json(versions()));
        r.get(V2, ctx -> ctx.status(300).json(versions()));

        r.get(V2 + "/images", this::list);
        r.post(V2 + "/images", this::create);
        r.get(V2 + "/images/{id}", ctx -> ctx.json(imageJson(images.get(Requests.auth(ctx), ctx.pathParam("id")))));
        r.patch(V2 + "/images/{id}", this::patch);
        r.delete(V2 + "/images/{id}", ctx -> {
            images.delete(Requests.auth(ctx), ctx.pathParam("id"));
            ctx.status(204);
        });
        r.put(V2 + "/images/{id}/file", this::upload);
        r.get(V2 + "/images/{id}/file", this::download);
        r.put(V2 + "/images/{id}/tags/{tag}", ctx -> {
            images.addTag(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("tag"));
            ctx.status(204);
        });
        r.delete(V2 + "/images/{id}/tags/{tag}", ctx -> {
            images.removeTag(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("tag"));
            ctx.status(204);
        });
        r.post(V2 + "/images/{id}/actions/deactivate", ctx -> {
            images.setActive(Requests.auth(ctx), ctx.pathParam("id"), false);
            ctx.status(204);
        });
        r.post(V2 + "/images/{id}/actions/reactivate", ctx -> {
            images.setActive(Requests.auth(ctx), ctx.pathParam("id"), true);
            ctx.status(204);
        });
        r.get(V2 + "/images/{id}/members", ctx -> {
            ObjectNode body = Json.object();
            ArrayNode members = body.putArray("members");
            images.members(Requests.auth(ctx), ctx.pathParam("id")).forEach(m -> members.add(memberJson(m)));
            body.put("schema", "/v2/schemas/members");
            ctx.json(body);
        });
        r.post(V2 + "/images/{id}/members", ctx -> {
            ObjectNode body = RequestBody.parse(ctx);
            ctx.json(memberJson(images.addMember(Requests.auth(ctx), ctx.pathParam("id"),
                    RequestBody.requiredString(body, "member", 1, 255))));
        });
        r.get(V2 + "/images/{id}/members/{member}", ctx -> ctx.json(memberJson(images.member(Requests.auth(ctx), ctx.pathParam("id"),
                ctx.pathParam("member")))));
        r.put(V2 + "/images/{id}/members/{member}", ctx -> {
            ObjectNode body = RequestBody.parse(ctx);
            ctx.json(memberJson(images.setMemberStatus(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("member"),
                    RequestBody.requiredString(body, "status", 1, 20))));
        });
        r.delete(V2 + "/images/{id}/members/{member}", ctx -> {
            images.removeMember(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("member"));
            ctx.status(204);
        });
        r.get(V2 + "/schemas/image", ctx -> ctx.json(ImageSchemas.image()));
        r.get(V2 + "/schemas/images", ctx -> ctx.json(ImageSchemas.images()));
        r.get(V2 + "/schemas/member", ctx -> ctx.json(ImageSchemas.member()));
        r.get(V2 + "/schemas/members", ctx -> ctx.json(ImageSchemas.members()));
    }

    private ObjectNode versions() {
        ObjectNode body = Json.object();
        ArrayNode list = body.putArray("versions");
        for (String id : VERSIONS) {
            ObjectNode v = list.addObject();
            v.put("id", id);
            v.put("status", id.equals(VERSIONS.get(0)) ? "CURRENT" : "SUPPORTED");
            v.putArray("links").addObject().put("rel", "self").put("href", baseUrl + "/image/v2/");
        }
        return body;
    }

    // ------------------------------------------------------------------ list and create

    private void list(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        Integer limitParam = Requests.intQuery(ctx, "limit", 0, Integer.MAX_VALUE);
        int limit = limitParam == null ? 25 : Math.min(limitParam, 1000);
        List<String[]> sort = sortOf(ctx);
        String visibility = ctx.queryParam("visibility");
        if (visibility != null && !visibility.equals("all") && !ImageService.VISIBILITIES.contains(visibility)) {
            throw CloudException.badRequest("Invalid visibility value: %s", visibility);
        }
        Set<String> tags = ctx.queryParams("tag").isEmpty() ? null : new LinkedHashSet<>(ctx.queryParams("tag"));
        String memberStatus = ctx.queryParam("member_status");
        if (memberStatus != null && !Set.of("accepted", "pending", "rejected", "all").contains(memberStatus)) {
            throw CloudException.badRequest("Invalid status value: %s", memberStatus);
        }
        Boolean osHidden = ctx.queryParam("os_hidden") == null ? Boolean.FALSE : Requests.boolQuery(ctx, "os_hidden");
        List<Image> page = images.list(auth, new ImageStore.ListQuery(auth.isAdmin() ? null : auth.projectId(), visibility,
                ctx.queryParam("name"), ctx.queryParam("status"), ctx.queryParam("owner"), tags, memberStatus, osHidden, sort,
                ctx.queryParam("marker"), limit));
        ObjectNode body = Json.object();
        ArrayNode list = body.putArray("images");
        page.forEach(i -> list.add(imageJson(i)));
        body.put("first", "/v2/images");
        body.put("schema", "/v2/schemas/images");
        if (!page.isEmpty() && page.size() == limit) {
            StringBuilder next = new StringBuilder("/v2/images?");
            ctx.queryParamMap().forEach((k, values) -> {
                if (!k.equals("marker")) {
                    values.forEach(v -> next.append(k).append('=').append(java.net.URLEncoder.encode(v, java.nio.charset.StandardCharsets.UTF_8))
                            .append('&'));
                }
            });
            next.append("marker=").append(page.get(page.size() - 1).id());
            body.put("next", next.toString());
        }
        ctx.json(body);
    }

    private static List<String[]> sortOf(Context ctx) {
        List<String[]> sort = new ArrayList<>();
        String combined = ctx.queryParam("sort");
        if (combined != null) {
            for (String part : combined.split(",")) {
                String[] keyDir = part.trim().split(":");
                String dir = keyDir.length > 1 ? keyDir[1] : "desc";
                sort.add(checkedSort(keyDir[0], dir));
            }
            return sort;
        }
        List<String> keys = ctx.queryParams("sort_key");
        List<String> dirs = ctx.queryParams("sort_dir");
        for (int i = 0; i < keys.size(); i++) {
            sort.add(checkedSort(keys.get(i), i < dirs.size() ? dirs.get(i) : dirs.isEmpty() ? "desc" : dirs.get(dirs.size() - 1)));
        }
        if (keys.isEmpty() && !dirs.isEmpty()) {
            sort.add(checkedSort("created_at", dirs.get(0)));
        }
        return sort;
    }

    private static String[] checkedSort(String key, String dir) {
        if (!ImageStore.isSortKey(key)) {
            throw CloudException.badRequest("Invalid sort key: %s.", key);
        }
        if (!dir.equals("asc") && !dir.equals("desc")) {
            throw CloudException.badRequest("Invalid sort direction: %s", dir);
        }
        return new String[] {key, dir};
    }

    private void create(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        ObjectNode body = RequestBody.parse(ctx);
        for (Iterator<String> it = body.fieldNames(); it.hasNext();) {
            String key = it.next();
            if (READ_ONLY.contains(key)) {
                throw CloudException.forbidden("Attribute '%s' is read-only.", key);
            }
        }
        Map<String, String> properties = new LinkedHashMap<>();
        body.fields().forEachRemaining(e -> {
            if (!CORE.contains(e.getKey())) {
                properties.put(e.getKey(), propertyValue(e.getKey(), e.getValue()));
            }
        });
        String visibility = RequestBody.optionalString(body, "visibility", 1, 20);
        Integer minDisk = RequestBody.optionalInt(body, "min_disk", 0, Integer.MAX_VALUE);
        Integer minRam = RequestBody.optionalInt(body, "min_ram", 0, Integer.MAX_VALUE);
        List<String> tags = RequestBody.optionalStringList(body, "tags", 128, 255);
        Image image = images.create(auth, new ImageService.Draft(RequestBody.optionalString(body, "id", 1, 36),
                RequestBody.optionalString(body, "name", 0, 255), visibility == null ? "shared" : visibility,
                RequestBody.optionalString(body, "disk_format", 1, 32), RequestBody.optionalString(body, "container_format", 1, 32),
                minDisk == null ? 0 : minDisk, minRam == null ? 0 : minRam, Boolean.TRUE.equals(RequestBody.optionalBoolean(body, "protected")),
                Boolean.TRUE.equals(RequestBody.optionalBoolean(body, "os_hidden")), properties, tags == null ? List.of() : tags));
        ctx.header("Location", baseUrl + "/image/v2/images/" + image.id());
        ctx.status(201).json(imageJson(image));
    }

    private static String propertyValue(String key, JsonNode value) {
        if (value.isTextual()) {
            if (value.textValue().length() > 65535) {
                throw CloudException.badRequest("Property %s is longer than 65535 characters.", key);
            }
            return value.textValue();
        }
        if (key.length() > 255) {
            throw CloudException.badRequest("Property names are at most 255 characters.");
        }
        throw CloudException.badRequest("Provided object does not match schema 'image': %s is not of type 'string' (property %s)",
                value, key);
    }

    // ------------------------------------------------------------------ patch

    private void patch(Context ctx) {
        String contentType = ctx.contentType() == null ? "" : ctx.contentType().split(";")[0].trim();
        if (!contentType.equals(PATCH_TYPE) && !contentType.equals(PATCH_TYPE_OLD)) {
            throw new CloudException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type " + contentType
                    + "; use " + PATCH_TYPE);
        }
        AuthContext auth = Requests.auth(ctx);
        JsonNode ops;
        try {
            ops = Json.MAPPER.readTree(ctx.bodyAsBytes());
        } catch (IOException e) {
            throw CloudException.badRequest("Malformed JSON in request body.");
        }
        if (ops == null || !ops.isArray()) {
            throw CloudException.badRequest("Request body must be a JSON array of operation objects.");
        }
        Image image = images.get(auth, ctx.pathParam("id"));
        MutableImage m = new MutableImage(image);
        for (JsonNode op : ops) {
            apply(m, op);
        }
        ctx.json(imageJson(images.update(auth, m.toImage())));
    }

    private static void apply(MutableImage m, JsonNode op) {
        if (!op.isObject() || !op.has("op") || !op.has("path")) {
            throw CloudException.badRequest("Operations must be JSON objects with 'op' and 'path'.");
        }
        String kind = op.get("op").asText();
        String path = op.get("path").asText();
        if (!path.startsWith("/") || path.length() < 2) {
            throw CloudException.badRequest("Json path should start with a '/', end with no '/', no 2 subsequent '/' are allowed.");
        }
        String[] parts = path.substring(1).split("/");
        String key = parts[0].replace("~1", "/").replace("~0", "~");
        JsonNode value = op.get("value");
        if (READ_ONLY.contains(key)) {
            throw CloudException.forbidden("Attribute '%s' is read-only.", key);
        }
        if (key.equals("id")) {
            throw CloudException.forbidden("Attribute 'id' is read-only.");
        }
        switch (kind) {
            case "add", "replace" -> {
                if (value == null) {
                    throw CloudException.badRequest("Operation objects must contain exactly one member named \"value\".");
                }
                if (kind.equals("replace") && !CORE.contains(key) && !m.properties.containsKey(key)) {
                    throw CloudException.conflict("Property %s does not exist.", key);
                }
                set(m, key, parts, value);
            }
            case "remove" -> {
                if (CORE.contains(key)) {
                    if (key.equals("tags")) {
                        m.tags.clear();
                        return;
                    }
                    throw CloudException.forbidden("Attribute '%s' is reserved.", key);
                }
                if (m.properties.remove(key) == null) {
                    throw CloudException.conflict("Property %s does not exist.", key);
                }
            }
            default -> throw CloudException.badRequest("Operation \"%s\" is not supported; use add, replace or remove.", kind);
        }
    }

    private static void set(MutableImage m, String key, String[] parts, JsonNode value) {
        switch (key) {
            case "name" -> m.name = value.isNull() ? null : text(key, value);
            case "visibility" -> m.visibility = text(key, value);
            case "container_format" -> m.containerFormat = value.isNull() ? null : text(key, value);
            case "disk_format" -> m.diskFormat = value.isNull() ? null : text(key, value);
            case "min_disk" -> m.minDisk = integer(key, value);
            case "min_ram" -> m.minRam = integer(key, value);
            case "protected" -> m.protectedImage = bool(key, value);
            case "os_hidden" -> m.osHidden = bool(key, value);
            case "tags" -> {
                if (parts.length > 1) {
                    m.tags.add(text(key, value));
                } else {
                    if (!value.isArray()) {
                        throw CloudException.badRequest("Invalid value for tags: a list of strings is required.");
                    }
                    m.tags.clear();
                    value.forEach(t -> m.tags.add(text("tags", t)));
                }
            }
            default -> m.properties.put(key, propertyValue(key, value));
        }
    }

    private static String text(String key, JsonNode value) {
        if (!value.isTextual()) {
            throw CloudException.badRequest("Invalid value for %s: %s is not of type 'string'", key, value);
        }
        return value.textValue();
    }

    private static int integer(String key, JsonNode value) {
        if (!value.isIntegralNumber() || value.intValue() < 0) {
            throw CloudException.badRequest("Invalid value for %s: %s is not a non-negative integer", key, value);
        }
        return value.intValue();
    }

    private static boolean bool(String key, JsonNode value) {
        if (!value.isBoolean()) {
            throw CloudException.badRequest("Invalid value for %s: %s is not of type 'boolean'", key, value);
        }
        return value.booleanValue();
    }

    /** An image being patched. */
    private static final class MutableImage {
        final Image original;
        String name;
        String visibility;
        String containerFormat;
        String diskFormat;
        int minDisk;
        int minRam;
        boolean protectedImage;
        boolean osHidden;
        final Map<String, String> properties;
        final List<String> tags;

        MutableImage(Image i) {
            original = i;
            name = i.name();
            visibility = i.visibility();
            containerFormat = i.containerFormat();
            diskFormat = i.diskFormat();
            minDisk = i.minDisk();
            minRam = i.minRam();
            protectedImage = i.protectedImage();
            osHidden = i.osHidden();
            properties = new LinkedHashMap<>(i.properties());
            tags = new ArrayList<>(i.tags());
        }

        Image toImage() {
            Image i = original;
            return new Image(i.id(), name, i.owner(), i.status(), visibility, containerFormat, diskFormat, i.sizeBytes(), i.virtualSize(),
                    i.checksum(), i.osHashAlgo(), i.osHashValue(), minDisk, minRam, protectedImage, osHidden, properties, tags,
                    i.createdAt(), i.updatedAt());
        }
    }

    // ------------------------------------------------------------------ data

    private void upload(Context ctx) {
        String contentType = ctx.contentType() == null ? "application/octet-stream" : ctx.contentType().split(";")[0].trim();
        if (!contentType.equals("application/octet-stream")) {
            throw new CloudException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/octet-stream, not " + contentType);
        }
        try (InputStream data = ctx.req().getInputStream()) {
            images.upload(Requests.auth(ctx), ctx.pathParam("id"), data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ctx.status(204);
    }

    private void download(Context ctx) {
        Image image = images.get(Requests.auth(ctx), ctx.pathParam("id"));
        Path data = images.dataOf(Requests.auth(ctx), image.id());
        if (data == null) {
            ctx.status(204);
            return;
        }
        try {
            ctx.contentType("application/octet-stream");
            ctx.header("Content-MD5", image.checksum());
            ctx.header("Content-Length", Long.toString(Files.size(data)));
            ctx.result(Files.newInputStream(data));
        } catch (IOException e) {
            throw new CloudException(ErrorCode.INTERNAL, "Image data of " + image.id() + " is unreadable: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ representations

    private ObjectNode imageJson(Image i) {
        ObjectNode n = Json.object();
        n.put("id", i.id());
        n.put("name", i.name());
        n.put("status", i.status());
        n.put("visibility", i.visibility());
        n.put("protected", i.protectedImage());
        n.put("os_hidden", i.osHidden());
        n.put("checksum", i.checksum());
        n.put("os_hash_algo", i.osHashAlgo());
        n.put("os_hash_value", i.osHashValue());
        n.put("owner", i.owner());
        if (i.sizeBytes() == null) {
            n.putNull("size");
        } else {
            n.put("size", i.sizeBytes());
        }
        if (i.virtualSize() == null) {
            n.putNull("virtual_size");
        } else {
            n.put("virtual_size", i.virtualSize());
        }
        n.put("min_ram", i.minRam());
        n.put("min_disk", i.minDisk());
        n.put("disk_format", i.diskFormat());
        n.put("container_format", i.containerFormat());
        n.put("created_at", Json.isoSeconds(i.createdAt()));
        n.put("updated_at", Json.isoSeconds(i.updatedAt()));
        ArrayNode tags = n.putArray("tags");
        i.tags().forEach(tags::add);
        n.put("self", "/v2/images/" + i.id());
        n.put("file", "/v2/images/" + i.id() + "/file");
        n.put("schema", "/v2/schemas/image");
        i.properties().forEach((k, v) -> {
            if (!n.has(k)) {
                n.put(k, v);
            }
        });
        return n;
    }

    private static ObjectNode memberJson(ImageMember m) {
        ObjectNode n = Json.object();
        n.put("image_id", m.imageId());
        n.put("member_id", m.memberId());
        n.put("status", m.status());
        n.put("created_at", Json.isoSeconds(m.createdAt()));
        n.put("updated_at", Json.isoSeconds(m.updatedAt()));
        n.put("schema", "/v2/schemas/member");
        return n;
    }
}
