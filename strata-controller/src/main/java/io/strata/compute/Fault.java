package io.strata.compute;

import java.time.Instant;

/** Why a server went to ERROR, as Nova records it: shown to users in the server's {@code fault}. */
public record Fault(int code, String message, String details, Instant created) {
    public Fault {
        if (message != null && message.length() > 255) {
            message = message.substring(0, 252) + "...";
        }
    }
}
