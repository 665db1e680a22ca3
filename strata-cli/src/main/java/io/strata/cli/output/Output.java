package io.strata.cli.output;

import static java.util.Objects.requireNonNull;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Prints what a command found, as the openstack client (cliff) does: one object as a
 * Field/Value table ({@link #show}), many as a table with a row each ({@link #list}), or the
 * same data as json, yaml, value, shell or csv.
 */
public final class Output {
    private final PrintStream out;
    private final OutputSettings settings;

    public Output(PrintStream out, OutputSettings settings) {
        this.out = requireNonNull(out, "out is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    /** One object: its fields in order (the commands sort them where the openstack client does). */
    public void show(Map<String, ?> fields) {
        List<String> names = chosen(new ArrayList<>(fields.keySet()));
        Map<String, Object> machine = new LinkedHashMap<>();
        names.forEach(name -> machine.put(name, Values.machine(fields.get(name))));
        switch (settings.format()) {
            case TABLE -> {
                List<List<String>> rows = names.stream().map(name -> List.of(name, Values.human(fields.get(name)))).toList();
                out.print(rows.isEmpty() ? "\n" : Table.render(List.of("Field", "Value"), List.of(Table.Align.LEFT, Table.Align.LEFT), rows));
            }
            case JSON -> out.println(JsonWriter.write(machine, !settings.noIndent()));
            case VALUE -> machine.values().forEach(value -> out.println(Python.str(value)));
            case YAML -> out.print(YamlWriter.write(machine));
            case SHELL -> machine.forEach((name, value) -> out.println(settings.prefix() + shellName(name) + "=\""
                    + Python.str(value).replace("\"", "\\\"") + "\""));
            case CSV -> throw new IllegalArgumentException("the csv format is for lists");
        }
        out.flush();
    }

    /** Many objects: a row of values per object, in the order of {@code header}. */
    public void list(List<String> header, List<? extends List<?>> rows) {
        List<List<?>> sorted = sort(header, rows);
        List<String> names = chosen(header);
        List<Integer> picked = names.stream().map(header::indexOf).toList();
        List<List<Object>> table = new ArrayList<>();
        for (List<?> row : sorted) {
            table.add(picked.stream().map(i -> (Object) row.get(i)).toList());
        }
        switch (settings.format()) {
            case TABLE -> out.print(table.isEmpty() && !settings.printEmpty() ? "\n" : Table.render(names, aligns(table, names.size()),
                    table.stream().map(row -> row.stream().map(Values::human).toList()).toList()));
            case JSON -> out.println(JsonWriter.write(objects(names, table), !settings.noIndent()));
            case VALUE -> table.forEach(row -> out.println(row.stream().map(v -> Python.str(Values.machine(v)))
                    .collect(Collectors.joining(" "))));
            case YAML -> out.print(YamlWriter.write(objects(names, table)));
            case CSV -> {
                out.println(names.stream().map(this::csv).collect(Collectors.joining(",")));
                table.forEach(row -> out.println(row.stream().map(v -> csv(Values.machine(v))).collect(Collectors.joining(","))));
            }
            case SHELL -> throw new IllegalArgumentException("the shell format is for single objects");
        }
        out.flush();
    }

    /** -c keeps the named columns in their original order; naming none that exist is an error. */
    private List<String> chosen(List<String> available) {
        if (settings.columns().isEmpty()) {
            return available;
        }
        List<String> chosen = available.stream().filter(settings.columns()::contains).toList();
        if (chosen.isEmpty()) {
            throw new IllegalArgumentException("No recognized column names in " + Python.repr(settings.columns())
                    + ". Recognized columns are " + Python.repr(available) + ".");
        }
        return chosen;
    }

    private List<List<?>> sort(List<String> header, List<? extends List<?>> rows) {
        List<List<?>> sorted = new ArrayList<>(rows);
        List<String> keys = settings.sortColumns().stream().filter(header::contains).toList();
        // Stable sorts from the last key to the first give a sort by all keys, as cliff does.
        for (int k = keys.size() - 1; k >= 0; k--) {
            int index = header.indexOf(keys.get(k));
            Comparator<List<?>> order = Comparator.comparing(row -> Values.machine(row.get(index)), Output::compare);
            sorted.sort(settings.sortDescending() ? order.reversed() : order);
        }
        return sorted;
    }

    private static int compare(Object a, Object b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : 1) : -1;
        }
        if (a instanceof Number x && b instanceof Number y) {
            return Double.compare(x.doubleValue(), y.doubleValue());
        }
        return Python.str(a).compareTo(Python.str(b));
    }

    /** Numbers right-aligned, everything else left, judged by the first row as cliff does. */
    private static List<Table.Align> aligns(List<List<Object>> rows, int columns) {
        List<Table.Align> aligns = new ArrayList<>();
        for (int i = 0; i < columns; i++) {
            Object first = rows.isEmpty() ? null : Values.plain(rows.get(0).get(i));
            aligns.add(first instanceof Number ? Table.Align.RIGHT : Table.Align.LEFT);
        }
        return aligns;
    }

    private static List<Map<String, Object>> objects(List<String> names, List<List<Object>> rows) {
        List<Map<String, Object>> objects = new ArrayList<>();
        for (List<Object> row : rows) {
            Map<String, Object> object = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                object.put(names.get(i), Values.machine(row.get(i)));
            }
            objects.add(object);
        }
        return objects;
    }

    /** A field as Python's csv module writes it, in the --quote mode chosen. */
    private String csv(Object value) {
        boolean number = value instanceof Number || value instanceof Boolean;
        String text = value == null ? "" : Python.str(value);
        boolean special = text.contains(",") || text.contains("\"") || text.contains("\n") || text.contains("\r");
        return switch (settings.quote()) {
            case "all" -> quoted(text);
            case "nonnumeric" -> number ? text : quoted(text);
            case "minimal" -> special ? quoted(text) : text;
            default -> text.replace("\\", "\\\\").replace(",", "\\,").replace("\"", "\\\"").replace("\n", "\\\n");
        };
    }

    private static String quoted(String text) {
        return "\"" + text.replace("\"", "\"\"") + "\"";
    }

    /** cliff's shell variable names: lower case, spaces, colons and dashes as underscores. */
    private static String shellName(String name) {
        return name.toLowerCase(Locale.ROOT).replace(' ', '_').replace(':', '_').replace('-', '_');
    }
}
