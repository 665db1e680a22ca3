package io.strata.cli.client;

/**
 * A failure to show the user as one line ({@code strata: <message>}): bad input, a missing
 * resource, an unreachable cloud. Anything else escaping a command is a bug and says so.
 */
public class CliException extends RuntimeException {
    public CliException(String message) {
        super(message);
    }

    public CliException(String message, Throwable cause) {
        super(message, cause);
    }
}
