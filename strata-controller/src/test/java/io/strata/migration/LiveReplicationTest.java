package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.QmpClient;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.host.LiveQemuDisk;
import io.strata.migration.host.LocalHost;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Replication from a running QEMU (a real process with its disk, a qcow2 block node, on a
 * virtio-blk device; "guest" writes go through that device with HMP qemu-io): the disk is read at a point in time through a
 * fleecing node exported over NBD, and later executions read only the blocks the dirty bitmap
 * marks. QEMU is left as it was found: no fleecing node, export or extra bitmap.
 */
class LiveReplicationTest {
    private static final long SIZE = 32L << 20;
    private static final int BLOCK = 64 * 1024;

    private Path source;
    private Path destination;
    private Path disk;
    private RunningQemu qemu;
    private TestCloud cloud;

    @BeforeEach
    void start() throws Exception {
        source = Files.createTempDirectory("live-src-");
        destination = Files.createTempDirectory("live-dst-");
        qemu = RunningQemu.start(source.resolve("vm1"), SIZE, source.resolve("guest-qmp.sock"));
        disk = qemu.disk();
        cloud = TestCloud.start();
    }

    @AfterEach
    void stop() throws IOException {
        if (cloud != null) {
            cloud.close();
        }
        if (qemu != null) {
            qemu.close();
        }
        for (Path dir : new Path[] {source, destination}) {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** One block of the view at {@code offset}. */
    private static byte[] readBlock(LiveQemuDisk view, long offset) throws IOException {
        java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(BLOCK);
        view.read(offset, block);
        return block.array();
    }

    /** Nothing of an open is left in the scratch directory. */
    private static void assertEmpty(Path scratch) throws IOException {
        try (Stream<Path> left = Files.list(scratch)) {
            assertThat(left.toList()).isEmpty();
        }
    }

    private void guestWrite(int pattern, long offset, int length) {
        qemu.guestWrite(pattern, offset, length);
    }

    private String sourceChecksum() {
        return qemu.checksum();
    }

    @Test
    void laterExecutionsReadOnlyDirtyBlocks() throws Exception {
        MigrationClient client = new MigrationClient(cloud.admin());
        String replica = client.replica(client.qemuHostEndpoint("src", source), client.qemuHostEndpoint("dst", destination), "vm1");
        assertThat(client.get("/endpoints/" + client.get("/replicas/" + replica).expect(200).json().at("/replica/origin_endpoint_id").asText()
                + "/instances/vm1").expect(200).json().at("/instance/running").asBoolean()).isTrue();

        MigrationClient.assertCompleted(client.awaitExecution(replica, client.execute(replica)));
        JsonNode info = client.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1");
        Path volume = Path.of(info.at("/volumes_info/0/path").asText());
        JsonNode first = info.at("/replication_stats/0");
        assertThat(first.get("incremental").asBoolean()).isFalse();
        // Only allocated data was read: 1 MiB + 256 KiB of the 32 MiB.
        assertThat(first.get("bytes_read").asLong()).isEqualTo((1L << 20) + (256L << 10));
        assertThat(HostDirs.checksum(volume, SIZE)).isEqualTo(sourceChecksum());

        guestWrite(0x55, 2L * BLOCK, BLOCK);
        guestWrite(0x66, 300L * BLOCK, 2 * BLOCK);
        MigrationClient.assertCompleted(client.awaitExecution(replica, client.execute(replica)));
        JsonNode second = client.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/replication_stats/0");
        assertThat(second.get("incremental").asBoolean()).isTrue();
        assertThat(second.get("blocks_sent").asInt()).isEqualTo(3);
        assertThat(second.get("bytes_read").asLong()).isEqualTo(3L * BLOCK);
        assertThat(HostDirs.checksum(volume, SIZE)).isEqualTo(sourceChecksum());

        // Nothing is left in QEMU but this replica's one recording bitmap.
        qemu.assertNothingLeft(1);

        // A third execution with no writes sends nothing.
        MigrationClient.assertCompleted(client.awaitExecution(replica, client.execute(replica)));
        assertThat(client.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/replication_stats/0/bytes_read").asLong()).isZero();
    }

    @Test
    void aViewIsFrozenAtItsStartAndTheNextOneSeesWhatChangedMeanwhile() throws Exception {
        Path scratch = Files.createDirectories(destination.resolve(".scratch"));
        Path qmpSocket = source.resolve("vm1/qmp.sock");
        try (LiveQemuDisk view = LiveQemuDisk.open(new LocalHost(), qmpSocket, disk, "replica-a", scratch)) {
            assertThat(view.changedExtents()).isNull();
            guestWrite(0x77, 0, BLOCK);
            // The view still shows the content at its start, not the write that came after.
            assertThat(readBlock(view, 0)).containsOnly((byte) 0x33);
            view.complete();
        }
        guestWrite(0x78, 5L * BLOCK, BLOCK);
        try (LiveQemuDisk view = LiveQemuDisk.open(new LocalHost(), qmpSocket, disk, "replica-a", scratch)) {
            // Changed since the previous view's start: the write during it, and the one after.
            assertThat(view.changedExtents()).containsExactly(new BlockSource.Extent(0, BLOCK), new BlockSource.Extent(5L * BLOCK, BLOCK));
            // Not completed: its changes stay due for the next view.
        }
        guestWrite(0x79, 9L * BLOCK, BLOCK);
        try (LiveQemuDisk view = LiveQemuDisk.open(new LocalHost(), qmpSocket, disk, "replica-a", scratch)) {
            assertThat(view.changedExtents()).containsExactly(new BlockSource.Extent(0, BLOCK), new BlockSource.Extent(5L * BLOCK, BLOCK),
                    new BlockSource.Extent(9L * BLOCK, BLOCK));
        }
        assertEmpty(scratch);
    }

    /**
     * A run that died while QEMU was creating the fleecing file leaves the file's node and the
     * concluded creation jobs (never dismissed) in the QEMU, and the file in the scratch
     * directory: the next open removes them, creates the file again and reads correctly.
     */
    @Test
    void anOpenAfterARunThatDiedCreatingTheFleecingFileCleansUp() throws Exception {
        Path scratch = Files.createDirectories(destination.resolve(".scratch"));
        Path qmpSocket = source.resolve("vm1/qmp.sock");
        Path leftover = scratch.resolve("strata-fl-replicab.qcow2");
        try (QmpClient monitor = qemu.monitor()) {
            createJob(monitor, "strata-fc-replicab", Map.of("driver", "file", "filename", leftover.toString(), "size", 0));
            monitor.execute("blockdev-add", Map.of("driver", "file", "node-name", "strata-ff-replicab", "filename", leftover.toString()));
            createJob(monitor, "strata-fq-replicab", Map.of("driver", "qcow2", "file", "strata-ff-replicab", "size", SIZE));
            assertThat(monitor.execute("query-jobs")).hasSize(2);
        }
        try (LiveQemuDisk view = LiveQemuDisk.open(new LocalHost(), qmpSocket, disk, "replica-b", scratch)) {
            assertThat(view.changedExtents()).isNull();
            guestWrite(0x5a, 0, BLOCK);
            assertThat(readBlock(view, 0)).containsOnly((byte) 0x33);
            view.complete();
        }
        qemu.assertNothingLeft(1);
        guestWrite(0x5b, 7L * BLOCK, BLOCK);
        try (LiveQemuDisk view = LiveQemuDisk.open(new LocalHost(), qmpSocket, disk, "replica-b", scratch)) {
            assertThat(view.changedExtents()).containsExactly(new BlockSource.Extent(0, BLOCK), new BlockSource.Extent(7L * BLOCK, BLOCK));
            assertThat(readBlock(view, 7L * BLOCK)).containsOnly((byte) 0x5b);
            view.complete();
        }
        qemu.assertNothingLeft(1);
        assertEmpty(scratch);
    }

    /**
     * QEMU cannot create the fleecing file (its path leads into a directory that does not exist;
     * tests run as root, so a read-only directory would not stop it): the open fails with QEMU's
     * own message, and leaves no node, job, export or bitmap in the QEMU and nothing in the
     * scratch directory. The next open, with the way clear, works.
     */
    @Test
    void aFleecingFileQemuCannotCreateFailsTheOpenAndLeavesNothing() throws Exception {
        Path scratch = Files.createDirectories(destination.resolve(".scratch"));
        Path qmpSocket = source.resolve("vm1/qmp.sock");
        Path fleeceFile = scratch.resolve("strata-fl-replicac.qcow2");
        Files.createSymbolicLink(fleeceFile, destination.resolve("missing/fleece.qcow2"));
        assertThatThrownBy(() -> LiveQemuDisk.open(new LocalHost(), qmpSocket, disk, "replica-c", scratch))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("creation of the fleecing file " + fleeceFile + " failed")
                .hasMessageContaining("No such file or directory");
        qemu.assertNothingLeft(0);
        assertEmpty(scratch);

        try (LiveQemuDisk view = LiveQemuDisk.open(new LocalHost(), qmpSocket, disk, "replica-c", scratch)) {
            assertThat(view.dataExtents()).isNotEmpty();
            view.complete();
        }
        qemu.assertNothingLeft(1);
    }

    /** Runs a blockdev-create job to its end and leaves it concluded (not dismissed), as a run that died would. */
    private static void createJob(QmpClient monitor, String id, Map<String, Object> options) {
        monitor.execute("blockdev-create", Map.of("job-id", id, "options", options));
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            for (JsonNode job : monitor.execute("query-jobs")) {
                if (job.path("id").asText().equals(id)) {
                    assertThat(job.path("error").isMissingNode()).as(job.toString()).isTrue();
                    return job.path("status").asText().equals("concluded");
                }
            }
            return false;
        });
    }

    @Test
    void migrationOfARunningGuestCopiesLiveThenShutsItDown() throws Exception {
        MigrationClient client = new MigrationClient(cloud.admin());
        String migration = client.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "shutdown_instances": true,
                 "skip_os_morphing": true}}
                """.formatted(client.qemuHostEndpoint("src", source), client.qemuHostEndpoint("dst", destination)))
                .expect(200).json().at("/migration/id").asText();
        JsonNode done = client.awaitMigration(migration);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(qemu.process().waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Path copy = destination.resolve("vm1/disk.qcow2");
        Path raw = Files.createTempFile("live-", ".raw");
        run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", copy.toString(), raw.toString());
        assertThat(HostDirs.checksum(raw, SIZE)).isEqualTo(sourceChecksum());
        Files.delete(raw);
        assertThat(run("qemu-img", "info", disk.toString())).doesNotContain("bitmaps");
    }

    private static String run(String... command) {
        return RunningQemu.run(command);
    }
}
