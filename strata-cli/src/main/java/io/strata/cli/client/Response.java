package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;

/** One HTTP answer, fully read. */
public record Response(String method, String url, int status, HttpHeaders headers, byte[] body) {
    public Response {
        requireNonNull(headers, "headers is null");
        requireNonNull(body, "body is null");
    }

    public boolean isError() {
        return status >= 400;
    }

    public String header(String name) {
        return headers.firstValue(name).orElse(null);
    }

    /** The body as JSON; an empty body (204, 202 of an action) is an empty object. */
    public JsonNode json() {
        if (body.length == 0) {
            return Json.object();
        }
        try {
            return Json.parse(body);
        } catch (IOException e) {
            throw new CliException("The cloud answered " + method + " " + url + " with something that is not JSON: "
                    + ErrorMessages.excerpt(new String(body, StandardCharsets.UTF_8)));
        }
    }

    /** Fails with the API's own message unless the status is a success. */
    public Response orThrow() {
        if (isError()) {
            throw ErrorMessages.exception(this);
        }
        return this;
    }
}
