package io.strata.hypervisor.qemu;

import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;

/**
 * Benchmark driver, not a test (bench/qemu-boot.sh runs it): cold boot of the test guest, from
 * create() (QEMU process start) to the ready marker on its serial console, over {@code --boots}
 * sequential boots; then PSS of {@code --idle} idle guests from /proc/PID/smaps_rollup, and how
 * many such 256 MB guests this host holds.
 */
public final class QemuBootBenchmark {
    private QemuBootBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int boots = 10;
        int idle = 4;
        int settleSeconds = 10;
        int clones = 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--boots" -> boots = Integer.parseInt(args[++i]);
                case "--idle" -> idle = Integer.parseInt(args[++i]);
                case "--settle" -> settleSeconds = Integer.parseInt(args[++i]);
                case "--clones" -> clones = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        QemuConfig config = TestGuests.config(Path.of(System.getProperty("java.io.tmpdir"), "strata-bench-state"));
        try (QemuHypervisor hypervisor = new QemuHypervisor(config)) {
            HostInfo host = hypervisor.describe();
            System.out.printf("host: %d vCPUs, %d MB, QEMU %d, accelerator %s (%s)%n", host.vcpus(), host.memoryMb(),
                    host.hypervisorVersion(), host.accelerator(), hypervisor.acceleratorReason());

            List<Long> millis = new ArrayList<>();
            for (int i = 0; i < boots; i++) {
                String id = UUID.randomUUID().toString();
                long start = System.nanoTime();
                hypervisor.create(TestGuests.spec(id, TestGuests.kernelBoot(), null, 0));
                long created = System.nanoTime();
                waitForReady(hypervisor, id);
                long ready = System.nanoTime();
                millis.add((ready - start) / 1_000_000);
                System.out.printf("boot %2d: %5d ms to ready (create() returned after %d ms)%n", i + 1,
                        (ready - start) / 1_000_000, (created - start) / 1_000_000);
                hypervisor.destroy(id);
            }
            Collections.sort(millis);
            if (!millis.isEmpty()) {
                System.out.printf("cold boot to ready marker (%s, 1 vCPU, 256 MB, kernel+initramfs): p50 %d ms, max %d ms, n=%d%n",
                        host.accelerator(), millis.get((millis.size() - 1) / 2), millis.get(millis.size() - 1), millis.size());
            }

            List<String> ids = new ArrayList<>();
            for (int i = 0; i < idle; i++) {
                String id = UUID.randomUUID().toString();
                hypervisor.create(TestGuests.spec(id, TestGuests.kernelBoot(), null, 0));
                ids.add(id);
            }
            for (String id : ids) {
                waitForReady(hypervisor, id);
            }
            Thread.sleep(Duration.ofSeconds(settleSeconds));
            long cpuBefore = 0;
            for (String id : ids) {
                cpuBefore += cpuTicks(Long.parseLong(hypervisor.find(id).orElseThrow().details().get("pid")));
            }
            long sampleStart = System.nanoTime();
            Thread.sleep(Duration.ofSeconds(settleSeconds));
            long cpuAfter = 0;
            for (String id : ids) {
                cpuAfter += cpuTicks(Long.parseLong(hypervisor.find(id).orElseThrow().details().get("pid")));
            }
            double seconds = (System.nanoTime() - sampleStart) / 1e9;
            double cpuPerGuest = ids.isEmpty() ? 0 : (cpuAfter - cpuBefore) / 100.0 / seconds / ids.size();
            long totalPssKb = 0;
            long totalOverheadKb = 0;
            for (String id : ids) {
                VmInfo info = hypervisor.find(id).orElseThrow();
                long pid = Long.parseLong(info.details().get("pid"));
                long pss = rollup(pid, "Pss:");
                long shmem = rollup(pid, "Pss_Shmem:");
                long ramFileKb = Files.size(config.ramRoot().resolve(id).resolve("ram")) / 1024;
                totalPssKb += pss;
                totalOverheadKb += pss - shmem;
                System.out.printf("idle guest %s: PSS %d MB (guest RAM file pages %d MB), RSS %d MB, RAM file size %d MB%n",
                        id.substring(0, 8), pss / 1024, shmem / 1024, rollup(pid, "Rss:") / 1024, ramFileKb / 1024);
            }
            if (!ids.isEmpty()) {
                long averageMb = totalPssKb / ids.size() / 1024;
                long overheadMb = totalOverheadKb / ids.size() / 1024;
                long reserveMb = 2048; // host OS, agent JVM, page cache
                long usable = host.memoryMb() - reserveMb;
                System.out.printf("average PSS per idle 256 MB guest: %d MB, of which QEMU itself (not guest RAM): %d MB%n", averageMb, overheadMb);
                System.out.printf("256 MB guests that fit in %d MB, keeping %d MB for the host: %d idle ones (by PSS, overcommitting memory); "
                        + "%d if every guest touched all its RAM (256 + %d MB each)%n",
                        host.memoryMb(), reserveMb, usable / Math.max(1, averageMb), usable / (256 + overheadMb), overheadMb);
                System.out.printf("CPU per idle guest: %.1f%% of one core (the guest's 1 s console counter included); %d cores hold about %d idle guests by CPU%n",
                        cpuPerGuest * 100, host.vcpus(), cpuPerGuest == 0 ? 0 : (long) (host.vcpus() / cpuPerGuest));
            }
            for (String id : ids) {
                hypervisor.destroy(id);
            }
            if (clones > 0) {
                liveImages(hypervisor, config, clones, settleSeconds);
            }
        } finally {
            TestGuests.deleteTree(config.runRoot().getParent());
            TestGuests.deleteTree(config.ramRoot());
        }
    }

    /** Bless one guest, launch clones of it one after another, then their PSS while idle. */
    private static void liveImages(QemuHypervisor hypervisor, QemuConfig config, int clones, int settleSeconds) throws Exception {
        String source = UUID.randomUUID().toString();
        hypervisor.create(TestGuests.spec(source, TestGuests.kernelBoot(), null, 0));
        waitForReady(hypervisor, source);
        Thread.sleep(Duration.ofSeconds(2));
        long start = System.nanoTime();
        io.strata.hypervisor.LiveImageRef image = hypervisor.bless(source, config.runRoot().resolveSibling("images").resolve("bench"));
        System.out.printf("bless: %d ms in all (guest frozen for %s ms; state file %s bytes)%n", (System.nanoTime() - start) / 1_000_000,
                image.attributes().get("freeze_ms"), image.attributes().get("state_bytes"));
        List<Long> millis = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < clones; i++) {
            String id = UUID.randomUUID().toString();
            io.strata.hypervisor.NetworkSpec network = new io.strata.hypervisor.NetworkSpec(
                    String.format("fa:16:3e:55:00:%02x", i + 1), "10.40.0." + (10 + i), 24, "10.40.0.1", List.of(), 0);
            VmSpec spec = new VmSpec(id, "clone-" + i, "clone-" + i, 1, 256, 0, null, null, java.util.Map.of(), java.util.Map.of(),
                    network, java.util.Map.of("n", Integer.toString(i)), 0);
            long t = System.nanoTime();
            hypervisor.launch(image, spec);
            millis.add((System.nanoTime() - t) / 1_000_000);
            ids.add(id);
        }
        List<Long> sorted = new ArrayList<>(millis);
        Collections.sort(sorted);
        System.out.printf("launch of a clone (new QEMU, RAM mapped copy-on-write, state loaded, running, then clock/hostname/MAC/IP/params set by the guest agent): p50 %d ms, max %d ms, n=%d%n",
                sorted.get((sorted.size() - 1) / 2), sorted.get(sorted.size() - 1), sorted.size());
        Thread.sleep(Duration.ofSeconds(settleSeconds));
        long total = 0;
        for (String id : ids) {
            total += rollup(Long.parseLong(hypervisor.find(id).orElseThrow().details().get("pid")), "Pss:");
        }
        System.out.printf("average PSS per idle clone (%d clones + the source share the image's RAM pages): %d MB%n",
                ids.size(), total / ids.size() / 1024);
        for (String id : ids) {
            hypervisor.destroy(id);
        }
        hypervisor.destroy(source);
    }

    private static void waitForReady(QemuHypervisor hypervisor, String id) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!hypervisor.consoleLog(id, 0).contains(QemuConfig.READY_MARKER)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("guest " + id + " did not get ready in 120 s");
            }
            Thread.sleep(10);
        }
    }

    /** utime + stime of a process in clock ticks (USER_HZ, 100 on Linux). */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }

    /** A field of /proc/PID/smaps_rollup in kB. */
    private static long rollup(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.substring(field.length()).replace("kB", "").strip());
            }
        }
        return 0;
    }
}
