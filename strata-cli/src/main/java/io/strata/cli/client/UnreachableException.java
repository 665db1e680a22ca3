package io.strata.cli.client;

/** No answer from the cloud at all: connection refused, unknown host, timeout. */
public final class UnreachableException extends CliException {
    public UnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
