package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The appliance VM with the real test guest: disks attached read-write, commands through the agent, nothing left behind. */
class QemuApplianceTest {
    private static final Path QEMU = Path.of("qemu-system-x86_64");

    @Test
    void bootsWithItsDisksAndWritesThemThroughTheAgent() throws Exception {
        Path disk = Files.createTempFile("appliance-", ".raw");
        Path second = Files.createTempFile("appliance-", ".raw");
        // The second disk is reached over NBD, as a volume of another host is (exported there, tunnelled here).
        Path nbdDir = Files.createTempDirectory("appliance-nbd-");
        Process nbd = null;
        try {
            try (FileChannel channel = FileChannel.open(disk, StandardOpenOption.WRITE)) {
                channel.truncate(8L << 20);
                channel.write(ByteBuffer.wrap(new byte[] {0}), (8L << 20) - 1);
            }
            try (FileChannel channel = FileChannel.open(second, StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.wrap(new byte[] {0}), (4L << 20) - 1);
            }
            Path socket = nbdDir.resolve("nbd.sock");
            nbd = new ProcessBuilder("qemu-nbd", "--persistent", "--format=raw", "--socket=" + socket, second.toString())
                    .redirectErrorStream(true).redirectOutput(nbdDir.resolve("qemu-nbd.log").toFile()).start();
            for (int i = 0; i < 500 && !Files.exists(socket); i++) {
                Thread.sleep(10);
            }
            Path dir;
            try (QemuAppliance appliance = QemuAppliance.boot(QEMU, "tcg", QemuAppliance.Image.in(TestGuests.imageDir()),
                    List.of(QemuAppliance.Disk.file(disk), QemuAppliance.Disk.nbd(socket)), 256,
                    Duration.ofMinutes(3), () -> false)) {
                GuestAgentClient guest = appliance.agent();
                // vda and vdb in the order given, sizes in 512-byte sectors.
                assertThat(guest.shell("cat /sys/class/block/vda/size /sys/class/block/vdb/size")).isEqualTo("16384\n8192\n");
                guest.shell("printf strata-was-here | dd of=/dev/vda bs=512 seek=2 conv=fsync 2>/dev/null");
                guest.shell("printf through-nbd | dd of=/dev/vdb bs=512 seek=3 conv=fsync 2>/dev/null");
                dir = ownDirectory();
                assertThat(dir.resolve("owner")).content().isEqualTo(Long.toString(ProcessHandle.current().pid()));
            }
            assertThat(dir).doesNotExist();
            assertThat(read(disk, 1024, 15)).isEqualTo("strata-was-here");
            assertThat(read(second, 1536, 11)).isEqualTo("through-nbd");
        } finally {
            if (nbd != null) {
                nbd.destroy();
                nbd.waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(disk);
            Files.deleteIfExists(second);
            try (var files = Files.list(nbdDir)) {
                for (Path file : files.toList()) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(nbdDir);
        }
    }

    private static String read(Path file, long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        try (FileChannel channel = FileChannel.open(file)) {
            channel.read(ByteBuffer.wrap(bytes), offset);
        }
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    @Test
    void aCancelledBootKillsQemu() {
        // Cancelled at the first check, once QEMU runs: a later one could come after the agent answered.
        List<Long> started = new java.util.ArrayList<>();
        assertThatThrownBy(() -> QemuAppliance.boot(QEMU, "tcg", QemuAppliance.Image.in(TestGuests.imageDir()), List.of(), 256, Duration.ofMinutes(3),
                () -> {
                    ProcessHandle.current().children().filter(p -> p.info().command().orElse("").contains("qemu-system"))
                            .forEach(p -> started.add(p.pid()));
                    return true;
                })).isInstanceOf(CancellationException.class);
        assertThat(started).hasSize(1);
        assertThat(ProcessHandle.of(started.get(0)).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(appliancesOf(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
    void aMissingKernelIsExplained() {
        Path none = Path.of("/nonexistent/strata");
        assertThatThrownBy(() -> QemuAppliance.boot(QEMU, "tcg", QemuAppliance.Image.in(none), List.of(), 256, Duration.ofSeconds(5), () -> false))
                .isInstanceOf(HypervisorException.class).hasMessageContaining("/nonexistent/strata/vmlinuz");
    }

    /** An appliance whose JVM died (here: a finished process as owner) is killed by the next boot's clean-up. */
    @Test
    void orphansOfDeadOwnersAreKilled() throws Exception {
        Process deadOwner = new ProcessBuilder("true").start();
        deadOwner.waitFor(10, TimeUnit.SECONDS);
        Process leftover = new ProcessBuilder(QEMU.toString(), "-machine", "none", "-display", "none", "-nodefaults").start();
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "strata-appliance-");
        try {
            Files.writeString(dir.resolve("owner"), Long.toString(deadOwner.pid()));
            Files.writeString(dir.resolve("pid"), Long.toString(leftover.pid()));
            Path live = Files.createTempDirectory(Path.of("/tmp"), "strata-appliance-");
            Files.writeString(live.resolve("owner"), Long.toString(ProcessHandle.current().pid()));

            QemuAppliance.killOrphans();

            assertThat(leftover.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(dir).doesNotExist();
            // A live owner's appliance is not touched.
            assertThat(live).exists();
            Files.delete(live.resolve("owner"));
            Files.delete(live);
        } finally {
            leftover.destroyForcibly();
            TestGuests.deleteTree(dir);
        }
    }

    private static Path ownDirectory() throws IOException {
        List<Path> own = appliancesOf(ProcessHandle.current().pid());
        assertThat(own).hasSize(1);
        return own.get(0);
    }

    private static List<Path> appliancesOf(long owner) {
        try (var dirs = Files.list(Path.of("/tmp"))) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("strata-appliance-"))
                    .filter(d -> {
                        try {
                            return Files.readString(d.resolve("owner")).equals(Long.toString(owner));
                        } catch (IOException e) {
                            return false;
                        }
                    }).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
