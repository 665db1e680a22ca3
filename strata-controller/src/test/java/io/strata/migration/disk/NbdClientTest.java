package io.strata.migration.disk;

import static io.strata.migration.HostDirs.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.migration.disk.BlockSource.Extent;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Block status and reads against a real {@code qemu-nbd} exporting a qcow2 image with a real
 * persistent dirty bitmap, after known writes through {@code qemu-io}.
 */
class NbdClientTest {
    private static final int CLUSTER = 64 * 1024;
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    private Path image;
    private Path socket;
    private Path pidFile;

    @BeforeEach
    void image() throws IOException {
        image = dir.resolve("disk.qcow2");
        socket = dir.resolve("nbd.sock");
        pidFile = dir.resolve("nbd.pid");
        // 3 GiB virtual: block status of the whole export takes more than one request (at most 1 GiB each).
        run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "3G");
        // Written before the bitmap: data, but not dirty.
        run("qemu-io", "-f", "qcow2", "-c", "write -q -P 1 0 64k", image.toString());
        run("qemu-img", "bitmap", "-f", "qcow2", "--add", "--enable", image.toString(), "b1");
        run("qemu-io", "-f", "qcow2",
                // 512 bytes inside cluster 2 dirty the whole cluster, which joins cluster 3.
                "-c", "write -q -P 2 " + (2L * CLUSTER + 4096) + " 512",
                "-c", "write -q -P 3 " + 3L * CLUSTER + " 64k",
                "-c", "write -q -P 10 " + 10L * CLUSTER + " 128k",
                // Written as zeros: dirty, but reads as zeros (no data).
                "-c", "write -q -z " + 20L * CLUSTER + " 64k",
                // Past the first block status request's range.
                "-c", "write -q -P 9 " + (2 * GIB + 5L * CLUSTER) + " 64k",
                image.toString());
        run("qemu-nbd", "--fork", "--persistent", "--read-only", "--format=qcow2", "--export-name=disk", "--bitmap=b1",
                "--socket=" + socket, "--pid-file=" + pidFile, image.toString());
    }

    @AfterEach
    void stop() throws Exception {
        if (Files.exists(pidFile)) {
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            ProcessHandle.of(pid).ifPresent(process -> {
                process.destroy();
                // A reparented daemon may linger as a zombie until init reaps it: the socket going is enough.
                process.onExit().completeOnTimeout(null, 10, TimeUnit.SECONDS).join();
            });
        }
    }

    @Test
    void listsExactlyTheDirtyAndTheDataExtents() throws IOException {
        try (NbdClient client = NbdClient.connect(UnixDomainSocketAddress.of(socket), "disk",
                List.of(NbdClient.BASE_ALLOCATION, "qemu:dirty-bitmap:b1"))) {
            assertThat(client.size()).isEqualTo(3 * GIB);
            assertThat(client.extents("qemu:dirty-bitmap:b1", flags -> (flags & NbdClient.STATE_DIRTY) != 0)).containsExactly(
                    new Extent(2L * CLUSTER, 2 * CLUSTER),
                    new Extent(10L * CLUSTER, 2 * CLUSTER),
                    new Extent(20L * CLUSTER, CLUSTER),
                    new Extent(2 * GIB + 5L * CLUSTER, CLUSTER));
            // Data: every written byte, nothing of the zero-written or never-written clusters. Within an
            // allocated cluster QEMU may report the unwritten part of a sparse image file as zeros too.
            List<Extent> data = client.extents(NbdClient.BASE_ALLOCATION, flags -> (flags & NbdClient.STATE_ZERO) == 0);
            List<Extent> written = List.of(new Extent(0, CLUSTER), new Extent(2L * CLUSTER + 4096, 512), new Extent(3L * CLUSTER, CLUSTER),
                    new Extent(10L * CLUSTER, 2 * CLUSTER), new Extent(2 * GIB + 5L * CLUSTER, CLUSTER));
            List<Extent> allocated = List.of(new Extent(0, CLUSTER), new Extent(2L * CLUSTER, 2 * CLUSTER), new Extent(10L * CLUSTER, 2 * CLUSTER),
                    new Extent(2 * GIB + 5L * CLUSTER, CLUSTER));
            for (Extent extent : written) {
                assertThat(data).as("data extents cover %s", extent).anyMatch(d -> d.offset() <= extent.offset() && extent.end() <= d.end());
            }
            for (Extent extent : data) {
                assertThat(allocated).as("%s lies in written clusters", extent).anyMatch(a -> a.offset() <= extent.offset() && extent.end() <= a.end());
            }
            assertThat(data).isSortedAccordingTo(java.util.Comparator.comparingLong(Extent::offset));
        }
    }

    @Test
    void readsThroughStructuredRepliesWithAndWithoutAPlan() throws IOException {
        try (NbdClient client = NbdClient.connect(UnixDomainSocketAddress.of(socket), "disk", List.of("qemu:dirty-bitmap:b1"))) {
            // Unplanned: cluster 2 holds 512 written bytes in zeros; clusters 19-21 read as zeros (a hole, a zero cluster).
            ByteBuffer cluster2 = ByteBuffer.allocate(CLUSTER);
            client.read(2L * CLUSTER, cluster2);
            assertThat(cluster2.hasRemaining()).isFalse();
            for (int i = 0; i < CLUSTER; i++) {
                assertThat(cluster2.get(i)).as("byte %d", i).isEqualTo(i >= 4096 && i < 4096 + 512 ? (byte) 2 : 0);
            }
            ByteBuffer zeros = ByteBuffer.allocate(3 * CLUSTER);
            zeros.put(0, new byte[3 * CLUSTER]).put(0, (byte) 0x55).put(3 * CLUSTER - 1, (byte) 0x55);
            client.read(19L * CLUSTER, zeros);
            assertThat(zeros.array()).containsOnly(0);

            // Planned: the read-ahead window over the dirty extents, read in 64 KiB blocks.
            List<Extent> dirty = client.extents("qemu:dirty-bitmap:b1", flags -> (flags & NbdClient.STATE_DIRTY) != 0);
            client.plan(dirty);
            for (Extent extent : dirty) {
                for (long offset = extent.offset(); offset < extent.end(); offset += CLUSTER) {
                    ByteBuffer block = ByteBuffer.allocate(CLUSTER);
                    client.read(offset, block);
                    int expected = offset == 3L * CLUSTER ? 3 : offset >= 10L * CLUSTER && offset < 12L * CLUSTER ? 10
                            : offset == 2 * GIB + 5L * CLUSTER ? 9 : -1;
                    if (expected > 0) {
                        assertThat(block.array()).as("block at %d", offset).containsOnly(expected);
                    }
                }
            }
            // The connection is still in step after the plan: a block status answers after the reads.
            assertThat(client.extents("qemu:dirty-bitmap:b1", flags -> (flags & NbdClient.STATE_DIRTY) != 0)).isEqualTo(dirty);
        }
    }

    @Test
    void aBitmapTheServerDoesNotExportIsRefusedAtConnection() {
        assertThatThrownBy(() -> NbdClient.connect(UnixDomainSocketAddress.of(socket), "disk", List.of("qemu:dirty-bitmap:other")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("does not offer qemu:dirty-bitmap:other");
    }

}
