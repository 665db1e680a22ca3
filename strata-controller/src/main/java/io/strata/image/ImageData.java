package io.strata.image;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * Data received into the image store but not yet attached to an image: a staged file, its
 * digests computed while it was written, and what its first bytes say about its format.
 */
public record ImageData(Path file, long sizeBytes, String md5, String sha512, DiskInspection inspection) {
    /** Glance's os_hash_algo default. */
    public static final String HASH_ALGORITHM = "sha512";

    public ImageData {
        requireNonNull(file, "file is null");
        requireNonNull(md5, "md5 is null");
        requireNonNull(sha512, "sha512 is null");
        requireNonNull(inspection, "inspection is null");
    }
}
