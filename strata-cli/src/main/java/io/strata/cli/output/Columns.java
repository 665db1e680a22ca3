package io.strata.cli.output;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The openstack client's formatted columns (osc_lib's format_columns): how maps and lists read
 * in a table, while -f json keeps their structure.
 */
public final class Columns {
    private Columns() {}

    /** {@code a='1', b='2'}, keys sorted; nested maps flattened as {@code outer.inner='v'}. */
    public static Cell dict(Object map) {
        Object plain = Values.plain(map);
        return new Cell(plain == null ? Map.of() : plain, plain == null ? "" : formatDict(asMap(plain), null));
    }

    /** {@code a, b}, sorted. */
    public static Cell list(Object list) {
        Object plain = Values.plain(list);
        List<String> items = new ArrayList<>();
        if (plain instanceof List<?> l) {
            l.forEach(item -> items.add(Python.str(item)));
        }
        items.sort(null);
        return new Cell(plain == null ? List.of() : plain, String.join(", ", items));
    }

    /** One {@code key='value'} line per map. */
    public static Cell listOfDicts(Object list) {
        Object plain = Values.plain(list);
        List<String> lines = new ArrayList<>();
        if (plain instanceof List<?> l) {
            l.forEach(item -> lines.add(item instanceof Map<?, ?> m ? formatDict(asMap(m), null) : Python.str(item)));
        }
        return new Cell(plain == null ? List.of() : plain, String.join("\n", lines));
    }

    /** {@code net1=a, b; net2=c}: keys sorted, each list sorted. */
    public static Cell dictOfLists(Map<String, List<String>> map) {
        List<String> groups = new ArrayList<>();
        map.keySet().stream().sorted().forEach(key -> {
            List<String> values = new ArrayList<>(map.get(key));
            values.sort(null);
            groups.add(key + "=" + String.join(", ", values));
        });
        return new Cell(map, String.join("; ", groups));
    }

    static String formatDict(Map<String, Object> map, String prefix) {
        List<String> parts = new ArrayList<>();
        map.keySet().stream().sorted().forEach(key -> {
            String name = prefix == null ? key : prefix + "." + key;
            Object value = map.get(key);
            if (value instanceof Map<?, ?> nested) {
                // osc_lib recurses once into nested maps; an empty one adds nothing (osc_lib leaves ", ,").
                if (!nested.isEmpty()) {
                    parts.add(formatDict(asMap(nested), name));
                }
            } else if (value == null) {
                parts.add(name + "=");
            } else {
                parts.add(name + "='" + Python.str(value) + "'");
            }
        });
        return String.join(", ", parts);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value) {
        return value instanceof Map<?, ?> ? (Map<String, Object>) value : Map.of();
    }
}
