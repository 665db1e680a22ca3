package io.strata.image;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.api.Json;

/**
 * The JSON schemas Glance publishes at /v2/schemas; python-glanceclient reads them to tell core
 * attributes from free-form properties.
 */
final class ImageSchemas {
    private ImageSchemas() {}

    static ObjectNode image() {
        ObjectNode schema = Json.object();
        schema.put("name", "image");
        ObjectNode props = schema.putObject("properties");
        string(props, "id", "An identifier for the image", true);
        nullableString(props, "name");
        props.putObject("status").put("type", "string").put("readOnly", true)
                .putArray("enum").add("queued").add("saving").add("active").add("killed").add("deleted").add("uploading")
                .add("importing").add("pending_delete").add("deactivated");
        props.putObject("visibility").put("type", "string").putArray("enum").add("community").add("public").add("private").add("shared");
        props.putObject("protected").put("type", "boolean");
        props.putObject("os_hidden").put("type", "boolean");
        nullableString(props, "checksum").put("readOnly", true);
        nullableString(props, "os_hash_algo").put("readOnly", true);
        nullableString(props, "os_hash_value").put("readOnly", true);
        nullableString(props, "owner");
        nullableInteger(props, "size").put("readOnly", true);
        nullableInteger(props, "virtual_size").put("readOnly", true);
        props.putObject("min_ram").put("type", "integer");
        props.putObject("min_disk").put("type", "integer");
        nullableString(props, "disk_format");
        nullableString(props, "container_format");
        string(props, "created_at", "Date and time of image registration", true);
        string(props, "updated_at", "Date and time of the last image modification", true);
        props.putObject("tags").put("type", "array").putObject("items").put("type", "string").put("maxLength", 255);
        string(props, "self", "An image self url", true);
        string(props, "file", "An image file url", true);
        string(props, "schema", "An image schema url", true);
        schema.putObject("additionalProperties").put("type", "string");
        ObjectNode links = schema.putArray("links").addObject();
        links.put("rel", "self").put("href", "{self}");
        return schema;
    }

    static ObjectNode images() {
        ObjectNode schema = Json.object();
        schema.put("name", "images");
        ObjectNode props = schema.putObject("properties");
        props.putObject("images").put("type", "array").set("items", image());
        props.putObject("schema").put("type", "string");
        props.putObject("first").put("type", "string");
        props.putObject("next").put("type", "string");
        return schema;
    }

    static ObjectNode member() {
        ObjectNode schema = Json.object();
        schema.put("name", "member");
        ObjectNode props = schema.putObject("properties");
        for (String key : new String[] {"image_id", "member_id", "created_at", "updated_at", "schema"}) {
            props.putObject(key).put("type", "string");
        }
        props.putObject("status").put("type", "string").putArray("enum").add("pending").add("accepted").add("rejected");
        return schema;
    }

    static ObjectNode members() {
        ObjectNode schema = Json.object();
        schema.put("name", "members");
        ObjectNode props = schema.putObject("properties");
        props.putObject("members").put("type", "array").set("items", member());
        props.putObject("schema").put("type", "string");
        return schema;
    }

    private static ObjectNode string(ObjectNode props, String key, String description, boolean readOnly) {
        ObjectNode node = props.putObject(key).put("type", "string").put("description", description);
        if (readOnly) {
            node.put("readOnly", true);
        }
        return node;
    }

    private static ObjectNode nullableString(ObjectNode props, String key) {
        ObjectNode node = props.putObject(key);
        node.putArray("type").add("null").add("string");
        return node;
    }

    private static ObjectNode nullableInteger(ObjectNode props, String key) {
        ObjectNode node = props.putObject(key);
        node.putArray("type").add("null").add("integer");
        return node;
    }
}
