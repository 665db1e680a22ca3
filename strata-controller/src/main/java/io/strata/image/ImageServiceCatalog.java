package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.compute.ImageCatalog;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The image service as compute sees it. */
public final class ImageServiceCatalog implements ImageCatalog {
    private final ImageService images;

    public ImageServiceCatalog(ImageService images) {
        this.images = requireNonNull(images, "images is null");
    }

    @Override
    public BootableImage find(AuthContext auth, String imageId) {
        Image i = images.get(auth, imageId);
        return new BootableImage(i.id(), i.name(), i.status().wireName(), i.diskFormat(), i.containerFormat(), i.minDisk(), i.minRam(), i.checksum(),
                i.properties());
    }

    @Override
    public Path file(String imageId) {
        return images.file(imageId);
    }

    @Override
    public String reserveSnapshot(AuthContext auth, String name, Map<String, String> properties, String diskFormat) {
        return images.createQueued(auth, name, properties, diskFormat, "bare").id();
    }

    @Override
    public void uploadSnapshot(AuthContext auth, String imageId, Path source, String diskFormat) {
        // The reservation guessed the format; the driver says what it wrote, and the image
        // service checks uploaded data against the declared format.
        if (diskFormat != null && !diskFormat.equals(images.get(auth, imageId).diskFormat())) {
            images.update(auth, imageId, java.util.List.of(new ImageChange.SetDiskFormat(diskFormat)));
        }
        try (InputStream in = Files.newInputStream(source)) {
            images.upload(auth, imageId, in);
        } catch (IOException e) {
            throw new CloudException(ErrorCode.INTERNAL, "cannot read snapshot " + source + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void abandonSnapshot(AuthContext auth, String imageId) {
        images.delete(auth, imageId);
    }

    @Override
    public java.util.List<String> backups(AuthContext auth, String serverId, String backupType) {
        ImageQuery all = ImageQuery.all();
        ImageQuery query = new ImageQuery(all.visibility(), all.memberStatus(), all.osHidden(), all.conditions(), all.tags(),
                Map.of("instance_uuid", serverId, "image_type", "backup", "backup_type", backupType), all.sort(), null, ImageQuery.MAX_LIMIT);
        return images.list(auth, query).stream().map(Image::id).toList();
    }

    @Override
    public void delete(AuthContext auth, String imageId) {
        images.delete(auth, imageId);
    }
}
