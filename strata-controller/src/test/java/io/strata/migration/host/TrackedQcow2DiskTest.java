package io.strata.migration.host;

import static io.strata.migration.HostDirs.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.strata.migration.disk.BlockSource.Extent;
import io.strata.migration.disk.RawDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bitmap rotation of a qcow2 image at rest, with real qemu-img, qemu-io and qemu-storage-daemon: an
 * execution that does not complete gives its changes back to the next one, and a completed one
 * leaves exactly one bitmap that records from its start on.
 */
class TrackedQcow2DiskTest {
    private static final int BLOCK = 64 * 1024;

    @TempDir
    Path dir;

    @Test
    void aFailedExecutionLosesNoChangeAndACompletedOneRotates() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "4M");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        List<String> fallbacks = new ArrayList<>();
        TrackedQcow2Disk.Fallback copy = () -> {
            fallbacks.add("copy");
            Path raw = Files.createTempFile(scratch, "export-", ".raw");
            run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString());
            return RawDisk.openTemporary(raw);
        };

        // First execution: no bitmap yet, every allocated block is read over NBD (no raw copy); it completes.
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy)) {
            assertThat(disk.tracked()).isFalse();
            assertThat(disk.changedExtents()).isNull();
            disk.complete();
        }
        assertThat(fallbacks).isEmpty();
        write(image, 3);

        // Second execution sees block 3, then fails (closed without complete()).
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy)) {
            assertThat(disk.tracked()).isTrue();
            assertThat(disk.changedExtents()).containsExactly(new Extent(3L * BLOCK, BLOCK));
        }
        write(image, 9);

        // The third sees both the failed execution's changes and the later one.
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy)) {
            assertThat(disk.changedExtents()).containsExactly(new Extent(3L * BLOCK, BLOCK), new Extent(9L * BLOCK, BLOCK));
            java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(BLOCK);
            disk.read(9L * BLOCK, block);
            assertThat(block.get(0)).isEqualTo((byte) 9);
            disk.complete();
        }
        // Completed: nothing changed since its start, and one bitmap of this replica is left.
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy)) {
            assertThat(disk.changedExtents()).isEmpty();
        }
        assertThat(fallbacks).isEmpty();

        // A worker that dies mid-execution leaves its daemon holding the image and both bitmaps:
        // the next open stops that daemon and still sees the change.
        write(image, 12);
        TrackedQcow2Disk abandoned = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy);
        assertThat(abandoned.tracked()).isTrue();
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy)) {
            assertThat(disk.changedExtents()).containsExactly(new Extent(12L * BLOCK, BLOCK));
            disk.complete();
        }
        assertThat(run("qemu-img", "info", image.toString())).containsOnlyOnce("strata-off-replica1-").doesNotContain("in-use");
        assertScratchEmpties(scratch);
    }

    @Test
    void aBitmapLeftInUseIsDroppedAndAnImageWithABackingFileIsReadThroughTheFallback() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "4M");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        List<String> fallbacks = new ArrayList<>();
        TrackedQcow2Disk.Fallback copy = () -> {
            fallbacks.add("copy");
            return RawDisk.openTemporary(Files.createTempFile(scratch, "export-", ".raw"));
        };
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy)) {
            disk.complete();
        }
        // A writer killed while it holds the image leaves the bitmap in-use: it may miss writes.
        Process killed = new ProcessBuilder("qemu-io", "-f", "qcow2", "-c", "write -P 5 " + 5L * BLOCK + " " + BLOCK, "-c", "sigraise 9",
                image.toString()).redirectErrorStream(true).start();
        killed.getInputStream().readAllBytes();
        assertThat(killed.waitFor()).isNotZero();
        assertThat(run("qemu-img", "info", "-U", image.toString())).contains("in-use");
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, copy)) {
            assertThat(disk.tracked()).isFalse();
            assertThat(disk.changedExtents()).isNull();
            assertThat(disk.dataExtents()).containsExactly(new Extent(5L * BLOCK, BLOCK));
            disk.complete();
        }
        assertThat(run("qemu-img", "info", image.toString())).containsOnlyOnce("strata-off-replica1-").doesNotContain("in-use");
        assertThat(fallbacks).isEmpty();

        // With a backing file, writes may land where the image's bitmaps do not see them: untracked, and its bitmaps go.
        Path overlay = dir.resolve("overlay.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", "-b", image.toString(), "-F", "qcow2", overlay.toString());
        run("qemu-img", "bitmap", "-f", "qcow2", "--add", overlay.toString(), "strata-off-replica1-7");
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), overlay, "replica-1", scratch, copy)) {
            assertThat(disk.tracked()).isFalse();
            disk.complete();
        }
        assertThat(fallbacks).hasSize(1);
        assertThat(run("qemu-img", "info", overlay.toString())).doesNotContain("strata-off-");
        assertScratchEmpties(scratch);
    }

    @Test
    void aFailedFirstExecutionLeavesNoBitmapAndBitmapsOfTheRotatingSchemeBecomeTheOne() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "4M");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        TrackedQcow2Disk.Fallback none = () -> {
            throw new IllegalStateException("not read through the fallback");
        };
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, none)) {
            assertThat(disk.tracked()).isFalse();
        }
        assertThat(run("qemu-img", "info", image.toString())).doesNotContain("strata-off-");
        // A worker that dies during a first execution (before its replicator marked anything) leaves
        // no bitmap either: one would claim to track from an execution that never completed.
        TrackedQcow2Disk abandoned = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, none);
        assertThat(abandoned.tracked()).isFalse();
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, none)) {
            assertThat(disk.tracked()).isFalse();
        }
        assertThat(run("qemu-img", "info", image.toString())).doesNotContain("strata-off-");

        // The earlier scheme left bitmap N (since the last completed execution) and, after a worker died, N+1.
        run("qemu-img", "bitmap", "-f", "qcow2", "--add", image.toString(), "strata-off-replica1-4");
        write(image, 2);
        run("qemu-img", "bitmap", "-f", "qcow2", "--add", image.toString(), "strata-off-replica1-5");
        write(image, 6);
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, none)) {
            assertThat(disk.tracked()).isTrue();
            assertThat(disk.changedExtents()).containsExactly(new Extent(2L * BLOCK, BLOCK), new Extent(6L * BLOCK, BLOCK));
        }
        // Not completed: the one bitmap kept both changes.
        assertThat(run("qemu-img", "info", image.toString())).containsOnlyOnce("strata-off-replica1-").contains("strata-off-replica1-done");
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, none)) {
            assertThat(disk.changedExtents()).containsExactly(new Extent(2L * BLOCK, BLOCK), new Extent(6L * BLOCK, BLOCK));
            disk.complete();
        }
        write(image, 1);
        try (TrackedQcow2Disk disk = TrackedQcow2Disk.open(new LocalHost(), image, "replica-1", scratch, none)) {
            assertThat(disk.changedExtents()).containsExactly(new Extent(1L * BLOCK, BLOCK));
        }
        assertScratchEmpties(scratch);
    }

    /**
     * The daemon's pid file and QMP socket go when it exits, just after it closed the image and
     * the QMP connection (which is when close() returns); the NBD socket is removed by close().
     */
    private static void assertScratchEmpties(Path scratch) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
            try (var left = Files.list(scratch)) {
                assertThat(left).isEmpty();
            }
        });
    }

    private static void write(Path image, int block) throws IOException {
        run("qemu-io", "-f", "qcow2", "-c", "write -P " + block + " " + (long) block * BLOCK + " " + BLOCK, image.toString());
    }

}
