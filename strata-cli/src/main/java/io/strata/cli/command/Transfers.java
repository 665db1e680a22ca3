package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import io.strata.cli.client.ServiceClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Shared by the migration nouns (endpoint, replica, migration…): lookups by name or id, JSON
 * arguments, show fields as the Coriolis client prints them, and {@code --wait} for executions.
 */
final class Transfers {
    private static final Set<String> ACTIVE = Set.of("RUNNING", "CANCELLING", "PENDING");
    private static final long POLL_MILLIS = 500;

    private final Cli cli;

    Transfers(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    ServiceClient api() {
        return cli.migration();
    }

    /** An endpoint by id or unique name. */
    JsonNode endpoint(String nameOrId) {
        return unique(api().get("/endpoints").path("endpoints"), nameOrId, "endpoint");
    }

    JsonNode region(String nameOrId) {
        return unique(api().get("/regions").path("regions"), nameOrId, "region");
    }

    private static JsonNode unique(JsonNode items, String nameOrId, String what) {
        JsonNode byName = null;
        int named = 0;
        for (JsonNode item : items) {
            if (item.path("id").asText().equals(nameOrId)) {
                return item;
            }
            if (item.path("name").asText().equals(nameOrId)) {
                byName = item;
                named++;
            }
        }
        if (named > 1) {
            throw new CliException("More than one " + what + " exists with the name '" + nameOrId + "'.");
        }
        if (byName == null) {
            throw new CliException("No " + what + " with a name or ID of '" + nameOrId + "' exists.");
        }
        return byName;
    }

    /** A JSON object given inline or as @file (also accepted: --x-file options pass a path). */
    static ObjectNode jsonObject(String option, String value) {
        if (value == null) {
            return null;
        }
        String text = value;
        if (value.startsWith("@")) {
            try {
                text = Files.readString(Path.of(value.substring(1)));
            } catch (IOException e) {
                throw new CliException("Cannot read " + value.substring(1) + " for " + option + ": " + e.getMessage());
            }
        }
        JsonNode node;
        try {
            node = Json.parse(text);
        } catch (RuntimeException e) {
            throw new CliException(option + " is not valid JSON: " + e.getMessage());
        }
        if (!node.isObject()) {
            throw new CliException(option + " must be a JSON object");
        }
        return (ObjectNode) node;
    }

    /** The Coriolis client's pair of a JSON option: {@code --x JSON} or {@code --x-file PATH}, not both. */
    static ObjectNode jsonOption(String option, String inline, Path file) {
        if (inline != null && file != null) {
            throw new CliException(option + " and " + option + "-file are mutually exclusive");
        }
        return inline != null ? jsonObject(option, inline) : fromFile(option + "-file", file);
    }

    static ObjectNode fromFile(String option, Path file) {
        return file == null ? null : jsonObject(option, "@" + file);
    }

    /** The object's fields in the API's order; nested values are printed as JSON. */
    static Map<String, Object> fields(JsonNode object, Set<String> skip) {
        Map<String, Object> fields = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> entries = object.fields();
        while (entries.hasNext()) {
            Map.Entry<String, JsonNode> entry = entries.next();
            if (!skip.contains(entry.getKey())) {
                fields.put(entry.getKey(), entry.getValue());
            }
        }
        return fields;
    }

    /** An execution's fields, with its tasks summarised one per line as the Coriolis client does. */
    static Map<String, Object> executionFields(JsonNode execution) {
        Map<String, Object> fields = fields(execution, Set.of("tasks"));
        fields.put("tasks", tasksText(execution.path("tasks")));
        return fields;
    }

    static String tasksText(JsonNode tasks) {
        StringBuilder text = new StringBuilder();
        for (JsonNode task : tasks) {
            if (!text.isEmpty()) {
                text.append('\n');
            }
            text.append(task.path("task_type").asText()).append(' ').append(task.path("instance").asText()).append(": ")
                    .append(task.path("status").asText());
            JsonNode updates = task.path("progress_updates");
            if (updates.size() > 0) {
                text.append(" - ").append(updates.get(updates.size() - 1).path("message").asText());
            }
            if (task.hasNonNull("exception_details")) {
                text.append(" - error: ").append(task.path("exception_details").asText());
            }
        }
        return text.toString();
    }

    /**
     * Polls {@code path} (an execution or a migration, under {@code key}) until it is no longer
     * running, showing the running task and its progress; fails the command unless it completed.
     */
    JsonNode await(String path, String key, String label, Duration timeout) {
        ProgressLine progress = new ProgressLine(cli.terminal());
        long deadline = timeout == null ? 0 : System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode object = api().get(path).path(key);
            String status = object.path(key.equals("migration") ? "last_execution_status" : "status").asText();
            if (!ACTIVE.contains(status)) {
                if (status.equals("COMPLETED")) {
                    progress.finish(label + " completed");
                    return object;
                }
                progress.clear();
                throw new CliException(label + " ended " + status + failure(object.path("tasks")));
            }
            if (deadline != 0 && System.nanoTime() > deadline) {
                progress.clear();
                throw new CliException("Timed out after " + timeout.toSeconds() + " s waiting for " + label + "; it is " + status);
            }
            Integer percent = null;
            String state = label + ": " + status;
            for (JsonNode task : object.path("tasks")) {
                if (task.path("status").asText().equals("RUNNING")) {
                    JsonNode updates = task.path("progress_updates");
                    JsonNode last = updates.size() == 0 ? null : updates.get(updates.size() - 1);
                    state = label + ": " + task.path("task_type").asText() + " " + task.path("instance").asText()
                            + (last == null ? "" : " - " + last.path("message").asText());
                    if (last != null && last.path("total_steps").isNumber() && last.path("total_steps").asInt() > 0) {
                        percent = last.path("current_step").asInt() * 100 / last.path("total_steps").asInt();
                    }
                }
            }
            progress.update(state, percent);
            ServerWaiter.sleep(POLL_MILLIS);
        }
    }

    private static String failure(JsonNode tasks) {
        for (JsonNode task : tasks) {
            if (task.path("status").asText().equals("ERROR") && task.hasNonNull("exception_details")) {
                return ": " + task.path("task_type").asText() + " failed: " + task.path("exception_details").asText();
            }
        }
        return "";
    }
}
