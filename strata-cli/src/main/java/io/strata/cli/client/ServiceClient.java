package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongConsumer;

/** Calls to one service of the catalog, with the session's token and the service's own headers. */
public final class ServiceClient {
    static final String USER_AGENT = "strata-cli";

    private final Session session;
    private final String type;
    private final Map<String, String> serviceHeaders;

    ServiceClient(Session session, String type, Map<String, String> serviceHeaders) {
        this.session = requireNonNull(session, "session is null");
        this.type = requireNonNull(type, "type is null");
        this.serviceHeaders = Map.copyOf(serviceHeaders);
    }

    public JsonNode get(String path) {
        return send("GET", path, null, null).orThrow().json();
    }

    public JsonNode post(String path, JsonNode body) {
        return send("POST", path, body, null).orThrow().json();
    }

    public JsonNode put(String path, JsonNode body) {
        return send("PUT", path, body, null).orThrow().json();
    }

    public JsonNode patch(String path, JsonNode body, String contentType) {
        return send("PATCH", path, body, contentType).orThrow().json();
    }

    public void delete(String path) {
        send("DELETE", path, null, null).orThrow();
    }

    /** A GET whose error status the caller handles itself (a 404 when looking an id up is no error). */
    public Response tryGet(String path) {
        return send("GET", path, null, null);
    }

    /** PUTs a file's bytes; {@code sent} (may be null) hears how many have gone. */
    public void upload(String path, Path file, LongConsumer sent) {
        Map<String, String> headers = headers();
        headers.put("Content-Type", "application/octet-stream");
        session.transport().sendFile("PUT", session.endpoint(type) + path, headers, file, sent).orThrow();
    }

    public InputStream download(String path) {
        Map<String, String> headers = headers();
        headers.put("Accept", "application/octet-stream");
        return session.transport().download(session.endpoint(type) + path, headers);
    }

    private Response send(String method, String path, JsonNode body, String contentType) {
        Map<String, String> headers = headers();
        if (body != null) {
            headers.put("Content-Type", contentType == null ? "application/json" : contentType);
        }
        byte[] bytes = body == null ? null : Json.write(body).getBytes(StandardCharsets.UTF_8);
        return session.transport().send(method, session.endpoint(type) + path, headers, bytes);
    }

    private Map<String, String> headers() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Accept", "application/json");
        headers.put("User-Agent", USER_AGENT);
        headers.put("X-Auth-Token", session.token().id());
        headers.putAll(serviceHeaders);
        return headers;
    }
}
