package io.strata.cli.output;

/**
 * A value with two faces, like cliff's FormattableColumn: {@code machine} for -f json/yaml/value
 * (a plain value, map or list) and {@code human} for tables, e.g. addresses as
 * {@code {"private": ["10.0.0.3"]}} and "private=10.0.0.3".
 */
public record Cell(Object machine, String human) {
    public Cell {
        machine = Values.plain(machine);
    }
}
