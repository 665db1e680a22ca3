package io.strata.image;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An image as Glance v2 describes it. {@code properties} are the free-form ones (kernel_id,
 * hw_disk_bus, os_distro…) that Glance shows as top-level keys next to the core attributes.
 * Properties and tags are kept sorted so that every rendering of an image is the same.
 *
 * @param owner project that owns the image; null only for images registered without a project
 * @param sizeBytes bytes of data, null until uploaded
 * @param virtualSize size of the disk the data describes (qcow2 header, or the size of raw data)
 * @param checksum MD5 of the data, hex
 * @param osHashAlgo algorithm of {@code osHashValue} (sha512)
 * @param minDisk GB of disk the image needs to boot
 * @param minRam MB of RAM the image needs to boot
 * @param protectedImage true refuses deletion
 * @param osHidden true leaves the image out of default listings
 */
public record Image(
        String id,
        String name,
        String owner,
        ImageStatus status,
        Visibility visibility,
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
    public Image {
        requireNonNull(id, "id is null");
        requireNonNull(status, "status is null");
        requireNonNull(visibility, "visibility is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
        properties = Collections.unmodifiableMap(new TreeMap<>(requireNonNull(properties, "properties is null")));
        tags = List.copyOf(new TreeSet<>(requireNonNull(tags, "tags is null")));
    }

    public boolean isActive() {
        return status == ImageStatus.ACTIVE;
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** For applying a list of changes (a JSON patch) to a copy of an image. */
    public static final class Builder {
        private final String id;
        private final Instant createdAt;
        private String name;
        private String owner;
        private ImageStatus status;
        private Visibility visibility;
        private String containerFormat;
        private String diskFormat;
        private Long sizeBytes;
        private Long virtualSize;
        private String checksum;
        private String osHashAlgo;
        private String osHashValue;
        private int minDisk;
        private int minRam;
        private boolean protectedImage;
        private boolean osHidden;
        private final TreeMap<String, String> properties;
        private final TreeSet<String> tags;
        private Instant updatedAt;

        private Builder(Image image) {
            this.id = image.id;
            this.createdAt = image.createdAt;
            this.name = image.name;
            this.owner = image.owner;
            this.status = image.status;
            this.visibility = image.visibility;
            this.containerFormat = image.containerFormat;
            this.diskFormat = image.diskFormat;
            this.sizeBytes = image.sizeBytes;
            this.virtualSize = image.virtualSize;
            this.checksum = image.checksum;
            this.osHashAlgo = image.osHashAlgo;
            this.osHashValue = image.osHashValue;
            this.minDisk = image.minDisk;
            this.minRam = image.minRam;
            this.protectedImage = image.protectedImage;
            this.osHidden = image.osHidden;
            this.properties = new TreeMap<>(image.properties);
            this.tags = new TreeSet<>(image.tags);
            this.updatedAt = image.updatedAt;
        }

        public ImageStatus status() {
            return status;
        }

        public Map<String, String> properties() {
            return properties;
        }

        public Builder name(String value) {
            this.name = value;
            return this;
        }

        public Builder owner(String value) {
            this.owner = value;
            return this;
        }

        public Builder status(ImageStatus value) {
            this.status = requireNonNull(value, "status is null");
            return this;
        }

        public Builder visibility(Visibility value) {
            this.visibility = requireNonNull(value, "visibility is null");
            return this;
        }

        public Builder containerFormat(String value) {
            this.containerFormat = value;
            return this;
        }

        public Builder diskFormat(String value) {
            this.diskFormat = value;
            return this;
        }

        public Builder minDisk(int value) {
            this.minDisk = value;
            return this;
        }

        public Builder minRam(int value) {
            this.minRam = value;
            return this;
        }

        public Builder protectedImage(boolean value) {
            this.protectedImage = value;
            return this;
        }

        public Builder osHidden(boolean value) {
            this.osHidden = value;
            return this;
        }

        public Builder tags(List<String> value) {
            tags.clear();
            tags.addAll(value);
            return this;
        }

        /** Size, virtual size and hashes of newly stored data. */
        public Builder data(ImageData data, Long newVirtualSize) {
            this.sizeBytes = data.sizeBytes();
            this.virtualSize = newVirtualSize;
            this.checksum = data.md5();
            this.osHashAlgo = ImageData.HASH_ALGORITHM;
            this.osHashValue = data.sha512();
            return this;
        }

        /** No data any more (a failed upload): Glance clears size and hashes with the data. */
        public Builder withoutData() {
            this.sizeBytes = null;
            this.virtualSize = null;
            this.checksum = null;
            this.osHashAlgo = null;
            this.osHashValue = null;
            return this;
        }

        public Builder updatedAt(Instant value) {
            this.updatedAt = requireNonNull(value, "updatedAt is null");
            return this;
        }

        public Image build() {
            return new Image(id, name, owner, status, visibility, containerFormat, diskFormat, sizeBytes, virtualSize, checksum,
                    osHashAlgo, osHashValue, minDisk, minRam, protectedImage, osHidden, properties, List.copyOf(tags), createdAt,
                    updatedAt);
        }
    }
}
