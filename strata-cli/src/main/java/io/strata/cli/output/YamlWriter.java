package io.strata.cli.output;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * YAML as PyYAML's safe_dump(default_flow_style=False) writes it (the openstack client's
 * -f yaml): block style, keys sorted, sequences in mappings not indented, and strings quoted
 * exactly when YAML 1.1 would otherwise read them as something else (true, 1.5, 2026-01-01, null…).
 * One deliberate difference: multi-line strings are double-quoted with \n rather than folded.
 */
final class YamlWriter {
    // PyYAML's implicit resolvers: a plain scalar matching one of these is not a string.
    private static final Pattern IMPLICIT = Pattern.compile(String.join("|",
            "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            "[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
            "[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)",
            "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            "<<|~|null|Null|NULL|=",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \\t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"));
    private static final String ALWAYS_QUOTED_FIRST = "#,[]{}&*!|>'\"%@`";

    private final StringBuilder out = new StringBuilder();

    static String write(Object value) {
        YamlWriter writer = new YamlWriter();
        writer.node(value, 0, false);
        return writer.out.toString();
    }

    /** Writes a value that starts at the current position, continuing on new lines at {@code indent}. */
    private void node(Object value, int indent, boolean inline) {
        if (value instanceof Map<?, ?> map && !map.isEmpty()) {
            List<String> keys = new ArrayList<>();
            map.keySet().forEach(k -> keys.add(String.valueOf(k)));
            keys.sort(null);
            boolean first = true;
            for (String key : keys) {
                if (!(first && inline)) {
                    out.append(" ".repeat(indent));
                }
                first = false;
                out.append(scalar(key)).append(':');
                Object child = map.get(key);
                if (child instanceof Map<?, ?> m && !m.isEmpty()) {
                    out.append('\n');
                    node(child, indent + 2, false);
                } else if (child instanceof List<?> l && !l.isEmpty()) {
                    out.append('\n');
                    node(child, indent, false);
                } else {
                    out.append(' ').append(scalarOrEmpty(child)).append('\n');
                }
            }
        } else if (value instanceof List<?> list && !list.isEmpty()) {
            boolean first = true;
            for (Object item : list) {
                if (!(first && inline)) {
                    out.append(" ".repeat(indent));
                }
                first = false;
                out.append("- ");
                if ((item instanceof Map<?, ?> m && !m.isEmpty()) || (item instanceof List<?> l && !l.isEmpty())) {
                    node(item, indent + 2, true);
                } else {
                    out.append(scalarOrEmpty(item)).append('\n');
                }
            }
        } else {
            out.append(scalarOrEmpty(value)).append('\n');
        }
    }

    private static String scalarOrEmpty(Object value) {
        if (value instanceof Map<?, ?>) {
            return "{}";
        }
        if (value instanceof List<?>) {
            return "[]";
        }
        return scalar(value);
    }

    private static String scalar(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Boolean b) {
            return b ? "true" : "false";
        }
        if (value instanceof Double d) {
            if (Double.isNaN(d)) {
                return ".nan";
            }
            if (Double.isInfinite(d)) {
                return d > 0 ? ".inf" : "-.inf";
            }
            String repr = Python.floatRepr(d);
            return repr.contains(".") || !repr.contains("e") ? repr : repr.replace("e", ".0e");
        }
        if (value instanceof Number n) {
            return n.toString();
        }
        return string(value.toString());
    }

    private static String string(String s) {
        if (needsDoubleQuotes(s)) {
            return JsonWriter.write(s, false);
        }
        return plainAllowed(s) ? s : "'" + s.replace("'", "''") + "'";
    }

    private static boolean needsDoubleQuotes(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return true;
            }
        }
        return false;
    }

    private static boolean plainAllowed(String s) {
        if (s.isEmpty() || IMPLICIT.matcher(s).matches()) {
            return false;
        }
        if (s.charAt(0) == ' ' || s.charAt(s.length() - 1) == ' ' || ALWAYS_QUOTED_FIRST.indexOf(s.charAt(0)) >= 0) {
            return false;
        }
        char first = s.charAt(0);
        if ((first == '-' || first == '?' || first == ':') && (s.length() == 1 || s.charAt(1) == ' ')) {
            return false;
        }
        return !s.contains(": ") && !s.contains(" #") && !s.endsWith(":");
    }
}
