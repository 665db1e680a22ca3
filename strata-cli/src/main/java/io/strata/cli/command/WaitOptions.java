package io.strata.cli.command;

import java.time.Duration;
import picocli.CommandLine.Option;

/** {@code --wait}, and how long to wait at most (the openstack client waits forever). */
public final class WaitOptions {
    @Option(names = "--wait", description = "Wait until the operation has finished, showing its progress on stderr.")
    boolean wait;

    @Option(names = "--wait-timeout", paramLabel = "<seconds>", description = "Give up waiting after this many seconds (default: never).")
    Long timeoutSeconds;

    boolean enabled() {
        return wait || timeoutSeconds != null;
    }

    Duration timeout() {
        return timeoutSeconds == null || timeoutSeconds <= 0 ? null : Duration.ofSeconds(timeoutSeconds);
    }
}
