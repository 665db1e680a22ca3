package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import io.strata.migration.disk.DiskReplicator;
import io.strata.migration.host.LocalHost;
import io.strata.migration.host.SshHost;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the worker writes to a disk on an SSH host (a real sshd on loopback) goes as gzip frames
 * unpacked on the host by gzip: the destination equals the source byte for byte (SHA-256),
 * compressible data crosses the link in far fewer bytes than it holds, incompressible data in
 * about as many (sent raw, not inflated by compression), and with the endpoint's
 * {@code compress_writes} turned off the frames carry the bytes as they are.
 */
class SshWriteCompressionTest {
    private static final long DISK_SIZE = 24L << 20;

    @TempDir
    static Path dir;

    private static Sshd sshd;

    @BeforeAll
    static void start() {
        sshd = Sshd.start(dir);
    }

    @AfterAll
    static void stop() {
        if (sshd != null) {
            sshd.close();
        }
    }

    /** A volume of a qemu-host endpoint over SSH, its connection as a user gives it ({@code compress_writes} absent when null). */
    private static BlockTarget volume(Path file, Boolean compressWrites) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode connection = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        connection.put("path", dir.toString());
        connection.put("host", "127.0.0.1");
        connection.put("port", sshd.port);
        connection.put("username", sshd.user);
        connection.put("private_key", sshd.clientKey);
        if (compressWrites != null) {
            connection.put("compress_writes", compressWrites);
        }
        return new io.strata.migration.provider.QemuHostProvider(dir.resolve("scratch"))
                .openVolume(connection, com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("path", file.toString()));
    }

    private static SshHost connect(boolean compressWrites) throws IOException {
        return SshHost.connect(new SshHost.Login("127.0.0.1", sshd.port, sshd.user, null, sshd.clientKey, null, sshd.hostKey, false,
                compressWrites, true));
    }

    /** A sparse disk whose data blocks hold text-like (compressible) content, with three random blocks among them. */
    private static Path mixedDisk(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        byte[] text = new byte[HostDirs.BLOCK];
        StringBuilder lines = new StringBuilder();
        for (int i = 0; lines.length() < text.length; i++) {
            lines.append("Dec  4 21:40:").append(i % 60).append(" host kernel: [").append(i * 37).append("] eth0: link up, 1000 Mbps\n");
        }
        System.arraycopy(lines.toString().getBytes(StandardCharsets.US_ASCII), 0, text, 0, text.length);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(ByteBuffer.wrap(new byte[1]), DISK_SIZE - 1);
            // Runs of 200 contiguous blocks (more than one 8 MiB frame), single blocks, gaps.
            for (int block : new int[] {0, 1, 2, 5, 9, 40, 41, 300}) {
                text[0] = (byte) block;
                channel.write(ByteBuffer.wrap(text), (long) block * HostDirs.BLOCK);
            }
            for (int block = 100; block < 300; block++) {
                text[1] = (byte) block;
                channel.write(ByteBuffer.wrap(text), (long) block * HostDirs.BLOCK);
            }
            // The disk's last bytes.
            channel.write(ByteBuffer.wrap(text, 0, 1000), DISK_SIZE - 1000);
        }
        HostDirs.overwriteBlocks(file, 3, 7, 200, 350);
        return file;
    }

    private static DiskReplicator.Stats replicate(Path source, BlockTarget target, Path state) throws IOException {
        try (BlockSource from = new LocalHost().openRawSource(source, false)) {
            return new DiskReplicator().replicate(from, target, state, () -> false, (done, total) -> { });
        }
    }

    @Test
    void compressibleWritesCrossTheLinkCompressedAndLandExactly() throws IOException {
        Path source = mixedDisk(dir.resolve("mixed/source.raw"));
        Path destination = dir.resolve("mixed/destination.raw");
        DiskReplicator.Stats first;
        // Compression is the endpoint's default.
        try (BlockTarget target = volume(destination, null)) {
            first = replicate(source, target, dir.resolve("mixed/state"));
        }
        assertThat(HostDirs.checksum(destination, DISK_SIZE)).isEqualTo(HostDirs.checksum(source, DISK_SIZE));
        assertThat(Files.size(destination)).isEqualTo(DISK_SIZE);
        // 211 data blocks (three random ones) and the tail: the text compresses more than tenfold.
        assertThat(first.payloadBytes()).isEqualTo(first.blocksSent() * (long) HostDirs.BLOCK);
        assertThat(first.wireBytes()).isPositive().isLessThan(first.payloadBytes() / 5);

        // A later execution sends only the changed blocks, compressed as well.
        HostDirs.overwriteBlocks(source, 9, 120);
        try (FileChannel channel = FileChannel.open(source, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap("changed log line\n".repeat(4000).getBytes(StandardCharsets.US_ASCII)), 150L * HostDirs.BLOCK);
        }
        DiskReplicator.Stats second;
        try (SshHost host = connect(true); BlockTarget target = host.openRawTarget(destination)) {
            second = replicate(source, target, dir.resolve("mixed/state"));
        }
        assertThat(second.incremental()).isTrue();
        assertThat(second.blocksSent()).isEqualTo(3);
        assertThat(HostDirs.checksum(destination, DISK_SIZE)).isEqualTo(HostDirs.checksum(source, DISK_SIZE));
        assertThat(second.wireBytes()).isLessThan(second.payloadBytes());
    }

    @Test
    void incompressibleWritesGoAsTheyAre() throws IOException {
        long size = 12L << 20;
        Path source = HostDirs.randomDisk(dir.resolve("random/source.raw"), size, 11);
        Path destination = dir.resolve("random/destination.raw");
        DiskReplicator.Stats stats;
        try (SshHost host = connect(true); BlockTarget target = host.openRawTarget(destination)) {
            stats = replicate(source, target, dir.resolve("random/state"));
        }
        assertThat(HostDirs.checksum(destination, size)).isEqualTo(HostDirs.checksum(source, size));
        assertThat(stats.payloadBytes()).isEqualTo(size);
        // Raw frames: the data and one short header line per frame (8 MiB), nothing more.
        assertThat(stats.wireBytes()).isGreaterThan(size).isLessThan(size + 100);
    }

    @Test
    void writesGoPlainWithTheEndpointsCompressionTurnedOff() throws IOException {
        Path source = mixedDisk(dir.resolve("plain/source.raw"));
        Path destination = dir.resolve("plain/destination.raw");
        DiskReplicator.Stats stats;
        Files.createDirectories(destination.getParent());
        try (BlockTarget target = volume(destination, false)) {
            stats = replicate(source, target, dir.resolve("plain/state"));
        }
        assertThat(HostDirs.checksum(destination, DISK_SIZE)).isEqualTo(HostDirs.checksum(source, DISK_SIZE));
        assertThat(stats.wireBytes()).isGreaterThan(stats.payloadBytes()).isLessThan(stats.payloadBytes() + 1000);
    }
}
