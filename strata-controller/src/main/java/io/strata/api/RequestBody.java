package io.strata.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.strata.core.CloudException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and checks a JSON request body, answering bad input the way OpenStack's JSON-schema
 * validation does: "Invalid input for field/attribute name. Value: …. … is not of type 'string'".
 * Every accessor throws a 400 {@link CloudException}; none returns a half-checked value.
 */
public final class RequestBody {
    private RequestBody() {}

    /** The body as a JSON object; 400 when it is missing, malformed or not an object. */
    public static ObjectNode parse(Context ctx) {
        byte[] bytes = ctx.bodyAsBytes();
        if (bytes.length == 0) {
            throw CloudException.badRequest("The request body is empty; a JSON object is required.");
        }
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw CloudException.badRequest("Malformed request body: %s", e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw CloudException.badRequest("Malformed request body");
        }
        if (node == null || !node.isObject()) {
            throw CloudException.badRequest("Malformed request body: a JSON object is required.");
        }
        return (ObjectNode) node;
    }

    /** The object under {@code key} of the body (e.g. "server"); 400 when absent or not an object. */
    public static ObjectNode member(ObjectNode body, String key) {
        JsonNode node = body.get(key);
        if (node == null || node.isNull()) {
            throw CloudException.badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property", key, key);
        }
        if (!node.isObject()) {
            throw invalid(key, node, "is not of type 'object'");
        }
        return (ObjectNode) node;
    }

    public static ObjectNode optionalObject(ObjectNode body, String key) {
        JsonNode node = body.get(key);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw invalid(key, node, "is not of type 'object'");
        }
        return (ObjectNode) node;
    }

    /** Rejects keys outside {@code allowed}, as schemas with additionalProperties: false do. */
    public static void onlyKeys(ObjectNode node, Set<String> allowed, String where) {
        Iterator<String> names = node.fieldNames();
        List<String> unknown = new ArrayList<>();
        while (names.hasNext()) {
            String name = names.next();
            if (!allowed.contains(name)) {
                unknown.add(name);
            }
        }
        if (!unknown.isEmpty()) {
            throw CloudException.badRequest("Invalid input for %s. Additional properties are not allowed (%s %s unexpected)",
                    where, String.join(", ", unknown.stream().map(u -> "'" + u + "'").toList()), unknown.size() == 1 ? "was" : "were");
        }
    }

    public static String requiredString(ObjectNode node, String key, int minLength, int maxLength) {
        String value = optionalString(node, key, minLength, maxLength);
        if (value == null) {
            throw CloudException.badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property", key, key);
        }
        return value;
    }

    public static String optionalString(ObjectNode node, String key, int minLength, int maxLength) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw invalid(key, value, "is not of type 'string'");
        }
        String text = value.textValue();
        if (text.length() < minLength) {
            throw invalid(key, value, "is too short");
        }
        if (text.length() > maxLength) {
            throw invalid(key, value, "is too long");
        }
        return text;
    }

    /** A string id or a bare integer (Nova accepts both for flavorRef and similar references). */
    public static String requiredReference(ObjectNode node, String key) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            throw CloudException.badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property", key, key);
        }
        if (value.isIntegralNumber()) {
            return value.asText();
        }
        if (!value.isTextual() || value.textValue().isEmpty()) {
            throw invalid(key, value, "is not of type 'string', 'integer'");
        }
        return value.textValue();
    }

    public static Boolean optionalBoolean(ObjectNode node, String key) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (value.isBoolean()) {
            return value.booleanValue();
        }
        // OpenStack's parameter_types.boolean also accepts these strings.
        if (value.isTextual()) {
            switch (value.textValue().toLowerCase(java.util.Locale.ROOT)) {
                case "true", "1", "t", "on", "y", "yes" -> {
                    return true;
                }
                case "false", "0", "f", "off", "n", "no" -> {
                    return false;
                }
                default -> { }
            }
        }
        throw invalid(key, value, "is not of type 'boolean'");
    }

    /** An integer given as a JSON number or a numeric string, within bounds. */
    public static Integer optionalInt(ObjectNode node, String key, long min, long max) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        long number;
        if (value.isIntegralNumber() && value.canConvertToLong()) {
            number = value.longValue();
        } else if (value.isTextual() && value.textValue().trim().matches("-?\\d{1,18}")) {
            number = Long.parseLong(value.textValue().trim());
        } else {
            throw invalid(key, value, "is not of type 'integer', 'string'");
        }
        if (number < min) {
            throw invalid(key, value, "is less than the minimum of " + min);
        }
        if (number > max) {
            throw invalid(key, value, "is greater than the maximum of " + max);
        }
        return (int) number;
    }

    public static int requiredInt(ObjectNode node, String key, long min, long max) {
        Integer value = optionalInt(node, key, min, max);
        if (value == null) {
            throw CloudException.badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property", key, key);
        }
        return value;
    }

    public static Double optionalNumber(ObjectNode node, String key, double min, double max) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        double number;
        if (value.isNumber()) {
            number = value.doubleValue();
        } else if (value.isTextual()) {
            try {
                number = Double.parseDouble(value.textValue().trim());
            } catch (NumberFormatException e) {
                throw invalid(key, value, "is not of type 'number', 'string'");
            }
        } else {
            throw invalid(key, value, "is not of type 'number', 'string'");
        }
        if (!(number >= min) || number > max) {
            throw invalid(key, value, "is out of range [" + min + ", " + max + "]");
        }
        return number;
    }

    /** A flat map of string to string (metadata, extra specs, properties), with Nova's limits. */
    public static Map<String, String> stringMap(ObjectNode node, String key, int maxKeyLength, int maxValueLength) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isObject()) {
            throw invalid(key, value, "is not of type 'object'");
        }
        Map<String, String> map = new LinkedHashMap<>();
        var fields = value.fields();
        while (fields.hasNext()) {
            var entry = fields.next();
            String name = entry.getKey();
            JsonNode item = entry.getValue();
            if (name.isEmpty() || name.length() > maxKeyLength) {
                throw CloudException.badRequest("Invalid input for field/attribute %s. Key '%s' must be 1 to %d characters long",
                        key, name, maxKeyLength);
            }
            if (!item.isTextual()) {
                throw invalid(key + "." + name, item, "is not of type 'string'");
            }
            if (item.textValue().length() > maxValueLength) {
                throw invalid(key + "." + name, item, "is too long");
            }
            map.put(name, item.textValue());
        }
        return map;
    }

    public static List<String> optionalStringList(ObjectNode node, String key, int maxItems, int maxLength) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isArray()) {
            throw invalid(key, value, "is not of type 'array'");
        }
        if (value.size() > maxItems) {
            throw invalid(key, value, "is too long");
        }
        List<String> items = new ArrayList<>();
        for (JsonNode item : value) {
            if (!item.isTextual() || item.textValue().isEmpty() || item.textValue().length() > maxLength) {
                throw invalid(key, item, "is not a valid string");
            }
            items.add(item.textValue());
        }
        return items;
    }

    /**
     * A field the security-group APIs read leniently: its text whether given as a string or a
     * number, null when absent, null or empty.
     */
    public static String lenientText(ObjectNode node, String key) {
        JsonNode value = node.get(key);
        return value == null || value.isNull() || value.asText().isEmpty() ? null : value.asText();
    }

    /**
     * A port or similar number given as a number or a string of one, null when absent;
     * {@code notAnInteger} words the 400 from the key and the value, in the API's own terms.
     */
    public static Integer lenientInteger(ObjectNode node, String key, java.util.function.BiFunction<String, String, CloudException> notAnInteger) {
        String value = lenientText(node, key);
        if (value == null) {
            return null;
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw notAnInteger.apply(key, value);
        }
    }

    public static CloudException invalid(String key, JsonNode value, String reason) {
        String shown = value.isTextual() ? value.textValue() : value.toString();
        if (shown.length() > 200) {
            shown = shown.substring(0, 200) + "…";
        }
        return CloudException.badRequest("Invalid input for field/attribute %s. Value: %s. %s %s", key, shown,
                value.isTextual() ? "'" + shown + "'" : shown, reason);
    }
}
