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
public final class HostDirs {
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

    /** Writes whole 64 KiB blocks of a qcow2 image through qemu-io (QEMU's block layer, as a guest would), each with its own pattern. */
    static void qemuIoWrite(Path image, int pattern, int... blocks) {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("qemu-io", "-f", "qcow2"));
        for (int block : blocks) {
            command.addAll(java.util.List.of("-c", "write -P " + ((pattern + block) & 0xff) + " " + (long) block * BLOCK + " " + BLOCK));
        }
        command.add(image.toString());
        run(command);
    }

    /**
     * Writes one block through qemu-io and kills it before it closes the image: the dirty bitmaps
     * in the image stay flagged in-use (inconsistent), as after a crashed guest.
     */
    static void qemuIoWriteAndDie(Path image, int pattern, int block) {
        try {
            String range = (long) block * BLOCK + " " + BLOCK;
            // Line-buffered, so that the read-back's output (after write and flush) arrives while it sleeps.
            Process process = new ProcessBuilder("stdbuf", "-oL", "qemu-io", "-f", "qcow2", "-c", "write -P " + pattern + " " + range,
                    "-c", "flush", "-c", "read -P " + pattern + " " + range, "-c", "sleep 60000", image.toString())
                    .redirectErrorStream(true).start();
            try {
                var out = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream()));
                String line;
                do {
                    line = out.readLine();
                } while (line != null && !line.startsWith("read "));
                if (line == null) {
                    throw new IllegalStateException("qemu-io did not write and read back block " + block);
                }
            } finally {
                process.destroyForcibly();
                process.waitFor();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Clears bit 0 of a qcow2 header's autoclear features (bytes 88-95), as a program that does
     * not know the bitmaps extension does when it opens the image for writing.
     */
    static void clearBitmapsAutoclear(Path image) {
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer features = ByteBuffer.allocate(8);
            channel.read(features, 88);
            channel.write(ByteBuffer.allocate(8).putLong(0, features.getLong(0) & ~1L), 88);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code qemu-img info --output=json} of an image. */
    static String imageInfo(Path image) {
        try {
            Process process = new ProcessBuilder("qemu-img", "info", "--output=json", image.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (process.waitFor() != 0) {
                throw new IllegalStateException("qemu-img info " + image + " failed");
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The SHA-256 of a qcow2 image's guest-visible content (through a raw copy). */
    static String qcow2Checksum(Path image, long size) {
        try {
            Path raw = Files.createTempFile("qcow2-sum-", ".raw");
            try {
                run(java.util.List.of("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString()));
                return checksum(raw, size);
            } finally {
                Files.deleteIfExists(raw);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a command (qemu-img, qemu-io…) with no input and returns its output; fails the test when it fails. */
    public static String run(String... command) {
        return run(java.util.List.of(command));
    }

    private static String run(java.util.List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (process.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Processes on this machine (the test's SSH host) running a {@code python3 -c} script with an
     * argument under {@code under}: the host-side NBD readers of sockets there (pyenv's shim runs
     * python3 by its full path).
     */
    public static java.util.List<Long> pythonScriptsOn(Path under) {
        java.util.List<Long> pids = new java.util.ArrayList<>();
        try (var processes = Files.list(Path.of("/proc"))) {
            for (Path process : processes.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    java.util.List<String> args = java.util.List.of(
                            new String(Files.readAllBytes(process.resolve("cmdline")), java.nio.charset.StandardCharsets.UTF_8).split("\0"));
                    if (!args.isEmpty() && args.getFirst().endsWith("python3") && args.contains("-c")
                            && args.stream().anyMatch(arg -> arg.startsWith(under.toString()))) {
                        pids.add(Long.parseLong(process.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // Ended meanwhile.
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pids;
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
