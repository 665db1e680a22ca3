package io.strata.liveimage;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.LiveImageRef;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * A live image as the store keeps it. Its id is the id of its server row (status BLESSED); the
 * host-side part ({@code dir}, sizes, driver attributes) is known once the bless has finished.
 */
public record LiveImage(
        String id,
        String sourceId,
        String projectId,
        String host,
        Status status,
        String dir,
        int vcpus,
        int memoryMb,
        Map<String, String> attributes,
        Instant createdAt,
        Instant updatedAt) {
    public LiveImage {
        requireNonNull(id, "id is null");
        requireNonNull(sourceId, "sourceId is null");
        requireNonNull(status, "status is null");
        attributes = Map.copyOf(attributes);
    }

    public enum Status {
        BLESSING,
        BLESSED,
        ERROR,
        DISCARDED;

        String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Status fromWireName(String name) {
            return valueOf(name.toUpperCase(java.util.Locale.ROOT));
        }
    }

    /** What the host needs to start clones of it. */
    public LiveImageRef ref() {
        if (dir == null) {
            throw new IllegalStateException("live image " + id + " has no files yet");
        }
        return new LiveImageRef(id, Path.of(dir), vcpus, memoryMb, attributes);
    }
}
