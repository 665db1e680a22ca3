package io.strata.migration.provider;

/** A failure a provider explains in the user's terms (bad credentials, unknown instance…). */
public final class ProviderException extends RuntimeException {
    public ProviderException(String message) {
        super(message);
    }

    public ProviderException(String message, Throwable cause) {
        super(message, cause);
    }
}
