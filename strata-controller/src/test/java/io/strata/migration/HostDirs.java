package io.strata.migration;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Disk files and instance directories in the qemu-host layout, for tests. */
final class HostDirs {
    static final int BLOCK = 64 * 1024;

    private HostDirs() {}

    /** A sparse raw disk of {@code size} bytes with random data in the given 64 KiB blocks. */
    static Path sparseDisk(Path file, long size, long seed, int... dataBlocks) {
        try {
            Files.createDirectories(file.getParent());
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                channel.write(ByteBuffer.wrap(new byte[1]), size - 1);
                for (int block : dataBlocks) {
                    writeRandom(channel, (long) block * BLOCK, BLOCK, seed + block);
                }
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A raw disk entirely of random (incompressible) data. */
    static Path randomDisk(Path file, long size, long seed) {
        try {
            Files.createDirectories(file.getParent());
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                for (long offset = 0; offset < size; offset += 1 << 20) {
                    writeRandom(channel, offset, (int) Math.min(1 << 20, size - offset), seed + offset);
                }
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Overwrites whole 64 KiB blocks with fresh random data. */
    static void overwriteBlocks(Path file, long seed, int... blocks) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (int block : blocks) {
                writeRandom(channel, (long) block * BLOCK, BLOCK, seed * 7919 + block);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeRandom(FileChannel channel, long offset, int length, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.remaining() >= 8) {
            buffer.putLong(random.nextLong());
        }
        buffer.flip();
        while (buffer.hasRemaining()) {
            offset += channel.write(buffer, offset);
        }
    }

    /** SHA-256 of a disk's content as a guest sees it (a shorter file reads as zero-padded to {@code size}). */
    static String checksum(Path file, long size) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
                total += n;
            }
            byte[] zeros = new byte[1 << 20];
            while (total < size) {
                int chunk = (int) Math.min(zeros.length, size - total);
                digest.update(zeros, 0, chunk);
                total += chunk;
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void descriptor(Path instanceDir, String json) {
        try {
            Files.createDirectories(instanceDir);
            Files.writeString(instanceDir.resolve("instance.json"), json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
