package io.strata.core;

import static java.util.Objects.requireNonNull;

/**
 * The one unchecked root of every failure Strata reports to a caller. The message is shown to
 * users as it is, so it must say what was wrong in their terms.
 */
public class CloudException extends RuntimeException {
    private final ErrorCode code;

    public CloudException(ErrorCode code, String message) {
        super(requireNonNull(message, "message is null"));
        this.code = requireNonNull(code, "code is null");
    }

    public CloudException(ErrorCode code, String message, Throwable cause) {
        super(requireNonNull(message, "message is null"), cause);
        this.code = requireNonNull(code, "code is null");
    }

    public ErrorCode code() {
        return code;
    }

    public static CloudException badRequest(String format, Object... args) {
        return new CloudException(ErrorCode.BAD_REQUEST, format.formatted(args));
    }

    public static CloudException notFound(String format, Object... args) {
        return new CloudException(ErrorCode.NOT_FOUND, format.formatted(args));
    }

    public static CloudException conflict(String format, Object... args) {
        return new CloudException(ErrorCode.CONFLICT, format.formatted(args));
    }

    public static CloudException forbidden(String format, Object... args) {
        return new CloudException(ErrorCode.FORBIDDEN, format.formatted(args));
    }

    public static CloudException unauthorized(String format, Object... args) {
        return new CloudException(ErrorCode.UNAUTHORIZED, format.formatted(args));
    }
}
