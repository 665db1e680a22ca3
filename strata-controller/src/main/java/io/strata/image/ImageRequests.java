package io.strata.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.api.Json;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns Glance request bodies into the service's terms, refusing what Glance refuses with the same
 * status: 403 for read-only and reserved attributes, 400 for schema mismatches and malformed
 * patches, 409 where a patch contradicts the image.
 */
final class ImageRequests {
    /** Patch media types and the JSON-schema draft each follows (glance.api.v2.images.RequestDeserializer). */
    static final String PATCH_V21 = "application/openstack-images-v2.1-json-patch";
    static final String PATCH_V20 = "application/openstack-images-v2.0-json-patch";

    /** Attributes a create body may not carry (Glance's _disallowed_properties, checked first). */
    private static final List<String> DISALLOWED = List.of("direct_url", "self", "file", "schema", "stores");
    /** Core attributes only Glance sets; a create or patch naming them is refused with 403. */
    private static final List<String> READ_ONLY = List.of("created_at", "updated_at", "status", "checksum", "size", "virtual_size",
            "direct_url", "self", "file", "schema", "id", "os_hash_algo", "os_hash_value");
    private static final Set<String> RESERVED = Set.of("location", "deleted", "deleted_at");
    private static final String RESERVED_NAMESPACE = "os_glance";
    private static final List<String> OPERATIONS = List.of("add", "remove", "replace");
    private static final Pattern ADJACENT_SLASHES = Pattern.compile("/\\s*?/");
    private static final Pattern BAD_ESCAPE = Pattern.compile("~[^01]");

    private ImageRequests() {}

    /** A create body as an image draft (glance.api.v2.images.RequestDeserializer.create). */
    static ImageDraft create(byte[] body) {
        JsonNode json = parse(body);
        if (json.isObject()) {
            for (String key : DISALLOWED) {
                if (json.has(key)) {
                    throw CloudException.forbidden("Attribute '%s' is read-only.", key);
                }
            }
        }
        ImageSchema.validateObject(json);
        ObjectNode object = (ObjectNode) json;
        Map<String, String> properties = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : object.properties()) {
            String key = field.getKey();
            if (ImageSchema.isCore(key) && !key.equals("locations")) {
                continue;
            }
            if (key.length() > 255) {
                throw CloudException.badRequest("Custom property should not be greater than 255 characters.");
            }
            if (RESERVED.contains(key) || key.startsWith(RESERVED_NAMESPACE) || key.equals("locations")) {
                throw CloudException.forbidden("Attribute '%s' is reserved.", key);
            }
            properties.put(key, field.getValue().textValue());
        }
        for (String key : READ_ONLY) {
            if (!key.equals("id") && object.has(key)) {
                throw CloudException.forbidden("Attribute '%s' is read-only.", key);
            }
        }
        List<String> tags = new ArrayList<>();
        if (object.hasNonNull("tags")) {
            object.get("tags").forEach(tag -> tags.add(tag.textValue()));
        }
        return new ImageDraft(
                text(object, "id"),
                text(object, "name"),
                text(object, "owner"),
                object.has("visibility") ? Visibility.parse(object.get("visibility").textValue()) : null,
                text(object, "container_format"),
                text(object, "disk_format"),
                integer(object, "min_disk"),
                integer(object, "min_ram"),
                object.has("protected") && object.get("protected").booleanValue(),
                object.has("os_hidden") && object.get("os_hidden").booleanValue(),
                properties,
                tags);
    }

    /**
     * A JSON-patch body as image changes. {@code contentType} picks the dialect: draft 10
     * ({"op": "add", "path": "/x", "value": …}) or the older draft 4 ({"add": "/x", "value": …}).
     */
    static List<ImageChange> patch(String contentType, byte[] body) {
        boolean draft4;
        if (PATCH_V21.equals(contentType)) {
            draft4 = false;
        } else if (PATCH_V20.equals(contentType)) {
            draft4 = true;
        } else {
            throw new CloudException(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "Image PATCH expects Content-Type one of: " + PATCH_V20 + ", " + PATCH_V21);
        }
        JsonNode json = parse(body);
        if (!json.isArray()) {
            throw CloudException.badRequest("Request body must be a JSON array of operation objects.");
        }
        List<ImageChange> changes = new ArrayList<>();
        for (JsonNode raw : json) {
            if (!raw.isObject()) {
                throw CloudException.badRequest("Operations must be JSON objects.");
            }
            String op = draft4 ? operationDraft4(raw) : operationDraft10(raw);
            JsonNode pointer = draft4 ? raw.get(op) : raw.get("path");
            if (pointer == null) {
                throw CloudException.badRequest("Unable to find 'path' in JSON Schema change");
            }
            if (!pointer.isTextual()) {
                throw CloudException.badRequest("Pointer `%s` does not start with \"/\".", pointer.asText());
            }
            List<String> path = decodePointer(pointer.textValue());
            changes.add(change(op, path, raw, draft4));
        }
        return changes;
    }

    /** The member to add ({"member": "<project id>"}). */
    static String member(byte[] body) {
        JsonNode json = parse(body);
        if (!json.isObject()) {
            throw CloudException.badRequest("Expected a member in the form: {\"member\": \"image_id\"}");
        }
        JsonNode member = json.get("member");
        if (member == null) {
            throw CloudException.badRequest("Member to be added not specified");
        }
        if (member.isNull() || (member.isTextual() && member.textValue().isEmpty())) {
            throw CloudException.badRequest("Member can't be empty");
        }
        if (!member.isTextual()) {
            throw CloudException.badRequest("Expected a member in the form: {\"member\": \"image_id\"}");
        }
        return member.textValue();
    }

    /** The new status of a membership ({"status": "accepted"}). */
    static String memberStatus(byte[] body) {
        JsonNode json = parse(body);
        if (!json.isObject()) {
            throw CloudException.badRequest("Expected a status in the form: {\"status\": \"status\"}");
        }
        JsonNode status = json.get("status");
        if (status == null) {
            throw CloudException.badRequest("Status not specified");
        }
        if (!status.isTextual()) {
            throw CloudException.badRequest("Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".");
        }
        return status.textValue();
    }

    // ------------------------------------------------------------------ patch details

    private static String operationDraft10(JsonNode raw) {
        JsonNode op = raw.get("op");
        if (op == null) {
            throw CloudException.badRequest("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.");
        }
        if (!op.isTextual() || !OPERATIONS.contains(op.textValue())) {
            throw CloudException.badRequest("Invalid operation: `%s`. It must be one of the following: add, remove, replace.", op.asText());
        }
        return op.textValue();
    }

    private static String operationDraft4(JsonNode raw) {
        String op = null;
        for (String candidate : OPERATIONS) {
            if (raw.has(candidate)) {
                if (op != null) {
                    throw CloudException.badRequest("Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".");
                }
                op = candidate;
            }
        }
        if (op == null) {
            throw CloudException.badRequest("Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".");
        }
        return op;
    }

    /** Glance accepts a limited form of JSON pointer (glance.api.v2.images._validate_json_pointer). */
    private static List<String> decodePointer(String pointer) {
        if (!pointer.startsWith("/")) {
            throw CloudException.badRequest("Pointer `%s` does not start with \"/\".", pointer);
        }
        if (ADJACENT_SLASHES.matcher(pointer.substring(1)).find()) {
            throw CloudException.badRequest("Pointer `%s` contains adjacent \"/\".", pointer);
        }
        if (pointer.length() > 1 && pointer.endsWith("/")) {
            throw CloudException.badRequest("Pointer `%s` end with \"/\".", pointer);
        }
        if (pointer.substring(1).strip().equals("/")) {
            throw CloudException.badRequest("Pointer `%s` does not contains valid token.", pointer);
        }
        if (BAD_ESCAPE.matcher(pointer).find() || pointer.endsWith("~")) {
            throw CloudException.badRequest("Pointer `%s` contains \"~\" not part of a recognized escape sequence.", pointer);
        }
        List<String> parts = new ArrayList<>();
        for (String part : pointer.replaceFirst("^/+", "").split("/", -1)) {
            parts.add(part.replace("~1", "/").replace("~0", "~").strip());
        }
        return parts;
    }

    private static ImageChange change(String op, List<String> path, JsonNode raw, boolean draft4) {
        String root = path.get(0);
        int depth = root.equals("locations") ? (op.equals("replace") ? 1 : 2) : 1;
        if (path.size() != depth) {
            throw CloudException.badRequest("Invalid JSON pointer for this resource: '/%s'", String.join("/", path));
        }
        JsonNode value = null;
        if (!op.equals("remove")) {
            if (!raw.has("value")) {
                throw CloudException.badRequest("Operation \"%s\" requires a member named \"value\".", op);
            }
            value = raw.get("value");
        }
        if (READ_ONLY.contains(root)) {
            throw CloudException.forbidden("Attribute '%s' is read-only.", root);
        }
        if (RESERVED.contains(root) || root.startsWith(RESERVED_NAMESPACE)) {
            throw CloudException.forbidden("Attribute '%s' is reserved.", root);
        }
        if (root.equals("locations")) {
            // Strata keeps image data itself; there are no locations to show or change.
            throw CloudException.forbidden("It's not allowed to %s locations if locations are invisible.", op.equals("add") ? "add"
                    : op.equals("remove") ? "remove" : "update");
        }
        if (value != null) {
            ImageSchema.validate(root, value);
        }
        boolean core = ImageSchema.isCore(root);
        if (op.equals("remove")) {
            return core ? new ImageChange.RemoveAttribute(root) : new ImageChange.RemoveProperty(root);
        }
        if (!core) {
            return new ImageChange.SetProperty(root, value.textValue(), op.equals("replace"), draft4 && op.equals("add"));
        }
        if (draft4 && op.equals("add")) {
            throw CloudException.conflict("Property %s already present.", root);
        }
        return switch (root) {
            case "name" -> new ImageChange.SetName(value.isNull() ? null : value.textValue());
            case "visibility" -> new ImageChange.SetVisibility(Visibility.parse(value.textValue()));
            case "owner" -> new ImageChange.SetOwner(value.isNull() ? null : value.textValue());
            case "protected" -> new ImageChange.SetProtected(value.booleanValue());
            case "os_hidden" -> new ImageChange.SetOsHidden(value.booleanValue());
            case "min_disk" -> new ImageChange.SetMinDisk(toInt("min_disk", value));
            case "min_ram" -> new ImageChange.SetMinRam(toInt("min_ram", value));
            case "disk_format" -> new ImageChange.SetDiskFormat(value.isNull() ? null : value.textValue());
            case "container_format" -> new ImageChange.SetContainerFormat(value.isNull() ? null : value.textValue());
            case "tags" -> {
                List<String> tags = new ArrayList<>();
                value.forEach(tag -> tags.add(tag.textValue()));
                yield new ImageChange.SetTags(tags);
            }
            default -> throw new IllegalStateException("core attribute without a change: " + root);
        };
    }

    // ------------------------------------------------------------------ values

    private static JsonNode parse(byte[] body) {
        if (body == null || body.length == 0) {
            throw CloudException.badRequest("Body expected in request.");
        }
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            if (json == null || json.isMissingNode()) {
                throw CloudException.badRequest("Body expected in request.");
            }
            return json;
        } catch (JsonProcessingException e) {
            throw CloudException.badRequest("Malformed JSON in request body.");
        } catch (IOException e) {
            throw CloudException.badRequest("Malformed JSON in request body.");
        }
    }

    private static String text(ObjectNode object, String key) {
        JsonNode value = object.get(key);
        return value == null || value.isNull() ? null : value.textValue();
    }

    private static int integer(ObjectNode object, String key) {
        JsonNode value = object.get(key);
        return value == null ? 0 : toInt(key, value);
    }

    private static int toInt(String key, JsonNode value) {
        double number = value.doubleValue();
        if (number < Integer.MIN_VALUE || number > Integer.MAX_VALUE || (value.isIntegralNumber() && !value.canConvertToInt())) {
            throw CloudException.badRequest("Invalid value '%s' for parameter '%s': out of range", value.asText(), key);
        }
        return (int) number;
    }
}
