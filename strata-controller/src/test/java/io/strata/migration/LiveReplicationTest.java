package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
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
    private static final String DEVICE = "/machine/peripheral/vd0/virtio-backend";

    private Path source;
    private Path destination;
    private Path disk;
    private Process qemu;
    private TestCloud cloud;

    @BeforeEach
    void start() throws Exception {
        source = Files.createTempDirectory("live-src-");
        destination = Files.createTempDirectory("live-dst-");
        Path vm = Files.createDirectories(source.resolve("vm1"));
        disk = vm.resolve("disk.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), Long.toString(SIZE));
        run("qemu-io", "-c", "write -P 0x33 0 1M", "-c", "write -P 0x44 8M 256k", disk.toString());
        Path qmp = vm.resolve("qmp.sock");
        // A machine that never runs (-S) but has the disk as a virtio-blk device, as a guest's would be:
        // writes through the device go through the fleecing filter like a running guest's.
        qemu = new ProcessBuilder("qemu-system-x86_64", "-machine", "pc", "-S", "-nodefaults", "-display", "none",
                "-device", "virtio-blk-pci,drive=disk0,id=vd0",
                "-qmp", "unix:" + qmp + ",server=on,wait=off",
                // A second monitor for the test's own "guest" writes while Strata holds the first.
                "-qmp", "unix:" + source.resolve("guest-qmp.sock") + ",server=on,wait=off",
                "-blockdev", "{\"driver\":\"qcow2\",\"node-name\":\"disk0\",\"file\":{\"driver\":\"file\",\"filename\":\"" + disk + "\"}}")
                .redirectErrorStream(true).redirectOutput(vm.resolve("qemu.log").toFile()).start();
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(qmp) && Files.exists(source.resolve("guest-qmp.sock")));
        cloud = TestCloud.start();
    }

    @AfterEach
    void stop() throws IOException {
        if (cloud != null) {
            cloud.close();
        }
        if (qemu != null) {
            qemu.destroyForcibly();
        }
        for (Path dir : new Path[] {source, destination}) {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private QmpClient qmp() {
        return QmpClient.connect(source.resolve("guest-qmp.sock"), "test", Duration.ofSeconds(10));
    }

    /** A write by the "guest": through QEMU's block layer, so dirty bitmaps and fleecing see it. */
    private void guestWrite(int pattern, long offset, int length) {
        try (QmpClient client = qmp()) {
            JsonNode out = client.execute("human-monitor-command",
                    Map.of("command-line", "qemu-io -d " + DEVICE + " \"write -P " + pattern + " " + offset + " " + length + "\""));
            // qemu-io reports success on QEMU's stdout; the monitor's answer is empty unless it failed.
            assertThat(out.asText()).isEmpty();
            // Flushed, so that qemu-img reading the file beside the running QEMU sees the new clusters.
            client.execute("human-monitor-command", Map.of("command-line", "qemu-io -d " + DEVICE + " flush"));
        }
    }

    /** The source disk's content as the guest sees it now. */
    private String sourceChecksum() throws Exception {
        Path raw = Files.createTempFile("live-", ".raw");
        try {
            run("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", disk.toString(), raw.toString());
            return HostDirs.checksum(raw, SIZE);
        } finally {
            Files.delete(raw);
        }
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
        try (QmpClient qmp = qmp()) {
            for (JsonNode node : qmp.execute("query-named-block-nodes")) {
                assertThat(node.path("node-name").asText()).doesNotStartWith("strata-fl-");
                if (node.path("node-name").asText().equals("disk0")) {
                    assertThat(node.path("dirty-bitmaps")).hasSize(1);
                }
            }
            assertThat(qmp.execute("query-block-jobs")).isEmpty();
        }

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
            java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(BLOCK);
            view.read(0, block);
            // The view still shows the content at its start, not the write that came after.
            assertThat(block.array()).containsOnly((byte) 0x33);
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
        try (Stream<Path> left = Files.list(scratch)) {
            assertThat(left.toList()).isEmpty();
        }
    }

    @Test
    void migrationOfARunningGuestCopiesLiveThenShutsItDown() throws Exception {
        MigrationClient client = new MigrationClient(cloud.admin());
        String migration = client.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "shutdown_instances": true}}
                """.formatted(client.qemuHostEndpoint("src", source), client.qemuHostEndpoint("dst", destination)))
                .expect(200).json().at("/migration/id").asText();
        JsonNode done = client.awaitMigration(migration);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(qemu.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Path copy = destination.resolve("vm1/disk.qcow2");
        Path raw = Files.createTempFile("live-", ".raw");
        run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", copy.toString(), raw.toString());
        assertThat(HostDirs.checksum(raw, SIZE)).isEqualTo(sourceChecksum());
        Files.delete(raw);
        assertThat(run("qemu-img", "info", disk.toString())).doesNotContain("bitmaps");
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor()).as("%s: %s", String.join(" ", command), output).isZero();
        return output;
    }
}
