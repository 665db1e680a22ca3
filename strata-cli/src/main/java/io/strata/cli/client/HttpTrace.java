package io.strata.cli.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code --debug}: every request and answer on stderr in keystoneauth's layout (a curl command
 * line, then status, headers and body), so logs from both clients read alike. Secrets never
 * appear: tokens are replaced by their SHA-256 (enough to tell two apart), and passwords, admin
 * passwords and private keys in bodies by "***", because debug output ends up in bug reports.
 */
public final class HttpTrace {
    private static final Set<String> SECRET_HEADERS = Set.of("x-auth-token", "x-subject-token", "authorization");
    private static final Set<String> SECRET_FIELDS = Set.of("password", "adminPass", "admin_password", "private_key",
            "original_password", "new_password");

    private final PrintStream out;

    private HttpTrace(PrintStream out) {
        this.out = out;
    }

    public static HttpTrace to(PrintStream out) {
        return new HttpTrace(out);
    }

    public static HttpTrace off() {
        return new HttpTrace(null);
    }

    boolean enabled() {
        return out != null;
    }

    void request(String method, String url, Map<String, String> headers, String bodyDescription) {
        if (out == null) {
            return;
        }
        StringBuilder line = new StringBuilder("REQ: curl -g -i -X ").append(method).append(' ').append(url);
        headers.forEach((name, value) -> line.append(" -H \"").append(name).append(": ").append(headerValue(name, value)).append('"'));
        if (bodyDescription != null) {
            line.append(" -d '").append(bodyDescription).append('\'');
        }
        out.println(line);
    }

    void response(int status, HttpHeaders headers, String bodyDescription) {
        if (out == null) {
            return;
        }
        StringBuilder line = new StringBuilder("RESP: [").append(status).append(']');
        headers.map().forEach((name, values) -> {
            if (!name.equals(":status")) {
                line.append(' ').append(name).append(": ").append(headerValue(name, String.join(",", values)));
            }
        });
        out.println(line);
        out.println("RESP BODY: " + (bodyDescription == null || bodyDescription.isEmpty() ? "Omitted, Content-Type is set to "
                + headers.firstValue("content-type").orElse("None") + ". Only application/json responses have their bodies logged."
                : bodyDescription));
        out.println();
    }

    /** A JSON body with its secrets masked, or a note saying what kind of body it was. */
    static String describe(byte[] body, String contentType) {
        if (body == null || body.length == 0) {
            return "";
        }
        if (contentType != null && !contentType.toLowerCase(Locale.ROOT).contains("json")) {
            return null;
        }
        try {
            JsonNode node = Json.parse(body);
            return node == null ? "" : Json.write(mask(node.deepCopy()));
        } catch (IOException e) {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private static JsonNode mask(JsonNode node) {
        if (node instanceof ObjectNode object) {
            List<String> names = List.copyOf(object.properties().stream().map(Map.Entry::getKey).toList());
            for (String name : names) {
                if (SECRET_FIELDS.contains(name) && object.get(name).isTextual()) {
                    object.set(name, TextNode.valueOf("***"));
                } else {
                    mask(object.get(name));
                }
            }
            // The token auth method carries the old token as {"token": {"id": …}}.
            if (object.path("token").path("id").isTextual() && object.path("methods").isArray()) {
                ((ObjectNode) object.get("token")).set("id", TextNode.valueOf("***"));
            }
        } else if (node != null && node.isArray()) {
            node.forEach(HttpTrace::mask);
        }
        return node;
    }

    private static String headerValue(String name, String value) {
        return SECRET_HEADERS.contains(name.toLowerCase(Locale.ROOT)) ? "{SHA256}" + sha256(value) : value;
    }

    private static String sha256(String value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
