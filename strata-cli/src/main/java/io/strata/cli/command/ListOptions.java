package io.strata.cli.command;

import io.strata.cli.output.Format;
import io.strata.cli.output.OutputSettings;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Output options of commands that list objects (the openstack client's Lister). */
public final class ListOptions {
    @Option(names = {"-f", "--format"}, paramLabel = "<format>", converter = FormatConverter.class, defaultValue = "table",
            description = "Output format: table, json, value, yaml or csv (default: table).")
    Format format;

    @Option(names = {"-c", "--column"}, paramLabel = "<column>", description = "Column to show (repeat for several).")
    List<String> columns;

    @Option(names = "--noindent", description = "Print JSON on one line.")
    boolean noIndent;

    @Option(names = "--quote", paramLabel = "<mode>", description = "Quoting of -f csv: all, minimal, none or nonnumeric (default).")
    String quote;

    @Option(names = "--print-empty", description = "Print an empty table when there is nothing to list.")
    boolean printEmpty;

    @Option(names = "--sort-column", paramLabel = "<column>", description = "Sort by this column (repeat for several).")
    List<String> sortColumns;

    @ArgGroup(exclusive = true)
    SortDirection direction;

    static final class SortDirection {
        @Option(names = "--sort-ascending", description = "Sort ascending (default).")
        boolean ascending;

        @Option(names = "--sort-descending", description = "Sort descending.")
        boolean descending;
    }

    OutputSettings settings() {
        return new OutputSettings(format, columns, noIndent, "", printEmpty, sortColumns, direction != null && direction.descending, quote);
    }

    static final class FormatConverter implements CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            try {
                return Format.parse(value, true);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
