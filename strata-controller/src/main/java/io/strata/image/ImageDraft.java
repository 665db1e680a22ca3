package io.strata.image;

import java.util.List;
import java.util.Map;

/**
 * What a caller asks for when registering an image; the service fills in the rest (id, owner,
 * status, timestamps) and checks it.
 *
 * @param id the id the caller chose, or null for a new random one
 * @param owner the owning project, or null for the caller's project
 * @param visibility null for Glance's default, shared
 */
public record ImageDraft(
        String id,
        String name,
        String owner,
        Visibility visibility,
        String containerFormat,
        String diskFormat,
        int minDisk,
        int minRam,
        boolean protectedImage,
        boolean osHidden,
        Map<String, String> properties,
        List<String> tags) {
    public ImageDraft {
        properties = Map.copyOf(properties);
        tags = List.copyOf(tags);
    }

    /** A private image with only a name, formats and free-form properties (the Java callers' case). */
    public static ImageDraft of(String name, Map<String, String> properties, String diskFormat, String containerFormat) {
        return new ImageDraft(null, name, null, Visibility.PRIVATE, containerFormat, diskFormat, 0, 0, false, false, properties, List.of());
    }
}
