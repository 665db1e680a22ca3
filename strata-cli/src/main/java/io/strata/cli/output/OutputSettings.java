package io.strata.cli.output;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * How one command prints: the format (-f), the columns to keep (-c), and the formatters' own
 * options (--noindent, --prefix, --print-empty, --sort-column, --sort-descending, --quote).
 */
public record OutputSettings(Format format, List<String> columns, boolean noIndent, String prefix, boolean printEmpty,
        List<String> sortColumns, boolean sortDescending, String quote) {
    public OutputSettings {
        requireNonNull(format, "format is null");
        columns = columns == null ? List.of() : List.copyOf(columns);
        prefix = prefix == null ? "" : prefix;
        sortColumns = sortColumns == null ? List.of() : List.copyOf(sortColumns);
        quote = quote == null ? "nonnumeric" : quote;
        if (!List.of("all", "minimal", "none", "nonnumeric").contains(quote)) {
            throw new IllegalArgumentException("invalid choice: '" + quote + "' (choose from 'all', 'minimal', 'none', 'nonnumeric')");
        }
    }

    public static OutputSettings table() {
        return new OutputSettings(Format.TABLE, List.of(), false, "", false, List.of(), false, "nonnumeric");
    }
}
