package io.strata.cli.command;

import io.strata.cli.client.CliException;
import java.io.PrintStream;
import java.util.List;
import java.util.function.Consumer;

/**
 * Deleting several things at once, as the openstack client does: try every one, report each
 * failure, and fail at the end if any did. With a single argument its error is the only line.
 */
final class Deletion {
    private Deletion() {}

    static void each(List<String> names, String plural, PrintStream err, Consumer<String> delete) {
        if (names.size() == 1) {
            delete.accept(names.get(0));
            return;
        }
        int failed = 0;
        for (String name : names) {
            try {
                delete.accept(name);
            } catch (CliException e) {
                failed++;
                err.println("strata: " + e.getMessage());
            }
        }
        if (failed > 0) {
            throw new CliException("Failed to delete " + failed + " of " + names.size() + " " + plural + ".");
        }
    }
}
