package io.strata.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** A small HTTP client for API tests: raw requests, raw answers, JSON on demand. */
public final class ApiClient {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String baseUrl;
    private final String token;
    private final Map<String, String> extraHeaders = new LinkedHashMap<>();

    public ApiClient(String baseUrl, String token) {
        this.baseUrl = baseUrl;
        this.token = token;
    }

    /** Logs in with the Identity v3 password method, scoped to a project of the Default domain. */
    public static ApiClient login(String baseUrl, String user, String password, String project) {
        String body = """
                {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "%s", "domain": {"name": "Default"},
                 "password": "%s"}}}, "scope": {"project": {"name": "%s", "domain": {"name": "Default"}}}}}
                """.formatted(user, password, project);
        Response response = new ApiClient(baseUrl, null).post("/identity/v3/auth/tokens", body).expect(201);
        return new ApiClient(baseUrl, response.header("X-Subject-Token"));
    }

    public String token() {
        return token;
    }

    public String baseUrl() {
        return baseUrl;
    }

    /** A copy of this client that sends one more header on every request (e.g. a microversion). */
    public ApiClient withHeader(String name, String value) {
        ApiClient copy = new ApiClient(baseUrl, token);
        copy.extraHeaders.putAll(extraHeaders);
        copy.extraHeaders.put(name, value);
        return copy;
    }

    public Response get(String path) {
        return send("GET", path, null, Map.of());
    }

    public Response head(String path) {
        return send("HEAD", path, null, Map.of());
    }

    public Response delete(String path) {
        return send("DELETE", path, null, Map.of());
    }

    public Response post(String path, String json) {
        return send("POST", path, json, Map.of());
    }

    public Response put(String path, String json) {
        return send("PUT", path, json, Map.of());
    }

    public Response patch(String path, String json, String contentType) {
        return send("PATCH", path, json, Map.of("Content-Type", contentType));
    }

    public Response send(String method, String path, String body, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(path.startsWith("http") ? path : baseUrl + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("X-Auth-Token", token);
        }
        if (body != null && !headers.containsKey("Content-Type")) {
            request.header("Content-Type", "application/json");
        }
        request.header("Accept", "application/json");
        extraHeaders.forEach(request::header);
        headers.forEach(request::header);
        return execute(request.build());
    }

    public Response sendBytes(String method, String path, byte[] body, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) {
            request.header("X-Auth-Token", token);
        }
        extraHeaders.forEach(request::header);
        headers.forEach(request::header);
        return execute(request.build());
    }

    private static Response execute(HttpRequest request) {
        try {
            HttpResponse<byte[]> response = HTTP.send(request, HttpResponse.BodyHandlers.ofByteArray());
            return new Response(request.method() + " " + request.uri(), response.statusCode(), response.headers(), response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An HTTP answer. */
    public record Response(String request, int status, HttpHeaders headers, byte[] body) {
        public Response expect(int expected) {
            assertThat(status).as("%s answered %s", request, text()).isEqualTo(expected);
            return this;
        }

        public String text() {
            return new String(body, java.nio.charset.StandardCharsets.UTF_8);
        }

        public JsonNode json() {
            try {
                return MAPPER.readTree(body);
            } catch (IOException e) {
                throw new AssertionError(request + " did not answer JSON: " + text(), e);
            }
        }

        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }
    }
}
