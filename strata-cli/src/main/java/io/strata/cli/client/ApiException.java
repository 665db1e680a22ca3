package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

/**
 * The cloud answered with an error status. The message is the one from the API's error body,
 * followed by the status and request id, as the openstack client prints them.
 */
public final class ApiException extends CliException {
    private final int status;

    public ApiException(int status, String apiMessage, String requestId) {
        super(requireNonNull(apiMessage, "apiMessage is null") + " (HTTP " + status + ")"
                + (requestId == null ? "" : " (Request-ID: " + requestId + ")"));
        this.status = status;
    }

    public int status() {
        return status;
    }

    public boolean isNotFound() {
        return status == 404;
    }
}
