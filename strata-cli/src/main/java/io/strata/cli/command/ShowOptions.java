package io.strata.cli.command;

import io.strata.cli.output.Format;
import io.strata.cli.output.OutputSettings;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Output options of commands that show one object (the openstack client's ShowOne). */
public final class ShowOptions {
    @Option(names = {"-f", "--format"}, paramLabel = "<format>", converter = FormatConverter.class, defaultValue = "table",
            description = "Output format: table, json, value, yaml or shell (default: table).")
    Format format;

    @Option(names = {"-c", "--column"}, paramLabel = "<column>", description = "Field to show (repeat for several).")
    List<String> columns;

    @Option(names = "--noindent", description = "Print JSON on one line.")
    boolean noIndent;

    @Option(names = "--prefix", paramLabel = "<prefix>", description = "Prefix for the variable names of -f shell.")
    String prefix;

    OutputSettings settings() {
        return new OutputSettings(format, columns, noIndent, prefix, false, List.of(), false, null);
    }

    static final class FormatConverter implements CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            try {
                return Format.parse(value, false);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
