package io.strata.cli.command;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** Small helpers for building request bodies and query strings from optional command-line values. */
final class Requests {
    private Requests() {}

    /** Sets a body attribute only when the user gave a value: absent options leave the cloud's default. */
    static void putIfGiven(ObjectNode body, String key, String value) {
        if (value != null) {
            body.put(key, value);
        }
    }

    static void putIfGiven(Map<String, String> query, String key, String value) {
        if (value != null) {
            query.put(key, value);
        }
    }

    /** {@code ?a=1&b=2}, values URL-encoded; empty when there are none. */
    static String queryString(Map<String, String> query) {
        StringBuilder b = new StringBuilder();
        query.forEach((k, v) -> b.append(b.isEmpty() ? '?' : '&').append(k).append('=').append(Finder.encode(v)));
        return b.toString();
    }
}
