package io.strata.api;

import io.javalin.http.Context;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;

/** Per-request facts the API filters establish before a handler runs. */
public final class Requests {
    static final String AUTH = "strata.auth";
    static final String REQUEST_ID = "strata.request_id";

    private Requests() {}

    /** The caller; handlers only run behind the authentication filter, so it is always set. */
    public static AuthContext auth(Context ctx) {
        AuthContext auth = ctx.attribute(AUTH);
        if (auth == null) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, "The request you have made requires authentication.");
        }
        return auth;
    }

    public static String requestId(Context ctx) {
        return ctx.attribute(REQUEST_ID);
    }

    /** An integer query parameter, 400 in the API's shape when it is not one. */
    public static Integer intQuery(Context ctx, String name, int min, int max) {
        String value = ctx.queryParam(name);
        if (value == null || value.isEmpty()) {
            return null;
        }
        int parsed;
        try {
            parsed = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw CloudException.badRequest("Invalid input for query parameters %s. Value: %s. '%s' is not of type 'integer'", name, value, value);
        }
        if (parsed < min || parsed > max) {
            throw CloudException.badRequest("Invalid input for query parameters %s. Value: %s. %d is out of range [%d, %d]",
                    name, value, parsed, min, max);
        }
        return parsed;
    }

    public static Boolean boolQuery(Context ctx, String name) {
        String value = ctx.queryParam(name);
        if (value == null || value.isEmpty()) {
            return null;
        }
        return switch (value.toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "t", "on", "y", "yes" -> true;
            case "false", "0", "f", "off", "n", "no" -> false;
            default -> throw CloudException.badRequest("Invalid input for query parameters %s. Value: %s. '%s' is not a boolean", name, value, value);
        };
    }

    /** The base URL clients reached us at, for self links (honours a proxy's Host header). */
    public static String baseUrl(Context ctx) {
        return ctx.scheme() + "://" + ctx.host();
    }
}
