package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether guests run under KVM or TCG. Opening /dev/kvm proves little: on some hosts it
 * opens and creates vCPUs, yet {@code -cpu host} aborts on an MSR and other CPU models hang right
 * after the kernel decompresses. So AUTO boots the test guest once under KVM, exactly as VMs would
 * run, and trusts KVM only if the guest prints its ready marker in time. The verdict is cached in
 * the state directory, keyed by QEMU version, host kernel and CPU, because the probe costs seconds.
 */
final class KvmProbe {
    private static final Logger log = LoggerFactory.getLogger(KvmProbe.class);
    /** Unknown fields are skipped: files written by a newer driver (or derived getters) still read. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** The cached outcome of a probe. */
    record Verdict(String key, String accelerator, String reason, String probedAt) {}

    /**
     * What the probe tries: an accelerator, the device it needs, and the CPU model guests get with
     * it. Always {@link #KVM} in the driver; tests probe TCG the same way, since no KVM here boots.
     */
    record Candidate(String accelerator, Path device, String cpu) {
        static final Candidate KVM = new Candidate("kvm", Path.of("/dev/kvm"), "host");
    }

    private final QemuConfig config;
    private final String qemuVersion;
    private final Candidate candidate;

    KvmProbe(QemuConfig config, String qemuVersion) {
        this(config, qemuVersion, Candidate.KVM);
    }

    KvmProbe(QemuConfig config, String qemuVersion, Candidate candidate) {
        this.config = requireNonNull(config, "config is null");
        this.qemuVersion = requireNonNull(qemuVersion, "qemuVersion is null");
        this.candidate = requireNonNull(candidate, "candidate is null");
    }

    Path cacheFile() {
        return config.stateDir().resolve("accel-verdict.json");
    }

    /** "kvm" or "tcg" for this host under the configured mode. */
    Verdict decide() {
        return switch (config.accel()) {
            case KVM -> new Verdict(key(), "kvm", "configured", Instant.now().toString());
            case TCG -> new Verdict(key(), "tcg", "configured", Instant.now().toString());
            case AUTO -> cachedOrProbe();
        };
    }

    private Verdict cachedOrProbe() {
        String key = key();
        Path cache = cacheFile();
        if (Files.isRegularFile(cache)) {
            try {
                Verdict cached = JSON.readValue(cache.toFile(), Verdict.class);
                if (cached.key().equals(key)) {
                    return cached;
                }
            } catch (IOException e) {
                log.warn("ignoring unreadable KVM verdict {}: {}", cache, e.toString());
            }
        }
        Verdict verdict = probe(key);
        log.info("accelerator for this host: {} ({})", verdict.accelerator(), verdict.reason());
        try {
            Files.createDirectories(cache.getParent());
            Path temporary = cache.resolveSibling(cache.getFileName() + ".tmp");
            JSON.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), verdict);
            Files.move(temporary, cache, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("cannot cache the KVM verdict in {}: {}", cache, e.toString());
        }
        return verdict;
    }

    private Verdict probe(String key) {
        Path device = candidate.device();
        if (!Files.isReadable(device) || !Files.isWritable(device)) {
            return new Verdict(key, "tcg", device + " is missing or not accessible", Instant.now().toString());
        }
        Path images = config.probeImageDir();
        if (images == null || !Files.isRegularFile(images.resolve("vmlinuz")) || !Files.isRegularFile(images.resolve("initrd.img"))) {
            return new Verdict(key, "tcg", "no probe guest image to test KVM with", Instant.now().toString());
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("strata-kvm-probe");
        } catch (IOException e) {
            return new Verdict(key, "tcg", "cannot create a probe directory: " + e.getMessage(), Instant.now().toString());
        }
        Path serial = dir.resolve("console.log");
        List<String> command = List.of(config.qemuBinary().toString(),
                "-machine", "pc,accel=" + candidate.accelerator(), "-cpu", candidate.cpu(), "-m", "256", "-smp", "1",
                "-nodefaults", "-no-user-config", "-display", "none",
                "-serial", "file:" + serial,
                "-kernel", images.resolve("vmlinuz").toString(),
                "-initrd", images.resolve("initrd.img").toString(),
                "-append", "console=ttyS0 quiet panic=-1");
        Process process = null;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("qemu.out").toFile()).start();
            long deadline = System.nanoTime() + config.probeTimeout().toNanos();
            while (System.nanoTime() < deadline) {
                if (Files.exists(serial) && Files.readString(serial).contains(QemuConfig.READY_MARKER)) {
                    return new Verdict(key, candidate.accelerator(), "probe guest booted under " + candidate.accelerator(), Instant.now().toString());
                }
                if (!process.isAlive()) {
                    String output = Files.readString(dir.resolve("qemu.out")).strip();
                    return new Verdict(key, "tcg", "probe guest's QEMU exited under " + candidate.accelerator() + ": " + lastLine(output), Instant.now().toString());
                }
                Thread.sleep(100);
            }
            return new Verdict(key, "tcg", "probe guest did not boot under " + candidate.accelerator() + " within " + config.probeTimeout(), Instant.now().toString());
        } catch (IOException e) {
            return new Verdict(key, "tcg", "probe failed: " + e.getMessage(), Instant.now().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Verdict(key, "tcg", "probe interrupted", Instant.now().toString());
        } finally {
            if (process != null) {
                process.destroyForcibly();
                try {
                    process.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            try (var files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    Files.deleteIfExists(file);
                }
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                log.debug("cannot clean {}: {}", dir, e.toString());
            }
        }
    }

    private static String lastLine(String output) {
        String[] lines = output.split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1];
    }

    /** What the verdict depends on: this QEMU, this host kernel, this CPU. */
    private String key() {
        return "qemu " + qemuVersion + "; kernel " + read("/proc/sys/kernel/osrelease") + "; cpu " + cpuModel();
    }

    private static String cpuModel() {
        for (String line : read("/proc/cpuinfo").split("\n")) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).strip();
            }
        }
        return "unknown";
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file)).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
