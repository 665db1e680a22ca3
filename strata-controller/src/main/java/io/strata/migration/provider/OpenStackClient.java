package io.strata.migration.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A small client of an OpenStack (or Strata) cloud's public APIs: Keystone v3 password login,
 * endpoints from the token's catalog, JSON calls, image data up- and download. The networking
 * endpoint is optional: a cloud without one has its compute service's default network only.
 */
final class OpenStackClient {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    private final String token;
    private final String computeUrl;
    private final String imageUrl;
    private final String networkUrl;

    private OpenStackClient(String token, String computeUrl, String imageUrl, String networkUrl) {
        this.token = token;
        this.computeUrl = computeUrl;
        this.imageUrl = imageUrl;
        this.networkUrl = networkUrl;
    }

    /** One JSON answer. */
    record Answer(int status, JsonNode body, Map<String, java.util.List<String>> headers) {
        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).findFirst()
                    .map(e -> e.getValue().getFirst()).orElse(null);
        }
    }

    static OpenStackClient login(JsonNode connection) {
        String authUrl = trim(connection.path("auth_url").asText(""));
        if (authUrl.isEmpty()) {
            throw new ProviderException("connection info needs an auth_url");
        }
        if (!authUrl.endsWith("/v3")) {
            authUrl = authUrl + "/v3";
        }
        ObjectNode body = MAPPER.createObjectNode();
        ObjectNode auth = body.putObject("auth");
        ObjectNode identity = auth.putObject("identity");
        identity.putArray("methods").add("password");
        ObjectNode user = identity.putObject("password").putObject("user");
        user.put("name", connection.path("username").asText());
        user.put("password", connection.path("password").asText());
        user.putObject("domain").put("name", connection.path("user_domain_name").asText("Default"));
        ObjectNode project = auth.putObject("scope").putObject("project");
        project.put("name", connection.path("project_name").asText());
        project.putObject("domain").put("name", connection.path("project_domain_name").asText("Default"));
        Answer answer;
        try {
            answer = send(HttpRequest.newBuilder(URI.create(authUrl + "/auth/tokens"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())), null);
        } catch (IOException e) {
            throw new ProviderException("cannot reach " + authUrl + ": " + e.getMessage(), e);
        }
        if (answer.status() == 401) {
            throw new ProviderException("the cloud at " + authUrl + " refused the credentials of " + connection.path("username").asText());
        }
        if (answer.status() != 201 && answer.status() != 200) {
            throw new ProviderException("login at " + authUrl + " answered " + answer.status() + ": " + message(answer.body()));
        }
        String token = answer.header("X-Subject-Token");
        String region = connection.path("region_name").asText("");
        String compute = null;
        String image = null;
        String network = null;
        for (JsonNode service : answer.body().at("/token/catalog")) {
            for (JsonNode endpoint : service.path("endpoints")) {
                if (!endpoint.path("interface").asText().equals("public")
                        || (!region.isEmpty() && !region.equals(endpoint.path("region").asText(region)))) {
                    continue;
                }
                switch (service.path("type").asText()) {
                    case "compute" -> compute = trim(endpoint.path("url").asText());
                    case "image" -> image = trim(endpoint.path("url").asText());
                    case "network" -> network = trim(endpoint.path("url").asText());
                    default -> { }
                }
            }
        }
        if (compute == null || image == null) {
            throw new ProviderException("the cloud's catalog has no public compute and image endpoints" + (region.isEmpty() ? "" : " in " + region));
        }
        return new OpenStackClient(token, compute, image, network);
    }

    /** Whether the cloud's catalog has a networking (Neutron) endpoint. */
    boolean hasNetwork() {
        return networkUrl != null;
    }

    String network(String path) {
        if (networkUrl == null) {
            throw new IllegalStateException("the cloud has no network endpoint");
        }
        return networkUrl + (networkUrl.endsWith("/v2.0") ? "" : "/v2.0") + path;
    }

    String compute(String path) {
        return computeUrl + path;
    }

    String image(String path) {
        return imageUrl + (imageUrl.endsWith("/v2") ? "" : "/v2") + path;
    }

    Answer get(String url) throws IOException {
        return send(request(url).GET(), token);
    }

    Answer post(String url, JsonNode body) throws IOException {
        return send(request(url).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())), token);
    }

    Answer delete(String url) throws IOException {
        return send(request(url).DELETE(), token);
    }

    /**
     * Uploads a file as image data; {@code gzip}: compressed as it is sent, for an image API that
     * said it takes gzip-encoded data (a Glance would store the compressed bytes as the image).
     */
    Answer putFile(String url, Path file, boolean gzip) throws IOException {
        HttpRequest.Builder request = request(url).header("Content-Type", "application/octet-stream");
        if (gzip) {
            request.header("Content-Encoding", "gzip").PUT(HttpRequest.BodyPublishers.ofInputStream(() -> {
                try {
                    return new GzipBody(file);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }));
        } else {
            request.PUT(HttpRequest.BodyPublishers.ofFile(file));
        }
        return send(request, token);
    }

    /**
     * Downloads image data into a file. gzip is asked for: a Strata cloud then sends the image
     * compressed, and a Glance, which does not encode image data, answers plain; either way the
     * file holds the image as it is.
     */
    void download(String url, Path file) throws IOException {
        HttpResponse<java.io.InputStream> response;
        try {
            response = HTTP.send(request(url).GET().header("X-Auth-Token", token).header("Accept-Encoding", "gzip, identity;q=0.5").build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted downloading " + url, e);
        }
        try (java.io.InputStream body = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException("download of " + url + " answered " + response.statusCode());
            }
            String coding = response.headers().firstValue("Content-Encoding").orElse("identity").strip().toLowerCase(java.util.Locale.ROOT);
            java.io.InputStream data = switch (coding) {
                case "identity", "" -> body;
                case "gzip", "x-gzip" -> new java.util.zip.GZIPInputStream(body, 1 << 16);
                default -> throw new IOException("download of " + url + " came with an unknown Content-Encoding " + coding);
            };
            try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
                data.transferTo(out);
            }
        }
    }

    /** Fails with the cloud's own message unless the status is one of {@code expected}. */
    static JsonNode expect(Answer answer, String what, int... expected) {
        for (int status : expected) {
            if (answer.status() == status) {
                return answer.body();
            }
        }
        throw new ProviderException(what + " answered " + answer.status() + ": " + message(answer.body()));
    }

    private static HttpRequest.Builder request(String url) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(10)).header("Accept", "application/json")
                .header("OpenStack-API-Version", "compute 2.3").header("X-OpenStack-Nova-API-Version", "2.3");
    }

    private static Answer send(HttpRequest.Builder builder, String token) throws IOException {
        if (token != null) {
            builder.header("X-Auth-Token", token);
        }
        try {
            HttpResponse<byte[]> response = HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
            JsonNode body = response.body().length == 0 ? MAPPER.createObjectNode() : parse(response.body());
            return new Answer(response.statusCode(), body, response.headers().map());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static JsonNode parse(byte[] body) {
        try {
            return MAPPER.readTree(body);
        } catch (IOException e) {
            return MAPPER.createObjectNode().put("message", new String(body, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /** The message of any OpenStack error shape. */
    private static String message(JsonNode body) {
        if (body.has("message")) {
            return body.get("message").asText();
        }
        var fields = body.fields();
        while (fields.hasNext()) {
            JsonNode inner = fields.next().getValue();
            if (inner.has("message")) {
                return inner.get("message").asText();
            }
        }
        return body.toString();
    }

    private static String trim(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
