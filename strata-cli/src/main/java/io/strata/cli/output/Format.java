package io.strata.cli.output;

import java.util.Locale;

/** The openstack client's output formats; shell is for single objects, csv for lists. */
public enum Format {
    TABLE, JSON, VALUE, YAML, SHELL, CSV;

    public static Format parse(String name, boolean list) {
        String wanted = name.toLowerCase(Locale.ROOT);
        for (Format format : values()) {
            if (format.name().toLowerCase(Locale.ROOT).equals(wanted) && format != (list ? SHELL : CSV)) {
                return format;
            }
        }
        throw new IllegalArgumentException("invalid choice: '" + name + "' (choose from " + (list ? "'csv', " : "")
                + "'json', " + (list ? "" : "'shell', ") + "'table', 'value', 'yaml')");
    }
}
