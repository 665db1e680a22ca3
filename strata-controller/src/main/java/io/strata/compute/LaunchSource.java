package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.LiveImageRef;
import java.util.Map;

/**
 * Where a clone starts from instead of a cold boot: a live image blessed on {@code host}, the
 * key=value params its guest agent hands the guest, and the memory the guest is ballooned to (0
 * for all of the flavor's). The image's files stay where that host wrote them; the hosts of one
 * process share them, and a remote agent copies them from {@code host} (see ComputeManager's
 * launchClone), so a clone may start on any host.
 */
public record LaunchSource(String host, LiveImageRef image, Map<String, String> guestParams, int targetMemoryMb) {
    public LaunchSource {
        requireNonNull(host, "host is null");
        requireNonNull(image, "image is null");
        guestParams = Map.copyOf(guestParams);
    }

    /** Finds the launch source of a server, if it is a clone of a live image. */
    @FunctionalInterface
    public interface Lookup {
        java.util.Optional<LaunchSource> find(String serverId);

        Lookup NONE = id -> java.util.Optional.empty();
    }
}
