package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A short-lived helper VM on this host: a kernel and initramfs that run qemu-guest-agent (the test
 * guest of tools/guest-image), with raw disk files attached read-write as virtio-blk, driven only
 * through the agent's guest-exec. Used as an OS-morphing minion: the disks of a migrated instance
 * are mounted and edited by a Linux kernel, not by host tools. The QEMU process is a child of this
 * JVM (no daemonising, no QMP): it lives as long as this object, and closing kills it. Should the
 * JVM die first, QEMU lives on holding its disks' write locks; each appliance's directory
 * (/tmp/strata-appliance-*) records the JVM that owns it and QEMU's pid, and the next boot on this
 * host kills the appliances whose owner is gone, so that a resumed task can open the disks again.
 */
public final class QemuAppliance implements AutoCloseable {
    /** The appliance's kernel and initramfs (an initramfs whose init starts qemu-guest-agent). */
    public record Image(Path kernel, Path initrd) {
        public Image {
            requireNonNull(kernel, "kernel is null");
            requireNonNull(initrd, "initrd is null");
        }

        /** vmlinuz and initrd.img of a directory, as tools/guest-image/build.sh writes them. */
        public static Image in(Path dir) {
            return new Image(dir.resolve("vmlinuz"), dir.resolve("initrd.img"));
        }

        public boolean exists() {
            return Files.isRegularFile(kernel) && Files.isRegularFile(initrd);
        }
    }

    /** How long one attempt to reach the agent waits while the appliance boots. */
    private static final Duration AGENT_TRY = Duration.ofSeconds(5);
    /** How long each agent request may take once it answers (a slow TCG guest on a loaded host). */
    private static final Duration AGENT_REQUEST = Duration.ofSeconds(60);
    private static final String DIR_PREFIX = "strata-appliance-";
    private static final Path TMP = Path.of("/tmp");

    private final Process process;
    private final Path workDir;
    private final GuestAgentClient agent;

    private QemuAppliance(Process process, Path workDir, GuestAgentClient agent) {
        this.process = process;
        this.workDir = workDir;
        this.agent = agent;
    }

    /**
     * A raw disk for the appliance: a file of this machine, or an NBD export reached through a
     * Unix socket of this machine (a disk of another host, exported there and tunnelled here).
     */
    public record Disk(Path file, Path nbdSocket) {
        public Disk {
            if ((file == null) == (nbdSocket == null)) {
                throw new IllegalArgumentException("a disk is either a file or an NBD socket");
            }
        }

        public static Disk file(Path file) {
            return new Disk(file, null);
        }

        public static Disk nbd(Path socket) {
            return new Disk(null, socket);
        }

        /** The -drive options naming where the bytes are. */
        String driveSource() {
            return file != null ? "file=" + option(file.toAbsolutePath()) + ",format=raw"
                    : "driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=" + option(nbdSocket.toAbsolutePath());
        }
    }

    /**
     * The accelerator appliances get on this host ("kvm" or "tcg"): the configured one, or for
     * {@code auto} the QEMU driver's verdict (a guest booted once under KVM; cached under
     * {@code dataDir}/state, shared with a QEMU driver of the same data directory). Opening
     * /dev/kvm is not enough: on hosts where nested KVM hangs, an appliance under KVM never boots.
     *
     * @param probeImage a directory with the test guest's vmlinuz and initrd.img (null: TCG under auto)
     */
    public static String accelerator(Path qemuBinary, AccelMode mode, Path probeImage, Path dataDir) {
        requireNonNull(qemuBinary, "qemuBinary is null");
        requireNonNull(mode, "mode is null");
        requireNonNull(dataDir, "dataDir is null");
        QemuConfig config = QemuConfig.defaults(dataDir, "localhost", "127.0.0.1").withQemuBinary(qemuBinary).withAccel(mode)
                .withProbeImageDir(probeImage);
        String versionText = Processes.run(List.of(qemuBinary.toString(), "--version"), Duration.ofSeconds(10));
        return new KvmProbe(config, Long.toString(QemuHypervisor.parseVersion(versionText))).decide().accelerator();
    }

    /**
     * Boots the appliance with {@code disks} (raw; vda, vdb, … in this order) and waits until
     * its guest agent answers.
     *
     * @param accelerator "kvm" or "tcg" (see {@link #accelerator})
     * @param cancelled checked while waiting: the boot is abandoned (and QEMU killed) when it turns true
     */
    public static QemuAppliance boot(Path qemuBinary, String accelerator, Image image, List<Disk> disks, int memoryMb, Duration bootTimeout,
            BooleanSupplier cancelled) {
        requireNonNull(qemuBinary, "qemuBinary is null");
        if (!"kvm".equals(accelerator) && !"tcg".equals(accelerator)) {
            throw new IllegalArgumentException("accelerator must be kvm or tcg, not " + accelerator);
        }
        requireNonNull(image, "image is null");
        requireNonNull(disks, "disks is null");
        requireNonNull(bootTimeout, "bootTimeout is null");
        requireNonNull(cancelled, "cancelled is null");
        if (!image.exists()) {
            throw new HypervisorException("appliance kernel " + image.kernel() + " or initramfs " + image.initrd() + " is missing", null);
        }
        killOrphans();
        Path workDir;
        try {
            // Short and private: the agent's unix socket path must stay under 108 bytes.
            workDir = Files.createTempDirectory(TMP, DIR_PREFIX);
            Files.writeString(workDir.resolve("owner"), Long.toString(ProcessHandle.current().pid()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Process process = null;
        try {
            List<String> args = commandLine(qemuBinary, accelerator, image, disks, memoryMb, workDir);
            process = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(workDir.resolve("qemu.log").toFile()).start();
            process.getOutputStream().close();
            Files.writeString(workDir.resolve("pid"), Long.toString(process.pid()));
            GuestAgentClient agent = awaitAgent(process, workDir, bootTimeout, cancelled);
            return new QemuAppliance(process, workDir, agent);
        } catch (IOException e) {
            stop(process, workDir);
            throw new HypervisorException("cannot start the appliance: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            stop(process, workDir);
            throw e;
        }
    }

    static List<String> commandLine(Path qemuBinary, String accelerator, Image image, List<Disk> disks, int memoryMb, Path workDir) {
        List<String> args = new ArrayList<>();
        args.add(qemuBinary.toString());
        args.addAll(List.of("-machine", "pc", "-accel", accelerator.equals("kvm") ? "kvm" : "tcg,tb-size=" + QemuCommandLine.TCG_CACHE_MB));
        args.addAll(List.of("-smp", "1", "-m", memoryMb + "M"));
        args.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none", "-rtc", "base=utc"));
        args.addAll(List.of("-serial", "file:" + option(workDir.resolve("serial.log"))));
        args.addAll(List.of("-chardev", "socket,id=qga0,path=" + option(workDir.resolve("qga.sock")) + ",server=on,wait=off",
                "-device", "virtio-serial-pci,id=vser0",
                "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0"));
        for (int i = 0; i < disks.size(); i++) {
            args.addAll(List.of("-drive", disks.get(i).driveSource() + ",if=none,id=disk" + i + ",cache=writeback",
                    "-device", "virtio-blk-pci,drive=disk" + i));
        }
        args.addAll(List.of("-kernel", image.kernel().toString(), "-initrd", image.initrd().toString(),
                "-append", "console=ttyS0 panic=-1 quiet"));
        return args;
    }

    /** Kills the appliances of JVMs that died without closing them (only QEMU processes), and removes their directories. */
    static void killOrphans() {
        try (Stream<Path> dirs = Files.list(TMP)) {
            for (Path dir : dirs.filter(d -> d.getFileName().toString().startsWith(DIR_PREFIX)).toList()) {
                OptionalLong owner = Processes.readPidFile(dir.resolve("owner"));
                if (owner.isEmpty() || Processes.isAlive(owner.getAsLong())) {
                    continue;   // In use (or being created) by a live JVM.
                }
                OptionalLong qemu = Processes.readPidFile(dir.resolve("pid"));
                if (qemu.isPresent() && Processes.commandLine(qemu.getAsLong()).map(args -> !args.isEmpty() && args.get(0).contains("qemu"))
                        .orElse(false)) {
                    Processes.kill(qemu.getAsLong(), Duration.ofSeconds(10));
                }
                stop(null, dir);
            }
        } catch (IOException e) {
            // Nothing to clean up where /tmp cannot be listed.
        }
    }

    /** A path inside a QEMU option, whose commas must be doubled. */
    private static String option(Path path) {
        return path.toString().replace(",", ",,");
    }

    private static GuestAgentClient awaitAgent(Process process, Path workDir, Duration bootTimeout, BooleanSupplier cancelled) {
        long deadline = System.nanoTime() + bootTimeout.toNanos();
        Path socket = workDir.resolve("qga.sock");
        while (true) {
            if (cancelled.getAsBoolean()) {
                throw new CancellationException("appliance boot cancelled");
            }
            if (!process.isAlive()) {
                throw new HypervisorException("the appliance's QEMU exited (" + process.exitValue() + "): " + tail(workDir.resolve("qemu.log"))
                        + " " + tail(workDir.resolve("serial.log")), null);
            }
            if (System.nanoTime() > deadline) {
                throw new HypervisorException("the appliance's guest agent did not answer within " + bootTimeout + "; console: "
                        + tail(workDir.resolve("serial.log")), null);
            }
            if (Files.exists(socket)) {
                try {
                    GuestAgentClient.connect(socket, AGENT_TRY).close();
                } catch (HypervisorException e) {
                    // The agent is not up yet (the socket accepts before the guest listens).
                    Processes.sleep(Duration.ofMillis(300));
                    continue;
                }
                // Up: a connection whose requests may take longer than a boot-time probe.
                return GuestAgentClient.connect(socket, AGENT_REQUEST);
            }
            Processes.sleep(Duration.ofMillis(300));
        }
    }

    public GuestAgentClient agent() {
        return agent;
    }

    /** The serial console so far (kernel messages and the guest init's markers). */
    public String consoleLog() {
        return tail(workDir.resolve("serial.log"));
    }

    @Override
    public void close() {
        agent.close();
        stop(process, workDir);
    }

    private static void stop(Process process, Path workDir) {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> paths = Files.walk(workDir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // A temporary directory left behind is harmless.
        }
    }

    private static String tail(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.ISO_8859_1).strip();
            return text.length() > 2000 ? text.substring(text.length() - 2000) : text;
        } catch (IOException e) {
            return "";
        }
    }
}
