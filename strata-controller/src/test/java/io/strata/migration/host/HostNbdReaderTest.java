package io.strata.migration.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.strata.migration.HostDirs;
import io.strata.migration.Sshd;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockSource.Extent;
import io.strata.migration.disk.DiskReplicator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host-side NBD reader against a real qemu-nbd on a host reached through a real sshd on
 * loopback: planned, skipped and unplanned reads give the export's bytes; an NBD error reply
 * (blkdebug injecting EIO) and a reader killed on the host fail the read with a clear message,
 * and a replication reading through it fails; closing leaves no reader running.
 */
class HostNbdReaderTest {
    private static final int BLOCK = 64 * 1024;
    private static final int SIZE = 24 << 20;

    @TempDir
    static Path dir;

    private static Sshd sshd;
    private static byte[] content;
    private static Path file;

    @BeforeAll
    static void start() throws IOException {
        sshd = Sshd.start(dir);
        // Text-like blocks and random ones.
        content = new byte[SIZE];
        byte[] line = "Dec  5 03:30:01 host kernel: a line of a log that compresses well\n".getBytes(StandardCharsets.US_ASCII);
        for (int at = 0; at < SIZE; at += line.length) {
            System.arraycopy(line, 0, content, at, Math.min(line.length, SIZE - at));
        }
        SplittableRandom random = new SplittableRandom(7);
        // One block in four, never a frame's first (the 4 KiB probe of each 1 MiB frame sees text).
        for (int block = 1; block < SIZE / BLOCK; block += 4) {
            byte[] noise = new byte[BLOCK];
            random.nextBytes(noise);
            System.arraycopy(noise, 0, content, block * BLOCK, BLOCK);
        }
        file = dir.resolve("disk.raw");
        Files.write(file, content);
    }

    @AfterAll
    static void stop() {
        if (sshd != null) {
            sshd.close();
        }
    }

    private static SshHost connect() throws IOException {
        return SshHost.connect(new SshHost.Login("127.0.0.1", sshd.port, sshd.user, null, sshd.clientKey, null, sshd.hostKey, false, true, true));
    }

    /** A read-only qemu-nbd of {@code imageOpts} (--image-opts) on a socket of its own. */
    private record QemuNbd(Process process, Path socket) implements AutoCloseable {
        static QemuNbd start(String name, String imageOpts) throws IOException {
            Path socket = dir.resolve(name + ".sock");
            Process process = new ProcessBuilder("qemu-nbd", "-r", "--persistent", "-x", "disk", "-k", socket.toString(), "--image-opts",
                    imageOpts).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
            QemuNbd nbd = new QemuNbd(process, socket);
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(socket) || !process.isAlive());
                assertThat(process.isAlive()).as("qemu-nbd started").isTrue();
            } catch (RuntimeException | AssertionError e) {
                nbd.close();
                throw e;
            }
            return nbd;
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String plain(Path image) {
        return "driver=raw,file.driver=file,file.filename=" + image;
    }

    private static byte[] read(HostNbdReader reader, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(length);
        reader.readUpTo(offset, buffer);
        byte[] bytes = new byte[length];
        buffer.flip().get(bytes);
        return bytes;
    }

    private static byte[] expected(long offset, int length) {
        byte[] bytes = new byte[length];
        int available = (int) Math.max(0, Math.min(length, SIZE - offset));
        System.arraycopy(content, (int) offset, bytes, 0, available);
        return bytes;
    }

    /** Readers of {@code socket} running on this machine (the SSH host). */
    private static List<Long> readers(Path socket) {
        return HostDirs.pythonScriptsOn(socket);
    }

    @Test
    void plannedSkippedAndUnplannedReadsGiveTheExportsBytes() throws Exception {
        try (QemuNbd nbd = QemuNbd.start("plain", plain(file)); SshHost host = connect();
                HostNbdReader reader = HostNbdReader.open(host, nbd.socket(), "disk", SIZE)) {
            assertThat(reader).isNotNull();
            // More than the read-ahead window, across several pieces and extents.
            reader.plan(List.of(new Extent(0, 9L << 20), new Extent(12L << 20, 12L << 20)));
            for (long offset = 0; offset < SIZE; offset += BLOCK) {
                boolean planned = offset < (9L << 20) || offset >= (12L << 20);
                // Some planned blocks are skipped by the reader: their bytes are dropped, the next ones still right.
                if (planned && (offset / BLOCK) % 7 != 3) {
                    assertThat(read(reader, offset, BLOCK)).as("block at %d", offset).isEqualTo(expected(offset, BLOCK));
                }
            }
            // Outside any plan: backwards, unaligned, across piece boundaries, and past the end (zeros).
            assertThat(read(reader, 1000, 5000)).isEqualTo(expected(1000, 5000));
            assertThat(read(reader, (4L << 20) - 100, 9 << 20)).isEqualTo(expected((4L << 20) - 100, 9 << 20));
            assertThat(read(reader, SIZE - 100, BLOCK)).isEqualTo(expected(SIZE - 100, BLOCK));
            // A new plan dropped midway by a read elsewhere.
            reader.plan(List.of(new Extent(0, SIZE)));
            assertThat(read(reader, 0, BLOCK)).isEqualTo(expected(0, BLOCK));
            assertThat(read(reader, 20L << 20, BLOCK)).isEqualTo(expected(20L << 20, BLOCK));
            assertThat(read(reader, BLOCK, BLOCK)).isEqualTo(expected(BLOCK, BLOCK));
        }
        // Three blocks in four are text: what comes for the whole export is well below its size.
        try (QemuNbd nbd = QemuNbd.start("whole", plain(file)); SshHost host = connect();
                HostNbdReader reader = HostNbdReader.open(host, nbd.socket(), "disk", SIZE)) {
            reader.plan(List.of(new Extent(0, SIZE)));
            for (long offset = 0; offset < SIZE; offset += BLOCK) {
                assertThat(read(reader, offset, BLOCK)).isEqualTo(expected(offset, BLOCK));
            }
            assertThat(reader.wireBytes()).isGreaterThan(SIZE / 4).isLessThan(SIZE / 2);
        }
    }

    @Test
    void anNbdErrorReplyFailsTheReadAndTheReplication() throws Exception {
        // EIO on every read that touches sector 16384 (8 MiB).
        String failing = "driver=raw,file.driver=blkdebug,file.image.driver=file,file.image.filename=" + file
                + ",file.inject-error.0.event=read_aio,file.inject-error.0.errno=5,file.inject-error.0.sector=16384";
        try (QemuNbd nbd = QemuNbd.start("failing", failing)) {
            try (SshHost host = connect(); HostNbdReader reader = HostNbdReader.open(host, nbd.socket(), "disk", SIZE)) {
                reader.plan(List.of(new Extent(0, SIZE)));
                // Before the bad sector the bytes come; the piece holding it (8-12 MiB) fails whole, with the host's message.
                assertThat(read(reader, 0, BLOCK)).isEqualTo(expected(0, BLOCK));
                assertThatThrownBy(() -> {
                    for (long offset = BLOCK; offset < SIZE; offset += BLOCK) {
                        read(reader, offset, BLOCK);
                    }
                }).isInstanceOf(IOException.class).hasMessageContaining("NBD export disk on " + sshd.user + "@127.0.0.1")
                        .hasMessageContaining("NBD read of").hasMessageContaining("error 5");
                // The reader stays failed: no later read returns bytes from a broken stream.
                assertThatThrownBy(() -> read(reader, 0, BLOCK)).isInstanceOf(IOException.class).hasMessageContaining("error 5");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> readers(nbd.socket()).isEmpty());

            // A replication reading through it fails (an execution then ends in error) and writes nothing wrong.
            Path target = dir.resolve("copy.raw");
            try (SshHost host = connect(); BlockSource source = new ReaderSource(HostNbdReader.open(host, nbd.socket(), "disk", SIZE));
                    var destination = new LocalHost().openRawTarget(target)) {
                assertThatThrownBy(() -> new DiskReplicator().replicate(source, destination, dir.resolve("copy.state"), () -> false,
                        (done, total) -> { })).isInstanceOf(IOException.class).hasMessageContaining("error 5");
            }
            byte[] copied = Files.readAllBytes(target);
            for (int at = 8 << 20; at < Math.min(copied.length, 12 << 20); at++) {
                assertThat(copied[at]).as("byte %d of the failed block", at).isZero();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> readers(nbd.socket()).isEmpty());
        }
    }

    @Test
    void aKilledReaderFailsTheReadAndClosingLeavesNoneRunning() throws Exception {
        try (QemuNbd nbd = QemuNbd.start("killed", plain(file)); SshHost host = connect()) {
            try (HostNbdReader reader = HostNbdReader.open(host, nbd.socket(), "disk", SIZE)) {
                reader.plan(List.of(new Extent(0, SIZE)));
                assertThat(read(reader, 0, BLOCK)).isEqualTo(expected(0, BLOCK));
                List<Long> pids = readers(nbd.socket());
                assertThat(pids).hasSize(1);
                new ProcessBuilder("kill", "-KILL", Long.toString(pids.getFirst())).start().waitFor();
                // What was already on its way may still come; the read that needs more fails.
                assertThatThrownBy(() -> {
                    for (long offset = BLOCK; offset < SIZE; offset += BLOCK) {
                        read(reader, offset, BLOCK);
                    }
                }).isInstanceOf(IOException.class).hasMessageContaining("NBD export disk").hasMessageContaining("was killed");
            }
            // Closed while 32 MiB of requests are due and unread: the reader on the host goes.
            HostNbdReader busy = HostNbdReader.open(host, nbd.socket(), "disk", SIZE);
            busy.plan(List.of(new Extent(0, SIZE)));
            assertThat(read(busy, 0, BLOCK)).isEqualTo(expected(0, BLOCK));
            assertThat(readers(nbd.socket())).hasSize(1);
            busy.close();
            await().atMost(Duration.ofSeconds(10)).until(() -> readers(nbd.socket()).isEmpty());
        }
    }

    @Test
    void anExportThatGoesAwayFailsTheRead() throws Exception {
        try (SshHost host = connect()) {
            QemuNbd nbd = QemuNbd.start("going", plain(file));
            try (HostNbdReader reader = HostNbdReader.open(host, nbd.socket(), "disk", SIZE)) {
                assertThat(read(reader, 0, BLOCK)).isEqualTo(expected(0, BLOCK));
                nbd.close();
                assertThatThrownBy(() -> read(reader, 5L * BLOCK, BLOCK)).isInstanceOf(IOException.class)
                        .hasMessageContaining("NBD export disk on").hasMessageContaining("closed the connection");
            } finally {
                nbd.close();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> readers(nbd.socket()).isEmpty());
        }
    }

    @Test
    void anExportThatIsNotThereIsExplained() throws Exception {
        try (SshHost host = connect(); HostNbdReader reader = HostNbdReader.open(host, dir.resolve("nothing.sock"), "disk", SIZE)) {
            assertThatThrownBy(() -> read(reader, 0, BLOCK)).isInstanceOf(IOException.class)
                    .hasMessageContaining("NBD export disk on").hasMessageContaining("No such file or directory");
        }
    }

    /** The reader as a replication source of the whole export. */
    private record ReaderSource(HostNbdReader reader) implements BlockSource {
        @Override
        public long size() {
            return SIZE;
        }

        @Override
        public List<Extent> dataExtents() {
            return List.of(new Extent(0, SIZE));
        }

        @Override
        public void willRead(List<Extent> extents) throws IOException {
            reader.plan(extents);
        }

        @Override
        public void read(long offset, ByteBuffer into) throws IOException {
            reader.readUpTo(offset, into);
        }

        @Override
        public void close() {
            reader.close();
        }
    }
}
