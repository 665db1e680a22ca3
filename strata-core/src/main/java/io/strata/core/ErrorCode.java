package io.strata.core;

/**
 * The small vocabulary every failure is expressed in. Each code knows its HTTP status and the
 * fault name Nova uses as the key of its error body ({"itemNotFound": {"code": 404, ...}}), so
 * one mapper renders every API's error shape from it.
 */
public enum ErrorCode {
    BAD_REQUEST(400, "badRequest", "Bad Request"),
    UNAUTHORIZED(401, "unauthorized", "Unauthorized"),
    FORBIDDEN(403, "forbidden", "Forbidden"),
    NOT_FOUND(404, "itemNotFound", "Not Found"),
    METHOD_NOT_ALLOWED(405, "badMethod", "Method Not Allowed"),
    NOT_ACCEPTABLE(406, "notAcceptable", "Not Acceptable"),
    CONFLICT(409, "conflictingRequest", "Conflict"),
    GONE(410, "gone", "Gone"),
    OVER_LIMIT(413, "overLimit", "Request Entity Too Large"),
    UNSUPPORTED_MEDIA_TYPE(415, "mediaTypeNotSupported", "Unsupported Media Type"),
    RANGE_NOT_SATISFIABLE(416, "rangeNotSatisfiable", "Requested Range Not Satisfiable"),
    INTERNAL(500, "computeFault", "Internal Server Error"),
    NOT_IMPLEMENTED(501, "notImplemented", "Not Implemented"),
    SERVICE_UNAVAILABLE(503, "serviceUnavailable", "Service Unavailable");

    private final int httpStatus;
    private final String faultName;
    private final String title;

    ErrorCode(int httpStatus, String faultName, String title) {
        this.httpStatus = httpStatus;
        this.faultName = faultName;
        this.title = title;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** The key Nova wraps its error body in, e.g. {@code itemNotFound}. */
    public String faultName() {
        return faultName;
    }

    /** The reason phrase Keystone puts in {@code error.title}. */
    public String title() {
        return title;
    }

    public boolean isClientError() {
        return httpStatus < 500;
    }
}
