package io.strata.store;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;

/** The database is unreachable or refused something it should not have. */
public class StoreException extends CloudException {
    public StoreException(String message) {
        super(ErrorCode.SERVICE_UNAVAILABLE, message);
    }

    public StoreException(String message, Throwable cause) {
        super(ErrorCode.SERVICE_UNAVAILABLE, message, cause);
    }
}
