package io.strata.cli.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * Finds the human message in an OpenStack error body, whichever service's shape it has:
 * Identity {@code {"error": {"message"}}}, Compute {@code {"itemNotFound": {"message"}}},
 * Image {@code {"message", "code", "title"}}, or plain text.
 */
final class ErrorMessages {
    private ErrorMessages() {}

    static ApiException exception(Response response) {
        String requestId = response.header("x-openstack-request-id");
        if (requestId == null) {
            requestId = response.header("x-compute-request-id");
        }
        return new ApiException(response.status(), message(response.status(), response.body()), requestId);
    }

    static String message(int status, byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8).strip();
        try {
            JsonNode node = Json.parse(body);
            String message = node == null ? null : messageOf(node);
            if (message != null && !message.isBlank()) {
                return message;
            }
        } catch (IOException e) {
            // Not JSON (a proxy's HTML page, say): fall back to the text itself.
        }
        return text.isEmpty() ? "HTTP status " + status : excerpt(text);
    }

    private static String messageOf(JsonNode node) {
        if (!node.isObject()) {
            return null;
        }
        if (node.path("error").has("message")) {
            return node.path("error").path("message").asText();
        }
        if (node.path("message").isTextual()) {
            return node.path("message").asText();
        }
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        if (fields.hasNext()) {
            JsonNode fault = fields.next().getValue();
            if (fault.path("message").isTextual()) {
                return fault.path("message").asText();
            }
        }
        return null;
    }

    /** At most one line of some text: error output stays one line. */
    static String excerpt(String text) {
        String line = text.strip().replaceAll("\\s+", " ");
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }
}
