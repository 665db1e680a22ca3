package io.strata.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Executors;

/** The benchmark drivers' HTTP client for one cloud, logged in as its admin. */
final class CloudClient {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** How often a client polls a server's status; real clients poll every second or more. */
    static final long POLL_MILLIS = Long.getLong("strata.bench.pollMillis", 20);

    private final String url;
    private final String password;
    private final HttpClient http;
    private volatile String token;

    CloudClient(String url, String password) {
        this.url = url;
        this.password = password;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(Executors.newVirtualThreadPerTaskExecutor())
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    CloudClient login() throws IOException, InterruptedException {
        token = issueToken();
        return this;
    }

    String issueToken() throws IOException, InterruptedException {
        String body = """
                {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"},
                 "password": "%s"}}}, "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}""".formatted(password);
        HttpResponse<byte[]> response = http.send(HttpRequest.newBuilder(URI.create(url + "/identity/v3/auth/tokens"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 201) {
            throw new IllegalStateException("token issue answered " + response.statusCode() + ": " + new String(response.body()));
        }
        return response.headers().firstValue("X-Subject-Token").orElseThrow();
    }

    /** Polls until the server has {@code wanted} status and no task; fails on ERROR. */
    JsonNode waitFor(String id, String wanted) throws Exception {
        while (true) {
            JsonNode server = send("GET", "/compute/v2.1/servers/" + id, null, 200).get("server");
            String status = server.get("status").asText();
            if (status.equals(wanted) && server.get("OS-EXT-STS:task_state").isNull()) {
                return server;
            }
            if (status.equals("ERROR")) {
                throw new IllegalStateException("server " + id + " went to ERROR: " + server.get("fault"));
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    void waitGone(String id) throws Exception {
        while (status("/compute/v2.1/servers/" + id) != 404) {
            Thread.sleep(POLL_MILLIS);
        }
    }

    JsonNode send(String method, String path, String body, int expected) throws Exception {
        HttpResponse<byte[]> response = raw(method, path, body);
        if (response.statusCode() != expected) {
            throw new IllegalStateException(method + " " + path + " answered " + response.statusCode() + ": " + new String(response.body()));
        }
        return response.body().length == 0 ? MAPPER.createObjectNode() : MAPPER.readTree(response.body());
    }

    int status(String path) throws Exception {
        return raw("GET", path, null).statusCode();
    }

    HttpResponse<byte[]> raw(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path)).header("X-Auth-Token", token)
                .header("Accept", "application/json").timeout(Duration.ofSeconds(120))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    void upload(String imageId, byte[] data) throws IOException, InterruptedException {
        HttpRequest upload = HttpRequest.newBuilder(URI.create(url + "/image/v2/images/" + imageId + "/file"))
                .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build();
        HttpResponse<Void> response = http.send(upload, HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() != 204) {
            throw new IllegalStateException("upload of image " + imageId + " answered " + response.statusCode());
        }
    }

    /** Flavor {@code bench.nano} (16 MB, 1 vCPU, no disk), so that capacity never runs out first. */
    void nanoFlavor() throws Exception {
        if (status("/compute/v2.1/flavors/bench.nano") == 404) {
            send("POST", "/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"bench.nano\", \"id\": \"bench.nano\", \"ram\": 16, "
                    + "\"vcpus\": 1, \"disk\": 0}}", 200);
        }
    }

    /** The id of image {@code bench-image} (4 KiB of zeros), uploaded on first use. */
    String benchImage() throws Exception {
        JsonNode images = send("GET", "/image/v2/images?name=bench-image", null, 200).get("images");
        if (images.size() > 0) {
            return images.get(0).get("id").asText();
        }
        String id = send("POST", "/image/v2/images", "{\"name\": \"bench-image\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}",
                201).get("id").asText();
        upload(id, new byte[4096]);
        return id;
    }
}
