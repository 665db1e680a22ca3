package io.strata.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.api.Json;
import io.strata.core.CloudException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Glance's image JSON schema (glance.api.v2.images.get_base_properties): the types of the core
 * attributes, checked on create and on every JSON-patch value with jsonschema's messages
 * ("5 is not of type 'null', 'string'"), and served at /v2/schemas/image for clients that read it.
 * Any other key is a free-form property and must be a string.
 */
final class ImageSchema {
    private static final String UUID_PATTERN = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";
    private static final List<String> STATUSES = List.of("queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated");
    private static final List<String> VISIBILITIES = List.of("community", "public", "private", "shared");

    /** One core attribute: JSON types it accepts, and its limits. */
    record Property(String name, List<String> types, Integer maxLength, List<String> enumeration, boolean nullInEnum, String pattern,
            boolean readOnly, String description) {}

    static final Map<String, Property> PROPERTIES = properties();

    private ImageSchema() {}

    private static Map<String, Property> properties() {
        Map<String, Property> all = new LinkedHashMap<>();
        add(all, new Property("id", List.of("string"), null, null, false, UUID_PATTERN, false, "An identifier for the image"));
        add(all, new Property("name", List.of("null", "string"), 255, null, false, null, false, "Descriptive name for the image"));
        add(all, new Property("status", List.of("string"), null, STATUSES, false, null, true, "Status of the image"));
        add(all, new Property("visibility", List.of("string"), null, VISIBILITIES, false, null, false, "Scope of image accessibility"));
        add(all, new Property("protected", List.of("boolean"), null, null, false, null, false, "If true, image will not be deletable."));
        add(all, new Property("os_hidden", List.of("boolean"), null, null, false, null, false,
                "If true, image will not appear in default image list response."));
        add(all, new Property("checksum", List.of("null", "string"), 32, null, false, null, true, "md5 hash of image contents."));
        add(all, new Property("os_hash_algo", List.of("null", "string"), 64, null, false, null, true,
                "Algorithm to calculate the os_hash_value"));
        add(all, new Property("os_hash_value", List.of("null", "string"), 128, null, false, null, true,
                "Hexdigest of the image contents using the algorithm specified by the os_hash_algo"));
        add(all, new Property("owner", List.of("null", "string"), 255, null, false, null, false, "Owner of the image"));
        add(all, new Property("size", List.of("null", "integer"), null, null, false, null, true, "Size of image file in bytes"));
        add(all, new Property("virtual_size", List.of("null", "integer"), null, null, false, null, true, "Virtual size of image in bytes"));
        add(all, new Property("container_format", List.of("null", "string"), null, ImageRules.CONTAINER_FORMATS, true, null, false,
                "Format of the container"));
        add(all, new Property("disk_format", List.of("null", "string"), null, ImageRules.DISK_FORMATS, true, null, false,
                "Format of the disk"));
        add(all, new Property("created_at", List.of("string"), null, null, false, null, true, "Date and time of image registration"));
        add(all, new Property("updated_at", List.of("string"), null, null, false, null, true,
                "Date and time of the last image modification"));
        add(all, new Property("tags", List.of("array"), null, null, false, null, false, "List of strings related to the image"));
        add(all, new Property("direct_url", List.of("string"), null, null, false, null, true,
                "URL to access the image file kept in external store"));
        add(all, new Property("min_ram", List.of("integer"), null, null, false, null, false, "Amount of ram (in MB) required to boot image."));
        add(all, new Property("min_disk", List.of("integer"), null, null, false, null, false,
                "Amount of disk space (in GB) required to boot image."));
        add(all, new Property("self", List.of("string"), null, null, false, null, true, "An image self url"));
        add(all, new Property("file", List.of("string"), null, null, false, null, true, "An image file url"));
        add(all, new Property("stores", List.of("string"), null, null, false, null, true, "Store in which image data resides."));
        add(all, new Property("schema", List.of("string"), null, null, false, null, true, "An image schema url"));
        add(all, new Property("locations", List.of("array"), null, null, false, null, false,
                "A set of URLs to access the image file kept in external store"));
        return all;
    }

    private static void add(Map<String, Property> all, Property property) {
        all.put(property.name(), property);
    }

    static boolean isCore(String name) {
        return PROPERTIES.containsKey(name);
    }

    /** Checks {@code {name: value}} against the schema; 400 in Glance's words when it does not match. */
    static void validate(String name, JsonNode value) {
        String problem = problem(name, value);
        if (problem != null) {
            throw CloudException.badRequest("Provided object does not match schema 'image': %s", problem);
        }
    }

    /** Checks a whole create body: an object whose core keys match and whose other keys are strings. */
    static void validateObject(JsonNode body) {
        if (!body.isObject()) {
            throw CloudException.badRequest("Provided object does not match schema 'image': %s is not of type 'object'", repr(body));
        }
        for (Map.Entry<String, JsonNode> field : body.properties()) {
            validate(field.getKey(), field.getValue());
        }
    }

    private static String problem(String name, JsonNode value) {
        Property property = PROPERTIES.get(name);
        if (property == null) {
            return value.isTextual() ? null : repr(value) + " is not of type 'string'";
        }
        if (!hasType(value, property.types())) {
            return repr(value) + " is not of type " + String.join(", ", property.types().stream().map(t -> "'" + t + "'").toList());
        }
        if (value.isTextual()) {
            String text = value.textValue();
            if (property.maxLength() != null && text.codePointCount(0, text.length()) > property.maxLength()) {
                return repr(value) + " is too long";
            }
            if (property.enumeration() != null && !property.enumeration().contains(text)) {
                return repr(value) + " is not one of " + enumRepr(property);
            }
            if (property.pattern() != null && !text.matches(property.pattern())) {
                return repr(value) + " does not match '" + property.pattern() + "'";
            }
        }
        if (name.equals("tags")) {
            for (JsonNode tag : value) {
                if (!tag.isTextual()) {
                    return repr(tag) + " is not of type 'string'";
                }
                if (tag.textValue().codePointCount(0, tag.textValue().length()) > 255) {
                    return repr(tag) + " is too long";
                }
            }
        }
        if (name.equals("locations")) {
            for (JsonNode location : value) {
                if (!location.isObject()) {
                    return repr(location) + " is not of type 'object'";
                }
            }
        }
        return null;
    }

    private static boolean hasType(JsonNode value, List<String> types) {
        for (String type : types) {
            boolean matches = switch (type) {
                case "null" -> value.isNull();
                case "string" -> value.isTextual();
                case "boolean" -> value.isBoolean();
                case "array" -> value.isArray();
                case "object" -> value.isObject();
                // jsonschema counts 5.0 as an integer too.
                case "integer" -> value.isIntegralNumber() || (value.isFloatingPointNumber() && value.doubleValue() == Math.rint(value.doubleValue())
                        && !Double.isInfinite(value.doubleValue()));
                default -> throw new IllegalStateException("unknown schema type " + type);
            };
            if (matches) {
                return true;
            }
        }
        return false;
    }

    private static String enumRepr(Property property) {
        List<String> items = new ArrayList<>();
        if (property.nullInEnum()) {
            items.add("None");
        }
        property.enumeration().forEach(e -> items.add("'" + e + "'"));
        return "[" + String.join(", ", items) + "]";
    }

    /** A JSON value as Python's repr shows it, as jsonschema's messages do. */
    static String repr(JsonNode value) {
        if (value == null || value.isNull() || value.isMissingNode()) {
            return "None";
        }
        if (value.isTextual()) {
            String text = value.textValue();
            if (text.length() > 100) {
                text = text.substring(0, 100) + "...";
            }
            return text.contains("'") && !text.contains("\"") ? "\"" + text + "\"" : "'" + text.replace("'", "\\'") + "'";
        }
        if (value.isBoolean()) {
            return value.booleanValue() ? "True" : "False";
        }
        if (value.isArray()) {
            List<String> items = new ArrayList<>();
            value.forEach(item -> items.add(repr(item)));
            return "[" + String.join(", ", items) + "]";
        }
        if (value.isObject()) {
            List<String> items = new ArrayList<>();
            value.properties().forEach(field -> items.add("'" + field.getKey() + "': " + repr(field.getValue())));
            return "{" + String.join(", ", items) + "}";
        }
        return value.asText();
    }

    // ------------------------------------------------------------------ the documents at /v2/schemas

    static ObjectNode imageSchema() {
        ObjectNode schema = Json.object();
        schema.put("name", "image");
        ObjectNode properties = schema.putObject("properties");
        PROPERTIES.values().forEach(property -> properties.set(property.name(), propertyJson(property)));
        schema.putObject("additionalProperties").put("type", "string");
        ArrayNode links = schema.putArray("links");
        links.addObject().put("rel", "self").put("href", "{self}");
        links.addObject().put("rel", "enclosure").put("href", "{file}");
        links.addObject().put("rel", "describedby").put("href", "{schema}");
        return schema;
    }

    static ObjectNode imagesSchema() {
        ObjectNode schema = Json.object();
        schema.put("name", "images");
        ObjectNode properties = schema.putObject("properties");
        properties.putObject("images").put("type", "array").set("items", imageSchema());
        properties.putObject("first").put("type", "string");
        properties.putObject("next").put("type", "string");
        properties.putObject("schema").put("type", "string");
        ArrayNode links = schema.putArray("links");
        links.addObject().put("rel", "first").put("href", "{first}");
        links.addObject().put("rel", "next").put("href", "{next}");
        links.addObject().put("rel", "describedby").put("href", "{schema}");
        return schema;
    }

    static ObjectNode memberSchema() {
        ObjectNode schema = Json.object();
        schema.put("name", "member");
        ObjectNode properties = schema.putObject("properties");
        properties.putObject("created_at").put("type", "string").put("description", "Date and time of image member creation");
        properties.putObject("image_id").put("type", "string").put("description", "An identifier for the image").put("pattern", UUID_PATTERN);
        properties.putObject("member_id").put("type", "string").put("description", "An identifier for the image member (tenantId)");
        properties.putObject("schema").put("type", "string").put("readOnly", true);
        ObjectNode status = properties.putObject("status").put("type", "string").put("description", "The status of this image member");
        ArrayNode values = status.putArray("enum");
        for (MemberStatus memberStatus : MemberStatus.values()) {
            values.add(memberStatus.wireName());
        }
        properties.putObject("updated_at").put("type", "string").put("description", "Date and time of last modification of image member");
        return schema;
    }

    static ObjectNode membersSchema() {
        ObjectNode schema = Json.object();
        schema.put("name", "members");
        ObjectNode properties = schema.putObject("properties");
        properties.putObject("members").put("type", "array").set("items", memberSchema());
        properties.putObject("schema").put("type", "string");
        schema.putArray("links").addObject().put("rel", "describedby").put("href", "{schema}");
        return schema;
    }

    private static ObjectNode propertyJson(Property property) {
        ObjectNode json = Json.object();
        if (property.types().size() == 1) {
            json.put("type", property.types().get(0));
        } else {
            ArrayNode types = json.putArray("type");
            property.types().forEach(types::add);
        }
        json.put("description", property.description());
        if (property.readOnly()) {
            json.put("readOnly", true);
        }
        if (property.maxLength() != null) {
            json.put("maxLength", property.maxLength());
        }
        if (property.pattern() != null) {
            json.put("pattern", property.pattern());
        }
        if (property.enumeration() != null) {
            ArrayNode values = json.putArray("enum");
            if (property.nullInEnum()) {
                values.addNull();
            }
            property.enumeration().forEach(values::add);
        }
        if (property.name().equals("tags")) {
            json.putObject("items").put("type", "string").put("maxLength", 255);
        }
        if (property.name().equals("locations")) {
            ObjectNode items = json.putObject("items").put("type", "object");
            ObjectNode itemProperties = items.putObject("properties");
            itemProperties.putObject("url").put("type", "string").put("maxLength", 255);
            itemProperties.putObject("metadata").put("type", "object");
            items.putArray("required").add("url").add("metadata");
        }
        return json;
    }
}
