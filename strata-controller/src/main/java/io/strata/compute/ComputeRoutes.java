package io.strata.compute;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.RequestBody;
import io.strata.core.CloudException;
import java.util.List;

/**
 * Helpers shared by the compute API classes: every route is served under both /compute/v2.1
 * and the legacy /compute/v2, and the negotiated microversion travels in the request.
 */
public final class ComputeRoutes {
    static final List<String> PREFIXES = List.of("/compute/v2.1", "/compute/v2");
    static final String VERSION = "strata.compute.version";

    private ComputeRoutes() {}

    /** Registers one group of routes under each compute prefix. */
    public static void each(RoutesConfig routes, java.util.function.BiConsumer<RoutesConfig, String> group) {
        for (String prefix : PREFIXES) {
            group.accept(routes, prefix);
        }
    }

    public static ApiVersion version(Context ctx) {
        ApiVersion version = ctx.attribute(VERSION);
        return version == null ? ApiVersion.MIN : version;
    }

    /** The object under the action key; Nova allows some actions' values to be null. */
    static com.fasterxml.jackson.databind.node.ObjectNode actionBody(com.fasterxml.jackson.databind.node.ObjectNode body, String key) {
        com.fasterxml.jackson.databind.JsonNode node = body.get(key);
        if (node == null || node.isNull()) {
            return io.strata.api.Json.object();
        }
        if (!node.isObject()) {
            throw RequestBody.invalid(key, node, "is not of type 'object', 'null'");
        }
        return (com.fasterxml.jackson.databind.node.ObjectNode) node;
    }

    static int pageLimit(Context ctx) {
        Integer limit = io.strata.api.Requests.intQuery(ctx, "limit", 0, Integer.MAX_VALUE);
        return limit == null ? 1000 : Math.min(limit, 1000);
    }

    static boolean ascending(Context ctx) {
        String dir = ctx.queryParam("sort_dir");
        if (dir == null) {
            return false;
        }
        return switch (dir) {
            case "asc" -> true;
            case "desc" -> false;
            default -> throw CloudException.badRequest("Invalid input for query parameters sort_dir. Value: %s. '%s' is not one of "
                    + "['asc', 'desc']", dir, dir);
        };
    }
}
