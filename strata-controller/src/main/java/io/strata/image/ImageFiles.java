package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image data on the local disk: {@code <dir>/<image id>}, one file per image. Data is first
 * written to {@code <dir>/staging/} while its digests are computed, flushed to disk, and only then
 * renamed into place, so a file under its image id is always complete. Nothing here holds image
 * data in memory beyond one buffer.
 */
public final class ImageFiles {
    private static final Logger log = LoggerFactory.getLogger(ImageFiles.class);
    private static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final int BUFFER_BYTES = 256 * 1024;

    private final Path dir;
    private final Path staging;

    public ImageFiles(Path dir) {
        this.dir = requireNonNull(dir, "dir is null").toAbsolutePath();
        this.staging = this.dir.resolve("staging");
        try {
            Files.createDirectories(staging);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the image directory " + staging, e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** Where an image's data lives (whether or not it exists). */
    public Path path(String imageId) {
        // Ids reach here from URLs; only a UUID may become a file name.
        if (!UUID.matcher(imageId).matches()) {
            throw new IllegalArgumentException("not an image id: " + imageId);
        }
        return dir.resolve(imageId.toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * Copies {@code data} to a staged file, computing MD5 and SHA-512 on the way. A failure to read
     * the data is the client's (400), and so is data beyond {@code maxBytes} (413, found as soon as
     * the byte after the limit is read, so that the rest is never written); a failure to write it
     * is ours (500). Either way no staged file is left behind.
     */
    public ImageData receive(InputStream data, long maxBytes) {
        requireNonNull(data, "data is null");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes is negative: " + maxBytes);
        }
        Path temp = createStagingFile("upload-");
        try {
            return write(temp, data, maxBytes);
        } catch (RuntimeException e) {
            deleteQuietly(temp);
            throw e;
        }
    }

    /**
     * Takes over {@code source}: moves it into staging (a rename on the same file system, else a
     * copy and delete) and computes its digests by reading it once.
     */
    public ImageData adopt(Path source) {
        requireNonNull(source, "source is null");
        if (!Files.isRegularFile(source)) {
            throw CloudException.badRequest("Image source %s is not a regular file.", source);
        }
        Path temp = staging.resolve("adopt-" + java.util.UUID.randomUUID());
        try {
            try {
                Files.move(source, temp, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(source, temp);
            }
        } catch (IOException e) {
            deleteQuietly(temp);
            throw new CloudException(ErrorCode.INTERNAL, "Could not move " + source + " into the image store: " + e.getMessage(), e);
        }
        try (InputStream in = Files.newInputStream(temp)) {
            Digests digests = new Digests();
            byte[] buffer = new byte[BUFFER_BYTES];
            byte[] head = new byte[DiskInspection.HEAD_BYTES];
            int headLength = 0;
            long size = 0;
            int read;
            while ((read = in.read(buffer)) > 0) {
                headLength = fillHead(head, headLength, buffer, read);
                digests.update(buffer, read);
                size += read;
            }
            return new ImageData(temp, size, digests.md5(), digests.sha512(), DiskInspection.of(head, headLength));
        } catch (IOException e) {
            deleteQuietly(temp);
            throw new CloudException(ErrorCode.INTERNAL, "Could not read " + source + ": " + e.getMessage(), e);
        }
    }

    /** Renames staged data to the image's file, atomically; an older file of that image is replaced. */
    public Path commit(ImageData data, String imageId) {
        Path target = path(imageId);
        try {
            Files.move(data.file(), target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDirectory();
            return target;
        } catch (IOException e) {
            deleteQuietly(data.file());
            throw new CloudException(ErrorCode.INTERNAL, "Could not store the image data: " + e.getMessage(), e);
        }
    }

    /** Puts a taken-over file back where it came from, when the image it was for cannot be made. */
    public void restore(Path file, Path source) {
        try {
            Files.move(file, source);
        } catch (IOException e) {
            log.error("cannot move {} back to {}; removing it", file, source, e);
            deleteQuietly(file);
        }
    }

    /** Drops staged data that will not become an image. */
    public void discard(ImageData data) {
        deleteQuietly(data.file());
    }

    /** Removes an image's data, if any. */
    public void delete(String imageId) {
        deleteQuietly(path(imageId));
    }

    public boolean exists(String imageId) {
        return Files.isRegularFile(path(imageId));
    }

    /** Ids of the images whose data is in this directory. */
    public Set<String> storedIds() {
        Set<String> ids = new java.util.HashSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, Files::isRegularFile)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (UUID.matcher(name).matches()) {
                    ids.add(name);
                }
            }
        } catch (IOException e) {
            log.warn("cannot list {}: {}", dir, e.toString());
        }
        return ids;
    }

    /**
     * Start-up clean-up after a crash: staged files are unfinished uploads, and a file whose image
     * has no data (deleted, or rolled back to queued) is an orphan.
     */
    public void sweep(Set<String> imagesWithData) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(staging)) {
            for (Path file : files) {
                log.info("removing unfinished image upload {}", file);
                deleteQuietly(file);
            }
        } catch (IOException e) {
            log.warn("cannot list {}: {}", staging, e.toString());
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, Files::isRegularFile)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (UUID.matcher(name).matches() && !imagesWithData.contains(name)) {
                    log.info("removing image data without an active image: {}", file);
                    deleteQuietly(file);
                }
            }
        } catch (IOException e) {
            log.warn("cannot list {}: {}", dir, e.toString());
        }
    }

    private ImageData write(Path temp, InputStream data, long maxBytes) {
        Digests digests = new Digests();
        byte[] buffer = new byte[BUFFER_BYTES];
        byte[] head = new byte[DiskInspection.HEAD_BYTES];
        int headLength = 0;
        long size = 0;
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            while (true) {
                int read;
                try {
                    read = data.read(buffer);
                } catch (IOException | RuntimeException e) {
                    // The client went away or sent a broken body (early EOF, bad chunk): its fault, not ours.
                    throw CloudException.badRequest("The image data could not be read from the request: %s", e.getMessage());
                }
                if (read < 0) {
                    break;
                }
                if (read > maxBytes - size) {
                    throw ImageRules.tooLarge(maxBytes);
                }
                headLength = fillHead(head, headLength, buffer, read);
                digests.update(buffer, read);
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, read);
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                size += read;
            }
            // Durable before it is renamed into place: after a crash a committed file is whole.
            out.force(false);
        } catch (IOException e) {
            throw new CloudException(ErrorCode.INTERNAL, "Could not store the image data: " + e.getMessage(), e);
        }
        return new ImageData(temp, size, digests.md5(), digests.sha512(), DiskInspection.of(head, headLength));
    }

    private static int fillHead(byte[] head, int headLength, byte[] buffer, int read) {
        if (headLength >= head.length) {
            return headLength;
        }
        int copy = Math.min(head.length - headLength, read);
        System.arraycopy(buffer, 0, head, headLength, copy);
        return headLength + copy;
    }

    private Path createStagingFile(String prefix) {
        try {
            return Files.createTempFile(staging, prefix, ".part");
        } catch (IOException e) {
            throw new CloudException(ErrorCode.INTERNAL, "Could not create a file in " + staging + ": " + e.getMessage(), e);
        }
    }

    private void syncDirectory() {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not every file system lets a directory be synced; the rename itself is still atomic.
            log.debug("cannot sync {}: {}", dir, e.toString());
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            log.warn("cannot delete {}: {}", file, e.toString());
        }
    }

    /** MD5 (Glance's checksum) and SHA-512 (its os_hash_value) of one stream of data. */
    private static final class Digests {
        private final MessageDigest md5 = digest("MD5");
        private final MessageDigest sha512 = digest("SHA-512");

        void update(byte[] buffer, int length) {
            md5.update(buffer, 0, length);
            sha512.update(buffer, 0, length);
        }

        String md5() {
            return HexFormat.of().formatHex(md5.digest());
        }

        String sha512() {
            return HexFormat.of().formatHex(sha512.digest());
        }

        private static MessageDigest digest(String algorithm) {
            try {
                return MessageDigest.getInstance(algorithm);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK lacks " + algorithm, e);
            }
        }
    }
}
