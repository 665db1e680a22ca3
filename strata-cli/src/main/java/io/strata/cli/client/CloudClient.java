package io.strata.cli.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * A session with a cloud, as keystoneauth gives the openstack client: a token from Identity v3,
 * and service endpoints from the catalog that came with it (matching interface and region).
 * {@code --debug} prints every request and answer, with secrets masked.
 */
public final class CloudClient {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final Credentials credentials;
    private final PrintStream debug;
    private String token;
    private JsonNode catalog;
    private String projectId;
    private String userId;
    private String expiresAt;

    public CloudClient(Credentials credentials, PrintStream debug) {
        this.credentials = credentials;
        this.debug = debug;
    }

    /** Authenticates lazily, at the first call that needs it. */
    private void authenticate() {
        if (token != null) {
            return;
        }
        if (credentials.authUrl() == null || credentials.authUrl().isBlank()) {
            throw new CloudException(0, "Missing value auth-url required for auth plugin password (set OS_AUTH_URL or --os-auth-url)");
        }
        ObjectNode auth = MAPPER.createObjectNode();
        ObjectNode identity = auth.putObject("auth").putObject("identity");
        if (credentials.token() != null && !credentials.token().isBlank()) {
            identity.putArray("methods").add("token");
            identity.putObject("token").put("id", credentials.token());
        } else {
            if (credentials.username() == null || credentials.password() == null) {
                throw new CloudException(0, "Missing username or password (set OS_USERNAME and OS_PASSWORD, or OS_TOKEN)");
            }
            identity.putArray("methods").add("password");
            ObjectNode user = identity.putObject("password").putObject("user");
            user.put("name", credentials.username());
            user.put("password", credentials.password());
            domain(user, credentials.userDomainId(), credentials.userDomainName());
        }
        if (credentials.projectId() != null || credentials.projectName() != null) {
            ObjectNode project = ((ObjectNode) auth.get("auth")).putObject("scope").putObject("project");
            if (credentials.projectId() != null) {
                project.put("id", credentials.projectId());
            } else {
                project.put("name", credentials.projectName());
                domain(project, credentials.projectDomainId(), credentials.projectDomainName());
            }
        }
        HttpResponse<byte[]> response = send("POST", identityUrl() + "/auth/tokens", json(auth), Map.of());
        if (response.statusCode() != 201) {
            throw error(response);
        }
        token = response.headers().firstValue("X-Subject-Token").orElseThrow(() -> new CloudException(0, "no token in the answer"));
        JsonNode body = parse(response.body());
        catalog = body.at("/token/catalog");
        projectId = body.at("/token/project/id").asText(null);
        userId = body.at("/token/user/id").asText(null);
        expiresAt = body.at("/token/expires_at").asText(null);
    }

    private static void domain(ObjectNode node, String id, String name) {
        if (id != null) {
            node.putObject("domain").put("id", id);
        } else {
            node.putObject("domain").put("name", name == null ? "Default" : name);
        }
    }

    private String identityUrl() {
        String url = credentials.authUrl().replaceAll("/+$", "");
        if (url.endsWith("/v3")) {
            return url;
        }
        if (url.endsWith("/v2.0")) {
            return url.substring(0, url.length() - 5) + "/v3";
        }
        return url + "/v3";
    }

    public String token() {
        authenticate();
        return token;
    }

    public String projectId() {
        authenticate();
        return projectId;
    }

    public String userId() {
        authenticate();
        return userId;
    }

    public String expiresAt() {
        authenticate();
        return expiresAt;
    }

    public JsonNode catalog() {
        authenticate();
        return catalog;
    }

    /** The endpoint of a service type for our interface and region, as the catalog lists it. */
    public String endpoint(String type) {
        authenticate();
        if ("identity".equals(type)) {
            return identityUrl();
        }
        String wanted = credentials.interfaceName() == null ? "public" : credentials.interfaceName().replace("URL", "");
        for (JsonNode service : catalog) {
            if (!type.equals(service.path("type").asText())) {
                continue;
            }
            for (JsonNode endpoint : service.path("endpoints")) {
                boolean interfaceMatches = wanted.equals(endpoint.path("interface").asText());
                boolean regionMatches = credentials.regionName() == null || credentials.regionName().equals(endpoint.path("region").asText());
                if (interfaceMatches && regionMatches) {
                    String url = endpoint.path("url").asText().replaceAll("/+$", "");
                    return type.equals("image") && !url.endsWith("/v2") ? url + "/v2" : url;
                }
            }
        }
        throw new CloudException(0, "public endpoint for " + type + " service" + (credentials.regionName() == null ? ""
                : " in " + credentials.regionName() + " region") + " not found");
    }

    // ------------------------------------------------------------------ calls

    public JsonNode get(String type, String path) {
        return call("GET", type, path, null);
    }

    public JsonNode post(String type, String path, JsonNode body) {
        return call("POST", type, path, body);
    }

    public JsonNode put(String type, String path, JsonNode body) {
        return call("PUT", type, path, body);
    }

    public JsonNode delete(String type, String path) {
        return call("DELETE", type, path, null);
    }

    public JsonNode patch(String type, String path, JsonNode body, String contentType) {
        HttpResponse<byte[]> response = send("PATCH", endpoint(type) + path, json(body),
                Map.of("X-Auth-Token", token(), "Content-Type", contentType));
        return answer(response);
    }

    /** Status of a GET, for existence checks by id (404 → try names). */
    public HttpResponse<byte[]> raw(String method, String type, String path) {
        return send(method, endpoint(type) + path, null, Map.of("X-Auth-Token", token()));
    }

    public JsonNode call(String method, String type, String path, JsonNode body) {
        return answer(send(method, endpoint(type) + path, body == null ? null : json(body), headers(type)));
    }

    private Map<String, String> headers(String type) {
        if ("compute".equals(type)) {
            // The newest microversion the client knows; the cloud echoes what it serves.
            return Map.of("X-Auth-Token", token(), "OpenStack-API-Version", "compute 2.47", "X-OpenStack-Nova-API-Version", "2.47");
        }
        return Map.of("X-Auth-Token", token());
    }

    public void upload(String path, Path file) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint("image") + path))
                .header("X-Auth-Token", token()).header("Content-Type", "application/octet-stream")
                .PUT(bodyOf(file)).build();
        trace(request, "<" + file + ">");
        answer(execute(request));
    }

    private static HttpRequest.BodyPublisher bodyOf(Path file) {
        try {
            return HttpRequest.BodyPublishers.ofFile(file);
        } catch (java.io.FileNotFoundException e) {
            throw new CloudException(0, "No such file: " + file);
        }
    }

    public InputStream download(String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint("image") + path)).header("X-Auth-Token", token()).GET().build();
        trace(request, null);
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() >= 400) {
                throw error(response.statusCode(), response.body().readAllBytes());
            }
            return response.body();
        } catch (IOException e) {
            throw unreachable(request.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudException(0, "interrupted");
        }
    }

    private JsonNode answer(HttpResponse<byte[]> response) {
        if (response.statusCode() >= 400) {
            throw error(response);
        }
        return response.body().length == 0 ? MAPPER.createObjectNode() : parse(response.body());
    }

    private HttpResponse<byte[]> send(String method, String url, String body, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Accept", "application/json").header("User-Agent", "strata-cli");
        if (body != null && !headers.containsKey("Content-Type")) {
            request.header("Content-Type", "application/json");
        }
        headers.forEach(request::header);
        HttpRequest built = request.build();
        trace(built, body);
        return execute(built);
    }

    private HttpResponse<byte[]> execute(HttpRequest request) {
        try {
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            if (debug != null) {
                debug.printf("RESP: [%d] %s%nRESP BODY: %s%n%n", response.statusCode(), response.headers().map(),
                        new String(response.body(), StandardCharsets.UTF_8));
            }
            return response;
        } catch (IOException e) {
            throw unreachable(request.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudException(0, "interrupted");
        }
    }

    private void trace(HttpRequest request, String body) {
        if (debug == null) {
            return;
        }
        StringBuilder line = new StringBuilder("REQ: curl -g -i -X ").append(request.method()).append(' ').append(request.uri());
        request.headers().map().forEach((k, v) -> line.append(" -H \"").append(k).append(": ")
                .append(k.equalsIgnoreCase("X-Auth-Token") ? "{SHA256}" + sha256(String.join(",", v)) : String.join(",", v)).append('"'));
        if (body != null) {
            line.append(" -d '").append(body.replaceAll("\"password\":\\s*\"[^\"]*\"", "\"password\": \"***\"")).append('\'');
        }
        debug.println(line);
    }

    private static String sha256(String text) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            return "?";
        }
    }

    private static CloudException unreachable(URI uri, IOException e) {
        String reason = e instanceof ConnectException || e instanceof HttpConnectTimeoutException ? "connection refused"
                : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new CloudException(0, "Unable to establish connection to " + uri.getScheme() + "://" + uri.getAuthority() + ": " + reason);
    }

    private static CloudException error(HttpResponse<byte[]> response) {
        return error(response.statusCode(), response.body());
    }

    /** The message of an OpenStack error body, whichever service's shape it has. */
    static CloudException error(int status, byte[] body) {
        String message = null;
        try {
            JsonNode node = MAPPER.readTree(body);
            if (node != null && node.isObject()) {
                if (node.has("error") && node.get("error").has("message")) {
                    message = node.get("error").get("message").asText();
                } else if (node.has("message")) {
                    message = node.get("message").asText();
                } else {
                    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
                    if (fields.hasNext()) {
                        JsonNode fault = fields.next().getValue();
                        message = fault.path("message").asText(null);
                    }
                }
            }
        } catch (IOException e) {
            // not JSON: fall through to the raw text
        }
        if (message == null) {
            message = new String(body, StandardCharsets.UTF_8).strip();
        }
        return new CloudException(status, message + " (HTTP " + status + ")");
    }

    static JsonNode parse(byte[] body) {
        try {
            return MAPPER.readTree(body);
        } catch (IOException e) {
            throw new CloudException(0, "the cloud answered something that is not JSON: " + new String(body, StandardCharsets.UTF_8));
        }
    }

    private static String json(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
