package io.strata.cli.output;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Output values are plain Java: String, Long, Double, Boolean, null, Map, List (and {@link Cell}).
 * JSON trees from the API are converted on the way in, so every formatter handles one model.
 */
public final class Values {
    private Values() {}

    public static Object plain(Object value) {
        if (value instanceof JsonNode node) {
            return fromJson(node);
        }
        if (value instanceof Integer || value instanceof Short) {
            return ((Number) value).longValue();
        }
        if (value instanceof Float f) {
            return f.doubleValue();
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> copy = new LinkedHashMap<>();
            map.forEach((k, v) -> copy.put(String.valueOf(k), plain(v)));
            return copy;
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>();
            list.forEach(v -> copy.add(plain(v)));
            return copy;
        }
        return value;
    }

    private static Object fromJson(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>();
            node.forEach(item -> list.add(fromJson(item)));
            return list;
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            node.properties().forEach(e -> map.put(e.getKey(), fromJson(e.getValue())));
            return map;
        }
        return node.asText();
    }

    /** What -f json, yaml and value print for a value. */
    static Object machine(Object value) {
        return value instanceof Cell cell ? cell.machine() : plain(value);
    }

    /** What a table cell shows: a cell's human face, else Python's str() of the value, as cliff prints it. */
    static String human(Object value) {
        String text = value instanceof Cell cell ? (cell.human() == null ? "None" : cell.human()) : Python.str(plain(value));
        return text.replace("\r\n", "\n").replace('\r', ' ');
    }
}
