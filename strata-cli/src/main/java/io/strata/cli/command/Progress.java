package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.function.Predicate;

/**
 * {@code --wait}: polls a server until it reaches a state, showing a spinner with its status, task
 * state and progress on the terminal (one final line when stderr is not a terminal).
 */
final class Progress {
    private static final char[] SPINNER = {'|', '/', '-', '\\'};

    private final CloudClient client;
    private final PrintStream err;
    private final boolean interactive;

    Progress(CloudClient client) {
        this.client = client;
        this.err = System.err;
        this.interactive = System.console() != null && System.getenv("TERM") != null && !"dumb".equals(System.getenv("TERM"));
    }

    /** Waits until {@code done} holds for the server; ERROR (unless expected) fails with the server's fault. */
    JsonNode waitFor(String id, String what, Predicate<JsonNode> done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int tick = 0;
        while (true) {
            JsonNode server = client.get("compute", "/servers/" + id).path("server");
            String status = server.path("status").asText();
            if (done.test(server)) {
                finish(what + ": " + status);
                return server;
            }
            if (status.equals("ERROR")) {
                finish(what + ": ERROR");
                String fault = server.path("fault").path("message").asText("no fault recorded");
                throw new CloudException(500, "Server " + server.path("name").asText() + " went to ERROR: " + fault);
            }
            if (interactive) {
                String task = server.path("OS-EXT-STS:task_state").asText("");
                int progress = server.path("progress").asInt(0);
                err.printf("\r%c %s: %s%s %s", SPINNER[tick++ % SPINNER.length], what, status,
                        task.isEmpty() || task.equals("null") ? "" : " (" + task + ")", bar(progress));
                err.flush();
            }
            if (System.nanoTime() > deadline) {
                finish(what + ": still " + status);
                throw new CloudException(0, "Timed out after " + timeout.toSeconds() + " s waiting for " + what + "; the server is " + status);
            }
            sleep();
        }
    }

    /** Waits until the server is gone (404). */
    void waitGone(String id, String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int tick = 0;
        while (true) {
            var response = client.raw("GET", "compute", "/servers/" + id);
            if (response.statusCode() == 404) {
                finish(what + ": deleted");
                return;
            }
            if (interactive) {
                err.printf("\r%c %s: deleting", SPINNER[tick++ % SPINNER.length], what);
                err.flush();
            }
            if (System.nanoTime() > deadline) {
                finish(what + ": not gone");
                throw new CloudException(0, "Timed out after " + timeout.toSeconds() + " s waiting for " + what + " to be deleted");
            }
            sleep();
        }
    }

    private static String bar(int progress) {
        int filled = Math.max(0, Math.min(20, progress / 5));
        return "[" + "#".repeat(filled) + " ".repeat(20 - filled) + "] " + progress + "%";
    }

    private void finish(String line) {
        if (interactive) {
            err.print("\r\u001b[K");
        }
        err.println(line);
    }

    private static void sleep() {
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudException(0, "interrupted");
        }
    }
}
