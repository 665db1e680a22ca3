package io.strata.cli.client;

/** A failed call, carrying the message to show the user in one line. */
public class CloudException extends RuntimeException {
    private final int status;

    public CloudException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }

    public boolean isNotFound() {
        return status == 404;
    }
}
