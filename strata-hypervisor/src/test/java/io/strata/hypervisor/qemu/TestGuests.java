package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The test guest (tools/guest-image), built on first use if it is missing, and helpers to run it.
 * The image directory is {@code -Dstrata.guestImage.dir} or {@code $STRATA_GUEST_IMAGE_DIR} (used as
 * it is when complete), or tools/guest-image/out of this checkout (refreshed by build.sh, which
 * only copies from its cache when nothing changed).
 */
final class TestGuests {
    static final String READY = QemuConfig.READY_MARKER;
    private static final Pattern COUNTER = Pattern.compile("STRATA-COUNTER (\\d+)");
    /** One KVM verdict per build: the probe boots a guest, so the suites share its cache. */
    static final Path SHARED_STATE = Path.of("target", "qemu-test-state").toAbsolutePath();
    private static Path imageDir;

    private TestGuests() {
    }

    static synchronized Path imageDir() {
        if (imageDir != null) {
            return imageDir;
        }
        Path repo = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
        String configured = System.getProperty("strata.guestImage.dir", System.getenv("STRATA_GUEST_IMAGE_DIR"));
        Path dir = configured != null ? Path.of(configured) : repo.resolve("tools/guest-image/out");
        boolean complete = Files.isRegularFile(dir.resolve("vmlinuz")) && Files.isRegularFile(dir.resolve("initrd.img"))
                && Files.isRegularFile(dir.resolve("disk.qcow2"));
        // The default directory is refreshed every run (a cache hit only copies): an image built by
        // an older build.sh would test the driver against a guest that no longer exists.
        if (configured == null || !complete) {
            build(repo.resolve("tools/guest-image/build.sh"), dir);
        }
        imageDir = dir.toAbsolutePath();
        return imageDir;
    }

    private static void build(Path script, Path out) {
        try {
            Process process = new ProcessBuilder("bash", script.toString(), "--out", out.toString()).inheritIO().start();
            if (!process.waitFor(15, TimeUnit.MINUTES) || process.exitValue() != 0) {
                throw new IllegalStateException("building the test guest with " + script + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A host whose directories are fresh and short (unix socket paths must stay small). */
    static QemuConfig config(Path stateDir) {
        try {
            Path root = Files.createTempDirectory(Path.of("/tmp"), "strata-qt-");
            return new QemuConfig(Path.of("qemu-system-x86_64"), Path.of("qemu-img"), root.resolve("run"),
                    Path.of("/dev/shm").resolve(root.getFileName()), stateDir, AccelMode.AUTO, imageDir(),
                    "test-host", "127.0.0.1", 0, 0, 0,
                    Duration.ofSeconds(20), Duration.ofSeconds(20), Duration.ofSeconds(15));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static BootSource kernelBoot() {
        Path dir = imageDir();
        return new BootSource(null, null, dir.resolve("vmlinuz"), dir.resolve("initrd.img"), "quiet panic=-1 movablecore=50% nokaslr");
    }

    static BootSource diskBoot() {
        return new BootSource(imageDir().resolve("disk.qcow2"), "qcow2", null, null, null);
    }

    static VmSpec spec(String id, BootSource boot, byte[] userData, int sshPort) {
        return spec(id, boot, userData, sshPort, 0);
    }

    static VmSpec spec(String id, BootSource boot, byte[] userData, int sshPort, int targetMemoryMb) {
        NetworkSpec network = new NetworkSpec("fa:16:3e:12:34:56", "10.20.0.15", 24, "10.20.0.1", List.of("10.20.0.1"), sshPort);
        return new VmSpec(id, "vm-" + id, "host-" + id.substring(0, 8), 1, 256, 0, boot, userData,
                Map.of("role", "test"), Map.of("testkey", "ssh-ed25519 AAAAtest test@strata"), network, Map.of(), targetMemoryMb);
    }

    static String awaitConsole(Hypervisor hypervisor, String vmId, String text, int occurrences, Duration timeout) {
        return await().atMost(timeout).pollInterval(Duration.ofMillis(100))
                .until(() -> hypervisor.consoleLog(vmId, 0), log -> count(log, text) >= occurrences);
    }

    static int count(String log, String text) {
        int n = 0;
        for (int i = log.indexOf(text); i >= 0; i = log.indexOf(text, i + text.length())) {
            n++;
        }
        return n;
    }

    /** The last value of the guest's per-second memory counter on the console, or 0. */
    static int lastCounter(String log) {
        Matcher m = COUNTER.matcher(log);
        int last = 0;
        while (m.find()) {
            last = Integer.parseInt(m.group(1));
        }
        return last;
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Checks the priorities GuestPriority gives the QEMU process {@code pid}: every vCPU thread (QEMU
     * names them "CPU 0/TCG", "CPU 1/KVM", … with debug-threads=on) at nice 19, the main thread
     * (TID == PID) and the other threads at 0, the process's autogroup at nice
     * {@code autogroupNice} where the kernel has autogroups, and the vCPU threads alone in the
     * guests' CPU group where the host has one.
     */
    static void assertPriorities(long pid, int vcpus, int autogroupNice) {
        Map<String, Integer> vcpuThreads = new java.util.TreeMap<>();
        Map<String, Integer> others = new java.util.TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                String name = read(task.resolve("comm")).strip();
                String key = task.getFileName() + " " + name;
                (name.matches("CPU \\d+/(TCG|KVM)") ? vcpuThreads : others).put(key, threadNiceness(task));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertThat(vcpuThreads).hasSize(vcpus).allSatisfy((thread, nice) -> assertThat(nice).as(thread).isEqualTo(GuestPriority.VCPU_NICENESS));
        if (GuestCpuGroup.available()) {
            String guests = "/" + GuestCpuGroup.NAME;
            try {
                for (String thread : vcpuThreads.keySet()) {
                    assertThat(GuestCpuGroupTest.cpuGroupOf(Long.parseLong(thread.split(" ")[0]))).as(thread).endsWith(guests);
                }
                assertThat(GuestCpuGroupTest.cpuGroupOf(pid)).as("main thread").doesNotEndWith(guests);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
        assertThat(others).isNotEmpty().allSatisfy((thread, nice) -> assertThat(nice).as(thread).isZero());
        assertThat(threadNiceness(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid)))).as("main thread").isZero();
        Path autogroup = Path.of("/proc", Long.toString(pid), "autogroup");
        if (Files.exists(autogroup)) {
            // "/autogroup-123 nice 19", in a group other than this JVM's (QEMU daemonises into a session of its own).
            assertThat(read(autogroup).strip()).endsWith(" nice " + autogroupNice)
                    .doesNotStartWith(read(Path.of("/proc/self/autogroup")).strip().split(" ")[0] + " ");
        }
    }

    /** Field 19 of /proc/PID/task/TID/stat, counted after the command name's closing parenthesis. */
    private static int threadNiceness(Path task) {
        String stat = read(task.resolve("stat"));
        return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]);
    }
}
