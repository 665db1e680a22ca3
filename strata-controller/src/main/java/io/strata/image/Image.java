package io.strata.image;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An image as Glance knows it. {@code properties} are the free-form string properties
 * (kernel_id, ramdisk_id, os_command_line, hw_*…) that Glance shows as top-level keys.
 */
public record Image(
        String id,
        String name,
        String owner,
        String status,
        String visibility,
        String containerFormat,
        String diskFormat,
        Long sizeBytes,
        Long virtualSize,
        String checksum,
        String osHashAlgo,
        String osHashValue,
        int minDisk,
        int minRam,
        boolean protectedImage,
        boolean osHidden,
        Map<String, String> properties,
        List<String> tags,
        Instant createdAt,
        Instant updatedAt) {
    public static final String QUEUED = "queued";
    public static final String SAVING = "saving";
    public static final String ACTIVE = "active";
    public static final String DEACTIVATED = "deactivated";

    public Image {
        requireNonNull(id, "id is null");
        requireNonNull(status, "status is null");
        requireNonNull(visibility, "visibility is null");
        properties = Map.copyOf(properties);
        tags = List.copyOf(tags);
    }
}
