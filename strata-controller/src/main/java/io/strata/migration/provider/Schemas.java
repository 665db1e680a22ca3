package io.strata.migration.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Small JSON schemas (type object, typed properties, required, additionalProperties) and a
 * validator for exactly that subset, enough for providers' connection info and environments.
 */
public final class Schemas {
    private Schemas() {}

    /** Starts an object schema. */
    public static Builder object() {
        return new Builder();
    }

    /** Builder of an object schema. */
    public static final class Builder {
        private final ObjectNode schema = JsonNodeFactory.instance.objectNode();
        private final ObjectNode properties;
        private final ArrayNode required;

        private Builder() {
            schema.put("$schema", "http://cloudbase.it/coriolis/schemas/draft-04/schema#");
            schema.put("type", "object");
            properties = schema.putObject("properties");
            required = schema.putArray("required");
            schema.put("additionalProperties", false);
        }

        public Builder property(String name, String type, String description, boolean isRequired) {
            ObjectNode property = properties.putObject(name);
            property.put("type", type);
            property.put("description", description);
            if (isRequired) {
                required.add(name);
            }
            return this;
        }

        public Builder property(String name, ObjectNode nested, boolean isRequired) {
            properties.set(name, nested);
            if (isRequired) {
                required.add(name);
            }
            return this;
        }

        public Builder enumProperty(String name, List<String> values, String description) {
            ObjectNode property = properties.putObject(name);
            property.put("type", "string");
            property.put("description", description);
            ArrayNode choices = property.putArray("enum");
            values.forEach(choices::add);
            return this;
        }

        public Builder openEnded() {
            schema.put("additionalProperties", true);
            return this;
        }

        public ObjectNode build() {
            return schema.deepCopy();
        }
    }

    /** Problems of {@code value} against {@code schema}, empty when valid. */
    public static List<String> validate(JsonNode value, JsonNode schema, String where) {
        List<String> problems = new ArrayList<>();
        check(value, schema, where, problems);
        return problems;
    }

    private static void check(JsonNode value, JsonNode schema, String where, List<String> problems) {
        String type = schema.path("type").asText("");
        if (!type.isEmpty() && !hasType(value, type)) {
            problems.add(where + " is not of type '" + type + "'");
            return;
        }
        if (schema.has("enum")) {
            boolean found = false;
            for (JsonNode choice : schema.get("enum")) {
                found |= choice.equals(value);
            }
            if (!found) {
                problems.add(where + " " + value + " is not one of " + schema.get("enum"));
            }
        }
        if (!value.isObject()) {
            return;
        }
        for (JsonNode name : schema.path("required")) {
            if (!value.has(name.asText()) || value.get(name.asText()).isNull()) {
                problems.add("'" + name.asText() + "' is a required property of " + where);
            }
        }
        JsonNode properties = schema.path("properties");
        Iterator<Map.Entry<String, JsonNode>> fields = value.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode propertySchema = properties.get(field.getKey());
            if (propertySchema == null) {
                if (!schema.path("additionalProperties").asBoolean(true)) {
                    problems.add("Additional properties are not allowed in " + where + " ('" + field.getKey() + "' was unexpected)");
                }
                continue;
            }
            if (!field.getValue().isNull()) {
                check(field.getValue(), propertySchema, where + "." + field.getKey(), problems);
            }
        }
    }

    private static boolean hasType(JsonNode value, String type) {
        return switch (type) {
            case "object" -> value.isObject();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            case "array" -> value.isArray();
            default -> true;
        };
    }
}
