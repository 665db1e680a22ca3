package io.strata.cli.output;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prints results the way the openstack client does: {@code -f table} (default), {@code json},
 * {@code value} or {@code yaml}, with {@code -c} choosing columns. A single object is a
 * Field/Value table; a list is a table with one row per item.
 */
public final class Output {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final PrintStream out;
    private final String format;
    private final List<String> columns;

    public Output(PrintStream out, String format, List<String> columns) {
        this.out = out;
        this.format = format == null ? "table" : format;
        this.columns = columns == null ? List.of() : columns;
        if (!List.of("table", "json", "value", "yaml", "shell").contains(this.format)) {
            throw new IllegalArgumentException("invalid format '" + format + "': choose from table, json, value, yaml, shell");
        }
    }

    /** One object: field → value, in order. */
    public void show(Map<String, Object> fields) {
        Map<String, Object> chosen = choose(fields);
        switch (format) {
            case "json" -> out.println(json(toJson(chosen)));
            case "value" -> chosen.values().forEach(v -> out.println(text(v)));
            case "yaml" -> chosen.forEach((k, v) -> out.println(k + ": " + yaml(v)));
            case "shell" -> chosen.forEach((k, v) -> out.println(k.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_]", "_")
                    + "=\"" + text(v).replace("\"", "\\\"") + "\""));
            default -> {
                List<List<Object>> rows = new ArrayList<>();
                chosen.forEach((k, v) -> rows.add(List.of(k, v == null ? "None" : v)));
                table(List.of("Field", "Value"), rows);
            }
        }
    }

    /** Many objects: one row each, columns in order. */
    public void list(List<String> header, List<List<Object>> rows) {
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < header.size(); i++) {
            if (columns.isEmpty() || columns.contains(header.get(i))) {
                picked.add(i);
            }
        }
        if (picked.isEmpty()) {
            throw new IllegalArgumentException("no column named " + String.join(", ", columns) + "; columns are " + String.join(", ", header));
        }
        List<String> h = picked.stream().map(header::get).toList();
        List<List<Object>> r = rows.stream().map(row -> picked.stream().map(row::get).toList()).toList();
        switch (format) {
            case "json" -> {
                List<Map<String, Object>> items = new ArrayList<>();
                for (List<Object> row : r) {
                    Map<String, Object> item = new LinkedHashMap<>();
                    for (int i = 0; i < h.size(); i++) {
                        item.put(h.get(i), row.get(i));
                    }
                    items.add(item);
                }
                out.println(json(toJson(items)));
            }
            case "value" -> r.forEach(row -> out.println(String.join(" ", row.stream().map(Output::text).toList())));
            case "yaml" -> r.forEach(row -> {
                for (int i = 0; i < h.size(); i++) {
                    out.println((i == 0 ? "- " : "  ") + h.get(i) + ": " + yaml(row.get(i)));
                }
            });
            case "shell" -> throw new IllegalArgumentException("the shell format is for single objects");
            default -> table(h, r);
        }
    }

    private Map<String, Object> choose(Map<String, Object> fields) {
        if (columns.isEmpty()) {
            return fields;
        }
        Map<String, Object> chosen = new LinkedHashMap<>();
        for (String column : columns) {
            if (!fields.containsKey(column)) {
                throw new IllegalArgumentException("no field named " + column + "; fields are " + String.join(", ", fields.keySet()));
            }
            chosen.put(column, fields.get(column));
        }
        return chosen;
    }

    private void table(List<String> header, List<List<Object>> rows) {
        int[] widths = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            widths[i] = header.get(i).length();
        }
        List<List<String[]>> cells = new ArrayList<>();
        for (List<Object> row : rows) {
            List<String[]> lines = new ArrayList<>();
            for (int i = 0; i < row.size(); i++) {
                String[] parts = text(row.get(i)).split("\n", -1);
                for (String part : parts) {
                    widths[i] = Math.max(widths[i], part.length());
                }
                lines.add(parts);
            }
            cells.add(lines);
        }
        String rule = rule(widths);
        out.println(rule);
        out.println(line(widths, header.stream().map(s -> new String[] {s}).toList(), 0, List.of()));
        out.println(rule);
        for (int r = 0; r < cells.size(); r++) {
            List<String[]> row = cells.get(r);
            int height = row.stream().mapToInt(p -> p.length).max().orElse(1);
            for (int k = 0; k < height; k++) {
                out.println(line(widths, row, k, rows.get(r)));
            }
        }
        out.println(rule);
    }

    private static String rule(int[] widths) {
        StringBuilder b = new StringBuilder("+");
        for (int w : widths) {
            b.append("-".repeat(w + 2)).append('+');
        }
        return b.toString();
    }

    private static String line(int[] widths, List<String[]> row, int k, List<Object> raw) {
        StringBuilder b = new StringBuilder("|");
        for (int i = 0; i < widths.length; i++) {
            String cell = k < row.get(i).length ? row.get(i)[k] : "";
            boolean number = !raw.isEmpty() && raw.get(i) instanceof Number;
            String padded = number ? " ".repeat(widths[i] - cell.length()) + cell : cell + " ".repeat(widths[i] - cell.length());
            b.append(' ').append(padded).append(" |");
        }
        return b.toString();
    }

    /** How a value prints in a cell: lists one per line, maps as key='value'. */
    public static String text(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof Boolean bool) {
            return bool ? "True" : "False";
        }
        if (value instanceof JsonNode node) {
            if (node.isNull()) {
                return "None";
            }
            if (node.isBoolean()) {
                return node.booleanValue() ? "True" : "False";
            }
            if (node.isTextual()) {
                return node.textValue();
            }
            if (node.isArray()) {
                List<String> items = new ArrayList<>();
                node.forEach(n -> items.add(text(n)));
                return String.join("\n", items);
            }
            if (node.isObject()) {
                List<String> items = new ArrayList<>();
                node.fields().forEachRemaining(e -> items.add(e.getKey() + "='" + text(e.getValue()) + "'"));
                return String.join(", ", items);
            }
            return node.asText();
        }
        if (value instanceof List<?> list) {
            return String.join("\n", list.stream().map(Output::text).toList());
        }
        if (value instanceof Map<?, ?> map) {
            List<String> items = new ArrayList<>();
            map.forEach((k, v) -> items.add(k + "='" + text(v) + "'"));
            return String.join(", ", items);
        }
        return value.toString();
    }

    private static String yaml(Object value) {
        String text = text(value);
        return text.contains("\n") || text.contains(":") ? "'" + text.replace("'", "''").replace("\n", ", ") + "'" : text;
    }

    private static JsonNode toJson(Object value) {
        return MAPPER.valueToTree(value);
    }

    private static String json(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
