package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a command writes: results to {@code out}, progress and errors to {@code err}.
 * {@code errIsTerminal} decides whether progress is animated or kept to a final line;
 * {@code outIsTerminal} keeps binary data (image save) off a screen.
 */
public record Terminal(PrintStream out, boolean outIsTerminal, PrintStream err, boolean errIsTerminal, int width) {
    public Terminal {
        requireNonNull(out, "out is null");
        requireNonNull(err, "err is null");
    }

    /** The process's own stdout and stderr. */
    public static Terminal system() {
        return new Terminal(System.out, isTerminal(1), System.err, isTerminal(2), columns());
    }

    /**
     * Whether a file descriptor is a terminal. Java has no isatty; on Linux the descriptor's link
     * in /proc names the tty. System.console() is no substitute: it describes stdin and stdout,
     * and since JDK 22 it exists even when they are redirected.
     */
    static boolean isTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    private static int columns() {
        try {
            int columns = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80"));
            return columns > 20 ? columns : 80;
        } catch (NumberFormatException e) {
            return 80;
        }
    }
}
