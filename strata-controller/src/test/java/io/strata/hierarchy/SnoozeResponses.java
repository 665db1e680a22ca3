package io.strata.hierarchy;


import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.ApiClient;
import java.time.Duration;

/** Polls getVirtualClusterResponse until the cluster is settled, as Snooze clients do. */
final class SnoozeResponses {
    private SnoozeResponses() {}

    static JsonNode await(ApiClient snooze, String taskId) {
        JsonNode[] response = new JsonNode[1];
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            ApiClient.Response r = snooze.post("/groupmanager?getVirtualClusterResponse", taskId).expect(200);
            if (r.body().length == 0) {
                return false;
            }
            response[0] = r.json();
            return true;
        });
        return response[0];
    }
}
