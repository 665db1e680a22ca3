package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.QmpClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running QEMU of a qemu-host instance directory: a machine that never runs (-S) but has the
 * instance's qcow2 disk on a virtio-blk device, as a guest's would be, and {@code qmp.sock} in the
 * directory (how the provider knows it is running). "Guest" writes go through that device (HMP
 * qemu-io on a second monitor, since Strata holds the first while it reads), so dirty bitmaps and
 * fleecing see them as they would a real guest's.
 */
final class RunningQemu implements AutoCloseable {
    private static final String DEVICE = "/machine/peripheral/vd0/virtio-backend";

    private final Process process;
    private final Path instanceDir;
    private final Path disk;
    private final Path guestMonitor;
    private final long size;

    private RunningQemu(Process process, Path instanceDir, Path disk, Path guestMonitor, long size) {
        this.process = process;
        this.instanceDir = instanceDir;
        this.disk = disk;
        this.guestMonitor = guestMonitor;
        this.size = size;
    }

    /**
     * Creates {@code instanceDir/disk.qcow2} of {@code size} bytes with 1 MiB of 0x33 at 0 and
     * 256 KiB of 0x44 at 8 MiB, and starts QEMU on it; {@code guestMonitor} is the test's own QMP socket.
     */
    static RunningQemu start(Path instanceDir, long size, Path guestMonitor) {
        try {
            Files.createDirectories(instanceDir);
            Path disk = instanceDir.resolve("disk.qcow2");
            run("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), Long.toString(size));
            run("qemu-io", "-c", "write -P 0x33 0 1M", "-c", "write -P 0x44 8M 256k", disk.toString());
            return onDisk(disk, size, guestMonitor);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts QEMU on an existing qcow2 disk of {@code size} bytes in its instance directory. */
    static RunningQemu onDisk(Path disk, long size, Path guestMonitor) {
        Path instanceDir = disk.getParent();
        try {
            Path qmp = instanceDir.resolve("qmp.sock");
            Process process = new ProcessBuilder("qemu-system-x86_64", "-machine", "pc", "-S", "-nodefaults", "-display", "none",
                    "-device", "virtio-blk-pci,drive=disk0,id=vd0",
                    "-qmp", "unix:" + qmp + ",server=on,wait=off",
                    "-qmp", "unix:" + guestMonitor + ",server=on,wait=off",
                    "-blockdev", "{\"driver\":\"qcow2\",\"node-name\":\"disk0\",\"file\":{\"driver\":\"file\",\"filename\":\"" + disk + "\"}}")
                    .redirectErrorStream(true).redirectOutput(instanceDir.resolve("qemu.log").toFile()).start();
            RunningQemu qemu = new RunningQemu(process, instanceDir, disk, guestMonitor, size);
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(qmp) && Files.exists(guestMonitor) || !process.isAlive());
                assertThat(process.isAlive()).as("QEMU started").isTrue();
                return qemu;
            } catch (RuntimeException | AssertionError e) {
                qemu.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path disk() {
        return disk;
    }

    Process process() {
        return process;
    }

    /** The test's own monitor (Strata holds the instance's qmp.sock while it reads). */
    QmpClient monitor() {
        return QmpClient.connect(guestMonitor, "test", Duration.ofSeconds(10));
    }

    /** A write by the "guest": through QEMU's block layer, so dirty bitmaps and fleecing see it. */
    void guestWrite(int pattern, long offset, int length) {
        try (QmpClient client = monitor()) {
            JsonNode out = client.execute("human-monitor-command",
                    Map.of("command-line", "qemu-io -d " + DEVICE + " \"write -P " + pattern + " " + offset + " " + length + "\""));
            // qemu-io reports success on QEMU's stdout; the monitor's answer is empty unless it failed.
            assertThat(out.asText()).isEmpty();
            // Flushed, so that qemu-img reading the file beside the running QEMU sees the new clusters.
            client.execute("human-monitor-command", Map.of("command-line", "qemu-io -d " + DEVICE + " flush"));
        }
    }

    /** The disk's content as the guest sees it now. */
    String checksum() {
        try {
            Path raw = Files.createTempFile("live-", ".raw");
            try {
                run("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", disk.toString(), raw.toString());
                return HostDirs.checksum(raw, size);
            } finally {
                Files.delete(raw);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Asserts that nothing of a reader is left in QEMU (fleecing node and its file node, jobs, NBD export), that the
     * instance's monitor is free again (QEMU serves one QMP client at a time: a connection still
     * open, such as a tunnel never closed, would keep a new one from its greeting), and how many
     * bitmaps the disk has.
     */
    void assertNothingLeft(int bitmaps) {
        try (QmpClient instanceMonitor = QmpClient.connect(instanceDir.resolve("qmp.sock"), "probe", Duration.ofSeconds(5))) {
            assertThat(instanceMonitor.isOpen()).isTrue();
        }
        try (QmpClient qmp = monitor()) {
            for (JsonNode node : qmp.execute("query-named-block-nodes")) {
                assertThat(node.path("node-name").asText()).doesNotStartWith("strata-fl-").doesNotStartWith("strata-ff-");
                if (node.path("node-name").asText().equals("disk0")) {
                    assertThat(node.path("dirty-bitmaps")).hasSize(bitmaps);
                }
            }
            assertThat(qmp.execute("query-block-jobs")).isEmpty();
            // Nor a job creating the fleecing file (blockdev-create jobs are not block jobs).
            assertThat(qmp.execute("query-jobs")).isEmpty();
            assertThat(qmp.execute("query-block-exports")).isEmpty();
        }
    }

    static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes());
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as("%s: %s", String.join(" ", command), output).isZero();
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
