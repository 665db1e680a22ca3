package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import io.strata.migration.disk.DiskReplicator;
import io.strata.migration.host.LocalHost;
import io.strata.migration.host.SshHost;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bytes that really cross the SSH connection, counted by a TCP relay between the worker and
 * a real sshd on loopback: disk writes in gzip frames (on by default) take a fraction of the
 * plain ones for compressible data, in the direction where JSch's own compression is not used;
 * disk reads shrink with SSH's zlib for what the host sends ({@code compression}). Times are
 * logged for comparison; on loopback the link is never the bottleneck, so they show the CPU
 * cost only.
 */
class SshWireBytesTest {
    private static final Logger log = LoggerFactory.getLogger(SshWireBytesTest.class);
    private static final long DISK_SIZE = 32L << 20;

    @TempDir
    static Path dir;

    private static Sshd sshd;
    private static Relay relay;
    private static Path source;

    @BeforeAll
    static void start() throws IOException {
        sshd = Sshd.start(dir);
        relay = new Relay(sshd.port);
        source = compressibleDisk(dir.resolve("source.raw"));
    }

    @AfterAll
    static void stop() throws IOException {
        if (relay != null) {
            relay.close();
        }
        if (sshd != null) {
            sshd.close();
        }
    }

    /** A disk full of log-like text with some random blocks: compresses about fivefold at gzip -1. */
    private static Path compressibleDisk(Path file) throws IOException {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; lines.length() < (1 << 20); i++) {
            lines.append("Dec  4 21:40:").append(i % 60).append(" host sshd[").append(1000 + i % 977).append("]: session opened for user ")
                    .append(i % 13 == 0 ? "root" : "migrator").append(" id=").append(i * 7919L).append('\n');
        }
        byte[] text = lines.toString().getBytes(StandardCharsets.US_ASCII);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long offset = 0; offset < DISK_SIZE; offset += 1 << 20) {
                channel.write(ByteBuffer.wrap(text, 0, 1 << 20), offset);
            }
        }
        HostDirs.overwriteBlocks(file, 5, 3, 100, 200, 300, 400);
        return file;
    }

    private static SshHost connect(boolean compression, boolean compressWrites, boolean compressReads) throws IOException {
        return SshHost.connect(new SshHost.Login("127.0.0.1", relay.port(), sshd.user, null, sshd.clientKey, null, null, compression,
                compressWrites, compressReads));
    }

    private record Crossed(long toHost, long fromHost, long millis) {}

    private static Crossed write(Path source, boolean compressWrites, String name) throws IOException {
        Path destination = dir.resolve(name);
        long toHost = relay.toServer.get();
        long fromHost = relay.toClient.get();
        long started = System.nanoTime();
        try (SshHost host = connect(false, compressWrites, false); BlockTarget target = host.openRawTarget(destination);
                BlockSource from = new LocalHost().openRawSource(source, false)) {
            new DiskReplicator().replicate(from, target, dir.resolve(name + ".state"), () -> false, (done, total) -> { });
        }
        Crossed crossed = new Crossed(relay.toServer.get() - toHost, relay.toClient.get() - fromHost, (System.nanoTime() - started) / 1_000_000);
        assertThat(HostDirs.checksum(destination, DISK_SIZE)).isEqualTo(HostDirs.checksum(source, DISK_SIZE));
        return crossed;
    }

    private static Crossed read(Path source, boolean compression, boolean compressReads) throws IOException {
        long toHost = relay.toServer.get();
        long fromHost = relay.toClient.get();
        long started = System.nanoTime();
        java.security.MessageDigest digest;
        try {
            digest = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (SshHost host = connect(compression, true, compressReads); BlockSource disk = host.openRawSource(source, false)) {
            ByteBuffer buffer = ByteBuffer.allocate(DiskReplicator.BLOCK_SIZE);
            for (long offset = 0; offset < DISK_SIZE; offset += DiskReplicator.BLOCK_SIZE) {
                buffer.clear();
                disk.read(offset, buffer);
                buffer.flip();
                digest.update(buffer);
            }
        }
        assertThat(java.util.HexFormat.of().formatHex(digest.digest())).isEqualTo(HostDirs.checksum(source, DISK_SIZE));
        return new Crossed(relay.toServer.get() - toHost, relay.toClient.get() - fromHost, (System.nanoTime() - started) / 1_000_000);
    }

    @Test
    void compressedWritesCrossTheLinkInAFractionOfTheBytes() throws IOException {
        Crossed plain = write(source, false, "plain.raw");
        Crossed gzip = write(source, true, "gzip.raw");
        log.info("writes of a {} MiB compressible disk over SSH: plain {} bytes to the host in {} ms, gzip frames {} bytes in {} ms",
                DISK_SIZE >> 20, plain.toHost(), plain.millis(), gzip.toHost(), gzip.millis());
        assertThat(plain.toHost()).isGreaterThan(DISK_SIZE);
        assertThat(gzip.toHost()).isLessThan(plain.toHost() / 3);
    }

    @Test
    void readsShrinkWithSshCompressionOfWhatTheHostSends() throws IOException {
        Crossed plain = read(source, false, false);
        Crossed zlib = read(source, true, false);
        log.info("reads of a {} MiB compressible disk over SSH: plain {} bytes from the host in {} ms, SSH zlib {} bytes in {} ms",
                DISK_SIZE >> 20, plain.fromHost(), plain.millis(), zlib.fromHost(), zlib.millis());
        assertThat(plain.fromHost()).isGreaterThan(DISK_SIZE);
        assertThat(zlib.fromHost()).isLessThan(plain.fromHost() / 3);
    }

    @Test
    void readsShrinkWithZlibFramesFromTheHost() throws IOException {
        Crossed plain = read(source, false, false);
        Crossed frames = read(source, false, true);
        log.info("reads of a {} MiB compressible disk over SSH: plain {} bytes from the host in {} ms, zlib frames {} bytes in {} ms",
                DISK_SIZE >> 20, plain.fromHost(), plain.millis(), frames.fromHost(), frames.millis());
        assertThat(plain.fromHost()).isGreaterThan(DISK_SIZE);
        assertThat(frames.fromHost()).isLessThan(plain.fromHost() / 3);
    }

    @Test
    void incompressibleDataCrossesInAboutItsOwnSizeEitherWay() throws IOException {
        Path random = HostDirs.randomDisk(dir.resolve("random.raw"), DISK_SIZE, 17);
        Crossed plainWrite = write(random, false, "random-plain.raw");
        Crossed gzipWrite = write(random, true, "random-gzip.raw");
        log.info("writes of a {} MiB random disk over SSH: plain {} bytes to the host in {} ms, gzip frames {} bytes in {} ms",
                DISK_SIZE >> 20, plainWrite.toHost(), plainWrite.millis(), gzipWrite.toHost(), gzipWrite.millis());
        assertThat(gzipWrite.toHost()).isLessThan(plainWrite.toHost() + plainWrite.toHost() / 100);
        Crossed plain = read(random, false, false);
        Crossed zlib = read(random, true, false);
        Crossed frames = read(random, false, true);
        log.info("reads of a {} MiB random disk over SSH: zlib frames from the host {} bytes in {} ms", DISK_SIZE >> 20,
                frames.fromHost(), frames.millis());
        assertThat(frames.fromHost()).isLessThan(plain.fromHost() + plain.fromHost() / 100);
        log.info("reads of a {} MiB random disk over SSH: plain {} bytes from the host in {} ms, SSH zlib {} bytes in {} ms",
                DISK_SIZE >> 20, plain.fromHost(), plain.millis(), zlib.fromHost(), zlib.millis());
        // Stored blocks: a few bytes per 32 KiB packet more, never a real expansion.
        assertThat(zlib.fromHost()).isLessThan(plain.fromHost() + plain.fromHost() / 100);
    }

    /** Opens a disk of the SSH host as a block source (it closes the host when it is closed). */
    private interface Opener {
        BlockSource open(SshHost host) throws IOException;
    }

    /**
     * Replicates a disk of the SSH host, opened by {@code opener}, to a local raw file: what came
     * from the host and the copy's checksum against {@code expected}.
     */
    private static Crossed replicateFrom(Opener opener, boolean compressReads, String expected, long size, String name) throws IOException {
        Path copy = dir.resolve(name + ".raw");
        long toHost = relay.toServer.get();
        long fromHost = relay.toClient.get();
        long started = System.nanoTime();
        SshHost host = connect(false, true, compressReads);
        BlockSource disk;
        try {
            disk = opener.open(host);
        } catch (IOException | RuntimeException e) {
            host.close();
            throw e;
        }
        try (disk; BlockTarget target = new LocalHost().openRawTarget(copy)) {
            new DiskReplicator().replicate(disk, target, dir.resolve(name + ".state"), () -> false, (done, total) -> { });
        }
        Crossed crossed = new Crossed(relay.toServer.get() - toHost, relay.toClient.get() - fromHost, (System.nanoTime() - started) / 1_000_000);
        assertThat(HostDirs.checksum(copy, size)).isEqualTo(expected);
        return crossed;
    }

    private static Path qcow2(Path raw, String name) {
        Path image = dir.resolve(name + ".qcow2");
        HostDirs.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), image.toString());
        return image;
    }

    private static Opener atRest(Path image, String tracking) {
        return host -> io.strata.migration.host.TrackedQcow2Disk.open(host, image, tracking, dir.resolve("scratch"), () -> {
            throw new IOException("an image without a backing file is read by qemu-storage-daemon");
        });
    }

    /**
     * NBD reads of a qcow2 disk at rest (qemu-storage-daemon's export) come as zlib frames made by
     * the host's reader with compressed reads, in a fraction of the plain bytes through the
     * forwarded socket; random data crosses in about its size either way, and both copies are right.
     */
    @Test
    void nbdReadsOfAQcow2AtRestComeAsZlibFrames() throws IOException {
        Path image = qcow2(source, "at-rest");
        String expected = HostDirs.checksum(source, DISK_SIZE);
        Crossed plain = replicateFrom(atRest(image, "plain"), false, expected, DISK_SIZE, "at-rest-plain");
        Crossed frames = replicateFrom(atRest(image, "frames"), true, expected, DISK_SIZE, "at-rest-frames");
        log.info("NBD reads of a {} MiB compressible qcow2 at rest over SSH: plain {} bytes from the host in {} ms, zlib frames {} bytes in {} ms",
                DISK_SIZE >> 20, plain.fromHost(), plain.millis(), frames.fromHost(), frames.millis());
        assertThat(plain.fromHost()).isGreaterThan(DISK_SIZE);
        assertThat(frames.fromHost()).isLessThan(plain.fromHost() / 3);

        Path randomImage = qcow2(HostDirs.randomDisk(dir.resolve("random-nbd.raw"), DISK_SIZE, 23), "random-at-rest");
        String randomSum = HostDirs.checksum(dir.resolve("random-nbd.raw"), DISK_SIZE);
        Crossed randomPlain = replicateFrom(atRest(randomImage, "plain"), false, randomSum, DISK_SIZE, "random-at-rest-plain");
        Crossed randomFrames = replicateFrom(atRest(randomImage, "frames"), true, randomSum, DISK_SIZE, "random-at-rest-frames");
        log.info("NBD reads of a {} MiB random qcow2 at rest over SSH: plain {} bytes from the host in {} ms, zlib frames {} bytes in {} ms",
                DISK_SIZE >> 20, randomPlain.fromHost(), randomPlain.millis(), randomFrames.fromHost(), randomFrames.millis());
        assertThat(randomFrames.fromHost()).isGreaterThan(DISK_SIZE).isLessThan(randomPlain.fromHost() + randomPlain.fromHost() / 100);
    }

    /**
     * NBD reads of a running guest's disk (the fleecing node its QEMU exports) come as zlib frames
     * too, and the copy equals the guest's disk.
     */
    @Test
    void nbdReadsOfARunningGuestComeAsZlibFrames() throws IOException {
        Path instance = Files.createDirectories(dir.resolve("live-vm"));
        Path disk = instance.resolve("disk.qcow2");
        Files.move(qcow2(source, "live"), disk);
        try (RunningQemu qemu = RunningQemu.onDisk(disk, DISK_SIZE, dir.resolve("live-guest.sock"))) {
            String expected = qemu.checksum();
            Opener live = host -> io.strata.migration.host.LiveQemuDisk.open(host, instance.resolve("qmp.sock"), disk, "wire",
                    dir.resolve("live-scratch"));
            Crossed plain = replicateFrom(live, false, expected, DISK_SIZE, "live-plain");
            Crossed frames = replicateFrom(live, true, expected, DISK_SIZE, "live-frames");
            log.info("NBD reads of a {} MiB compressible running guest's disk over SSH: plain {} bytes from the host in {} ms, zlib frames {} bytes in {} ms",
                    DISK_SIZE >> 20, plain.fromHost(), plain.millis(), frames.fromHost(), frames.millis());
            assertThat(plain.fromHost()).isGreaterThan(DISK_SIZE);
            assertThat(frames.fromHost()).isLessThan(plain.fromHost() / 3);
            qemu.assertNothingLeft(1);
        }
    }

    /** A loopback TCP relay to the sshd that counts the bytes in each direction. */
    private static final class Relay implements AutoCloseable {
        final AtomicLong toServer = new AtomicLong();
        final AtomicLong toClient = new AtomicLong();
        private final ServerSocket listener;
        private final int target;

        Relay(int target) throws IOException {
            this.target = target;
            this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(this::accept);
        }

        int port() {
            return listener.getLocalPort();
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                    Thread.ofVirtual().start(() -> pump(client, server, toServer));
                    Thread.ofVirtual().start(() -> pump(server, client, toClient));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private static void pump(Socket from, Socket to, AtomicLong counter) {
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    out.write(buffer, 0, n);
                    counter.addAndGet(n);
                }
            } catch (IOException e) {
                // One side closed: the other pump ends too.
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // Closing only.
                }
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
