package io.strata.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/** Test helpers for servers and images through the public APIs. */
public final class Servers {
    private Servers() {}

    /** Uploads a small raw image through the Image API and returns its id. */
    public static String uploadImage(ApiClient client, String name, byte[] data, String extraJson) {
        String body = "{\"name\": \"" + name + "\", \"disk_format\": \"raw\", \"container_format\": \"bare\""
                + (extraJson == null ? "" : ", " + extraJson) + "}";
        String id = client.post("/image/v2/images", body).expect(201).json().get("id").asText();
        client.sendBytes("PUT", "/image/v2/images/" + id + "/file", data, Map.of("Content-Type", "application/octet-stream")).expect(204);
        return id;
    }

    public static String uploadImage(ApiClient client, String name) {
        return uploadImage(client, name, ("disk of " + name).getBytes(StandardCharsets.UTF_8), null);
    }

    /** Uploads an image every project can boot (admin only). */
    public static String uploadPublicImage(ApiClient admin, String name) {
        String id = uploadImage(admin, name);
        admin.patch("/image/v2/images/" + id, "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"public\"}]",
                "application/openstack-images-v2.1-json-patch").expect(200);
        return id;
    }

    /** Creates a server and returns its id (202 expected). */
    public static String create(ApiClient client, String name, String imageId, String flavorId, String extraJson) {
        String body = "{\"server\": {\"name\": \"" + name + "\", \"imageRef\": \"" + imageId + "\", \"flavorRef\": \"" + flavorId + "\""
                + (extraJson == null ? "" : ", " + extraJson) + "}}";
        return client.post("/compute/v2.1/servers", body).expect(202).json().at("/server/id").asText();
    }

    public static JsonNode show(ApiClient client, String id) {
        return client.get("/compute/v2.1/servers/" + id).expect(200).json().get("server");
    }

    /** Waits until the server's status is {@code status} (failing fast on an unexpected ERROR). */
    public static JsonNode waitFor(ApiClient client, String id, String status, Duration timeout) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(timeout).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            last[0] = show(client, id);
            String current = last[0].get("status").asText();
            if (!status.equals("ERROR")) {
                assertThat(current).as("server %s (fault %s)", id, last[0].get("fault")).isNotEqualTo("ERROR");
            }
            assertThat(current).isEqualTo(status);
            assertThat(last[0].get("OS-EXT-STS:task_state").isNull()).isTrue();
        });
        return last[0];
    }

    public static JsonNode waitFor(ApiClient client, String id, String status) {
        return waitFor(client, id, status, Duration.ofSeconds(30));
    }

    public static void action(ApiClient client, String id, String json) {
        client.post("/compute/v2.1/servers/" + id + "/action", json).expect(202);
    }

    /** The server's serial console log. */
    public static String console(ApiClient client, String id) {
        return client.post("/compute/v2.1/servers/" + id + "/action", "{\"os-getConsoleOutput\": {}}").expect(200).json().get("output")
                .asText();
    }

    /** The host the server is on. */
    public static String host(ApiClient client, String id) {
        return show(client, id).get("OS-EXT-SRV-ATTR:host").asText();
    }

    public static void deleteAndWait(ApiClient client, String id) {
        client.delete("/compute/v2.1/servers/" + id).expect(204);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> client.get("/compute/v2.1/servers/" + id).status() == 404);
    }
}
