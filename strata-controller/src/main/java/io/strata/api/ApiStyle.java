package io.strata.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.ErrorCode;

/**
 * How each OpenStack service shapes its error bodies. Clients parse these to show messages, so
 * each area answers in its own service's shape, chosen by the path prefix of the request.
 */
public enum ApiStyle {
    /** Keystone: {"error": {"code": 404, "message": "...", "title": "Not Found"}}. */
    IDENTITY,
    /** Nova: {"itemNotFound": {"code": 404, "message": "..."}}. */
    COMPUTE,
    /** Glance (webob): {"code": "404 Not Found", "title": "Not Found", "message": "..."}. */
    IMAGE,
    /** Coriolis follows Nova's fault shape. */
    MIGRATION,
    /** Neutron: {"NeutronError": {"type": "HTTPNotFound", "message": "...", "detail": ""}}. */
    NETWORK,
    /** Strata's own endpoints (metrics, snooze): Keystone's shape. */
    OTHER;

    public static ApiStyle forPath(String path) {
        if (path.startsWith("/compute")) {
            return COMPUTE;
        }
        if (path.startsWith("/image")) {
            return IMAGE;
        }
        if (path.startsWith("/identity")) {
            return IDENTITY;
        }
        if (path.startsWith("/migration")) {
            return MIGRATION;
        }
        if (path.startsWith("/network")) {
            return NETWORK;
        }
        return OTHER;
    }

    public ObjectNode errorBody(ErrorCode code, String message) {
        ObjectNode body = Json.object();
        // 401 comes from the authentication layer (keystonemiddleware) in every service, in Keystone's shape.
        ApiStyle style = code == ErrorCode.UNAUTHORIZED ? IDENTITY : this;
        switch (style) {
            case IDENTITY, OTHER -> {
                ObjectNode error = body.putObject("error");
                error.put("code", code.httpStatus());
                error.put("message", message);
                error.put("title", code.title());
            }
            case COMPUTE, MIGRATION -> {
                ObjectNode fault = body.putObject(code.faultName());
                fault.put("code", code.httpStatus());
                fault.put("message", message);
            }
            case NETWORK -> {
                // Neutron names generic errors after webob's exception classes.
                return neutronError("HTTP" + code.title().replace(" ", ""), message);
            }
            case IMAGE -> {
                body.put("code", code.httpStatus() + " " + code.title());
                body.put("title", code.title());
                body.put("message", message);
            }
        }
        return body;
    }

    /** Neutron's error body with its own error {@code type} (e.g. NetworkNotFound). */
    public static ObjectNode neutronError(String type, String message) {
        ObjectNode body = Json.object();
        ObjectNode error = body.putObject("NeutronError");
        error.put("type", type);
        error.put("message", message);
        error.put("detail", "");
        return body;
    }
}
