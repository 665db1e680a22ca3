package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Image data on disk, one file per image. Uploads stream through a fixed buffer into a temporary
 * file while MD5 (Glance's checksum) and SHA-512 (os_hash_value) are computed, and only a
 * complete upload is moved into place, so a broken upload leaves no partial image behind.
 */
public final class ImageFiles {
    private static final int BUFFER = 1 << 16;

    private final Path root;

    /** What an upload wrote. */
    public record Written(long size, String md5, String sha512) {}

    public ImageFiles(Path root) {
        this.root = requireNonNull(root, "root is null");
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create image directory " + root, e);
        }
    }

    public Path path(String imageId) {
        return root.resolve(imageId);
    }

    public boolean exists(String imageId) {
        return Files.exists(path(imageId));
    }

    /** Streams {@code data} into the image's file; on any failure nothing is left behind. */
    public Written write(String imageId, InputStream data) {
        Path tmp = root.resolve(imageId + ".uploading");
        MessageDigest md5 = digest("MD5");
        MessageDigest sha512 = digest("SHA-512");
        long size = 0;
        try (OutputStream out = Files.newOutputStream(tmp)) {
            byte[] buffer = new byte[BUFFER];
            int read;
            while ((read = data.read(buffer)) >= 0) {
                out.write(buffer, 0, read);
                md5.update(buffer, 0, read);
                sha512.update(buffer, 0, read);
                size += read;
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new CloudException(ErrorCode.BAD_REQUEST, "The image upload did not complete: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        try {
            Files.move(tmp, path(imageId), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot store image " + imageId, e);
        }
        return new Written(size, HexFormat.of().formatHex(md5.digest()), HexFormat.of().formatHex(sha512.digest()));
    }

    public void delete(String imageId) {
        deleteQuietly(path(imageId));
        deleteQuietly(root.resolve(imageId + ".uploading"));
    }

    /** Removes leftovers of uploads interrupted by a crash. */
    public void removeIncompleteUploads() {
        try (var files = Files.list(root)) {
            files.filter(p -> p.getFileName().toString().endsWith(".uploading")).forEach(ImageFiles::deleteQuietly);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // a leftover file costs space, not correctness; the next start removes it
        }
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
