package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import java.io.PrintStream;

/**
 * One line of progress on stderr, redrawn in place on a terminal (spinner, state, bar). Off a
 * terminal nothing is drawn, so logs and pipes only get the final line.
 */
final class ProgressLine {
    private static final String SPINNER = "|/-\\";

    private final PrintStream err;
    private final boolean animate;
    private final int width;
    private final long started = System.nanoTime();
    private int ticks;
    private boolean drawn;
    private Thread clearOnExit;

    ProgressLine(Terminal terminal) {
        requireNonNull(terminal, "terminal is null");
        this.err = terminal.err();
        this.animate = terminal.errIsTerminal();
        this.width = terminal.width();
    }

    /** Redraws the line: spinner, what is happening, and a bar when a percentage is known. */
    void update(String state, Integer percent) {
        if (!animate) {
            return;
        }
        StringBuilder line = new StringBuilder().append(SPINNER.charAt(ticks++ % SPINNER.length())).append(' ').append(state);
        if (percent != null) {
            int filled = Math.max(0, Math.min(20, percent / 5));
            line.append(" [").append("#".repeat(filled)).append(" ".repeat(20 - filled)).append("] ").append(percent).append('%');
        }
        line.append("  ").append(elapsed());
        String text = line.length() >= width ? line.substring(0, width - 1) : line.toString();
        // \r back to the start, then erase to the end of the line: the new text may be shorter.
        err.print("\r" + text + "\u001b[K");
        err.flush();
        drawn = true;
        if (clearOnExit == null) {
            // Ctrl-C in the middle of a wait: leave the terminal with a clean line for the prompt.
            clearOnExit = new Thread(() -> {
                err.print("\r\u001b[K");
                err.flush();
            }, "strata-progress-clear");
            Runtime.getRuntime().addShutdownHook(clearOnExit);
        }
    }

    /** Replaces the progress with a final line, on a terminal or not. */
    void finish(String line) {
        clear();
        err.println(line + " (" + elapsed() + ")");
        err.flush();
    }

    /** Removes the progress line (before an error message takes its place). */
    void clear() {
        if (drawn) {
            err.print("\r\u001b[K");
            err.flush();
            drawn = false;
        }
        if (clearOnExit != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(clearOnExit);
            } catch (IllegalStateException e) {
                // Already shutting down: the hook runs anyway, harmlessly.
            }
            clearOnExit = null;
        }
    }

    String elapsed() {
        return String.format("%.1f s", (System.nanoTime() - started) / 1e9);
    }
}
