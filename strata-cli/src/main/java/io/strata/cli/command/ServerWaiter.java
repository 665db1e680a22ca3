package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Response;
import io.strata.cli.client.ServiceClient;
import java.time.Duration;
import java.util.Set;

/**
 * {@code --wait} for servers: polls until the server reaches a status with no task running (or
 * is gone), showing status, task state and the server's {@code progress} on the way. A server
 * that lands in ERROR fails the command with its fault message.
 */
final class ServerWaiter {
    private static final long POLL_MILLIS = 500;
    private static final long FRAME_MILLIS = 100;

    private final ServiceClient compute;
    private final Terminal terminal;
    private final Duration timeout;

    ServerWaiter(ServiceClient compute, Terminal terminal, Duration timeout) {
        this.compute = requireNonNull(compute, "compute is null");
        this.terminal = requireNonNull(terminal, "terminal is null");
        this.timeout = timeout;
    }

    /** Waits until the server's status is one of {@code targets} and no task is running. */
    JsonNode untilStatus(String id, String name, Set<String> targets) {
        ProgressLine progress = new ProgressLine(terminal);
        long deadline = deadline();
        while (true) {
            JsonNode server = compute.get("/servers/" + id).path("server");
            String status = server.path("status").asText();
            boolean taskRunning = server.hasNonNull("OS-EXT-STS:task_state");
            if (targets.contains(status) && !taskRunning) {
                progress.finish("Server " + name + " is " + status);
                return server;
            }
            if (status.equals("ERROR") && !taskRunning) {
                progress.clear();
                throw error(server, name);
            }
            animate(progress, server, name, deadline, "to be " + String.join(" or ", targets));
        }
    }

    /** Waits until the server answers 404. */
    void untilDeleted(String id, String name) {
        ProgressLine progress = new ProgressLine(terminal);
        long deadline = deadline();
        while (true) {
            Response response = compute.tryGet("/servers/" + id);
            if (response.status() == 404) {
                progress.finish("Server " + name + " is deleted");
                return;
            }
            JsonNode server = response.orThrow().json().path("server");
            if (server.path("status").asText().equals("ERROR") && !server.hasNonNull("OS-EXT-STS:task_state")) {
                progress.clear();
                throw error(server, name);
            }
            animate(progress, server, name, deadline, "to be deleted");
        }
    }

    /** Keeps the spinner turning until the next poll is due. */
    private void animate(ProgressLine progress, JsonNode server, String name, long deadline, String goal) {
        if (deadline != 0 && System.nanoTime() > deadline) {
            progress.clear();
            throw new CliException("Timed out after " + timeout.toSeconds() + " s waiting for server " + name + " " + goal
                    + "; it is " + describe(server));
        }
        Integer percent = server.path("progress").isNumber() ? server.path("progress").asInt() : null;
        for (long slept = 0; slept < POLL_MILLIS; slept += FRAME_MILLIS) {
            progress.update("Server " + name + ": " + describe(server), percent);
            sleep(terminal.errIsTerminal() ? FRAME_MILLIS : POLL_MILLIS);
            if (!terminal.errIsTerminal()) {
                return;
            }
        }
    }

    private static String describe(JsonNode server) {
        String task = server.path("OS-EXT-STS:task_state").asText(null);
        return server.path("status").asText("?") + (task == null ? "" : " (" + task + ")");
    }

    private static CliException error(JsonNode server, String name) {
        String fault = server.path("fault").path("message").asText(null);
        return new CliException("Server " + name + " went to ERROR: " + (fault == null ? "the cloud recorded no fault" : fault));
    }

    private long deadline() {
        return timeout == null ? 0 : System.nanoTime() + timeout.toNanos();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("Interrupted while waiting");
        }
    }
}
