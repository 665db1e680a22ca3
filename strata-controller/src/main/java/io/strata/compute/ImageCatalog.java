package io.strata.compute;

import io.strata.identity.AuthContext;
import java.nio.file.Path;
import java.util.Map;

/**
 * What compute needs from the image service: the images a caller may boot, their data on this
 * controller, and registering a snapshot. Kept narrow so compute does not depend on how images
 * are stored.
 */
public interface ImageCatalog {
    /** The image as {@code auth} sees it; throws a 404 CloudException if it is unknown or not visible. */
    BootableImage find(AuthContext auth, String imageId);

    /** The local file with an active image's data. */
    Path file(String imageId);

    /**
     * Registers a new private image of the caller's project, queued for data (Nova's createImage
     * answers with its id before the snapshot is taken); returns its id.
     */
    String reserveSnapshot(AuthContext auth, String name, Map<String, String> properties, String diskFormat);

    /** Uploads the snapshot's data; the image becomes active. */
    void uploadSnapshot(AuthContext auth, String imageId, Path source, String diskFormat);

    /** Removes a reserved snapshot whose data could not be taken. */
    void abandonSnapshot(AuthContext auth, String imageId);

    /** The ids of a server's backup images of one type (createBackup's daily, weekly …), newest first. */
    java.util.List<String> backups(AuthContext auth, String serverId, String backupType);

    /** Deletes an image (a backup rotated out). */
    void delete(AuthContext auth, String imageId);

    /** An image as compute sees it. Properties hold kernel_id, ramdisk_id, os_command_line and the like. */
    record BootableImage(String id, String name, String status, String diskFormat, String containerFormat, int minDiskGb, int minRamMb,
            String checksum, Map<String, String> properties) {
        public BootableImage {
            properties = Map.copyOf(properties);
        }

        public boolean isActive() {
            return "active".equals(status);
        }
    }
}
