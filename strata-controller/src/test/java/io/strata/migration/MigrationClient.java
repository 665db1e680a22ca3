package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.ApiClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/** The migration API as tests use it: paths under the project, and waiting for executions. */
final class MigrationClient {
    final ApiClient api;
    final String project;

    MigrationClient(ApiClient api) {
        this.api = api;
        JsonNode projects = api.get("/identity/v3/auth/projects").expect(200).json().get("projects");
        this.project = projects.get(0).get("id").asText();
    }

    String path(String rest) {
        return "/migration/v1/" + project + rest;
    }

    ApiClient.Response get(String rest) {
        return api.get(path(rest));
    }

    ApiClient.Response post(String rest, String body) {
        return api.post(path(rest), body);
    }

    ApiClient.Response put(String rest, String body) {
        return api.put(path(rest), body);
    }

    ApiClient.Response delete(String rest) {
        return api.delete(path(rest));
    }

    String qemuHostEndpoint(String name, Path dir) {
        return post("/endpoints", """
                {"endpoint": {"name": "%s", "type": "qemu-host", "description": "test", "connection_info": {"path": "%s"}}}
                """.formatted(name, dir)).expect(200).json().at("/endpoint/id").asText();
    }

    String replica(String origin, String destination, String instance) {
        return post("/replicas", """
                {"replica": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["%s"],
                 "source_environment": {}, "destination_environment": {}, "network_map": {"default": "default"}, "notes": "t"}}
                """.formatted(origin, destination, instance)).expect(200).json().at("/replica/id").asText();
    }

    String execute(String replica) {
        return post("/replicas/" + replica + "/executions", "{\"execution\": {\"shutdown_instances\": false}}").expect(200)
                .json().at("/execution/id").asText();
    }

    JsonNode execution(String replica, String execution) {
        return get("/replicas/" + replica + "/executions/" + execution).expect(200).json().get("execution");
    }

    /** Waits until the execution leaves RUNNING/CANCELLING and returns it. */
    JsonNode awaitExecution(String replica, String execution) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last.set(execution(replica, execution));
            String status = last.get().get("status").asText();
            return !status.equals("RUNNING") && !status.equals("CANCELLING");
        });
        return last.get();
    }

    JsonNode awaitMigration(String migration) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        try {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
                last.set(get("/migrations/" + migration).expect(200).json().get("migration"));
                String status = last.get().get("status").asText();
                return !status.equals("RUNNING") && !status.equals("CANCELLING");
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            // Where it stood is what tells a slow appliance boot from a hung task.
            throw new AssertionError("migration " + migration + " still running after 120 s: "
                    + (last.get() == null ? "never read" : last.get().get("tasks").toPrettyString()), e);
        }
        return last.get();
    }

    /** Waits until a REPLICATE_DISKS task reports some progress. */
    void awaitReplicationProgress(java.util.function.Supplier<JsonNode> tasks) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
            for (JsonNode task : tasks.get()) {
                if (task.get("task_type").asText().equals("REPLICATE_DISKS") && task.get("status").asText().equals("RUNNING")
                        && task.get("progress_updates").size() > 0) {
                    return true;
                }
            }
            return false;
        });
    }

    static void assertCompleted(JsonNode execution) {
        assertThat(execution.get("status").asText()).as("execution %s", execution.toPrettyString()).isEqualTo("COMPLETED");
    }
}
