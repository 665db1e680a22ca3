package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything the QEMU driver needs to know about its host.
 *
 * @param qemuBinary       qemu-system-x86_64
 * @param qemuImgBinary    qemu-img
 * @param runRoot          one directory per VM under it (sockets, logs, disks, descriptor); keep the
 *                         path short: unix socket paths under it must stay below 108 bytes
 * @param ramRoot          guest RAM files, one directory per VM; tmpfs so guest writes never hit a disk
 * @param stateDir         cached host verdicts (the KVM probe)
 * @param accel            auto, kvm or tcg
 * @param probeImageDir    a directory with the test guest's vmlinuz and initrd.img, booted once under
 *                         KVM to decide AUTO; null means AUTO cannot probe and falls back to TCG
 * @param hostname         the name this host reports
 * @param hostIp           the address this host reports
 * @param vcpus            capacity override, or 0 to count the host's processors
 * @param memoryMb         capacity override, or 0 to read /proc/meminfo
 * @param diskGb           capacity override, or 0 for the size of the run root's file system
 * @param stopTimeout      how long STOP waits for the guest to power off after ACPI before quitting QEMU
 * @param rebootTimeout    how long REBOOT_SOFT waits for the guest's ACPI power-off before a hard reset
 * @param probeTimeout     how long the KVM probe guest may take to print its ready marker
 * @param sharedInstanceRoot where VMs' root disks live when that directory is shared with other
 *                         hosts (NFS, CephFS): one directory per VM, so that another host sharing
 *                         it can rebuild the VM from its disk when this one dies; null keeps the
 *                         disks in the run directories
 */
public record QemuConfig(
        Path qemuBinary,
        Path qemuImgBinary,
        Path runRoot,
        Path ramRoot,
        Path stateDir,
        AccelMode accel,
        Path probeImageDir,
        String hostname,
        String hostIp,
        int vcpus,
        long memoryMb,
        long diskGb,
        Duration stopTimeout,
        Duration rebootTimeout,
        Duration probeTimeout,
        Path sharedInstanceRoot) {

    public static final String READY_MARKER = "STRATA-GUEST-READY";

    /** A host whose VM disks are its own (in the run directories). */
    public QemuConfig(Path qemuBinary, Path qemuImgBinary, Path runRoot, Path ramRoot, Path stateDir, AccelMode accel, Path probeImageDir,
            String hostname, String hostIp, int vcpus, long memoryMb, long diskGb, Duration stopTimeout, Duration rebootTimeout,
            Duration probeTimeout) {
        this(qemuBinary, qemuImgBinary, runRoot, ramRoot, stateDir, accel, probeImageDir, hostname, hostIp, vcpus, memoryMb, diskGb,
                stopTimeout, rebootTimeout, probeTimeout, null);
    }

    public QemuConfig {
        requireNonNull(qemuBinary, "qemuBinary is null");
        requireNonNull(qemuImgBinary, "qemuImgBinary is null");
        requireNonNull(runRoot, "runRoot is null");
        requireNonNull(ramRoot, "ramRoot is null");
        requireNonNull(stateDir, "stateDir is null");
        requireNonNull(accel, "accel is null");
        requireNonNull(hostname, "hostname is null");
        requireNonNull(hostIp, "hostIp is null");
        requireNonNull(stopTimeout, "stopTimeout is null");
        requireNonNull(rebootTimeout, "rebootTimeout is null");
        requireNonNull(probeTimeout, "probeTimeout is null");
        runRoot = runRoot.toAbsolutePath().normalize();
        ramRoot = ramRoot.toAbsolutePath().normalize();
        stateDir = stateDir.toAbsolutePath().normalize();
        sharedInstanceRoot = sharedInstanceRoot == null ? null : sharedInstanceRoot.toAbsolutePath().normalize();
        if (vcpus < 0 || memoryMb < 0 || diskGb < 0) {
            throw new IllegalArgumentException("capacity overrides must be 0 (detect) or positive");
        }
        // QEMU's option syntax splits on commas, and these paths end up inside options.
        for (Path path : sharedInstanceRoot == null ? java.util.List.of(runRoot, ramRoot) : java.util.List.of(runRoot, ramRoot, sharedInstanceRoot)) {
            if (path.toString().contains(",")) {
                throw new IllegalArgumentException(path + " contains a comma, which QEMU options cannot carry");
            }
        }
        // A VM id is 36 characters, the longest socket name 8: "/<id>/qmp.sock" must fit in 107 bytes.
        if (runRoot.toString().length() > 60) {
            throw new IllegalArgumentException("runRoot " + runRoot + " is too long for unix socket paths (60 characters at most)");
        }
    }

    /**
     * Defaults for a host whose Strata data lives under {@code dataDir}: Debian's binaries from
     * PATH, VM RAM in /dev/shm/strata, accel AUTO, Nova's 60 s graceful-shutdown timeout.
     */
    public static QemuConfig defaults(Path dataDir, String hostname, String hostIp) {
        return new QemuConfig(
                Path.of("qemu-system-x86_64"),
                Path.of("qemu-img"),
                dataDir.resolve("qemu"),
                Path.of("/dev/shm/strata"),
                dataDir.resolve("state"),
                AccelMode.AUTO,
                null,
                hostname,
                hostIp,
                0,
                0,
                0,
                Duration.ofSeconds(60),
                Duration.ofSeconds(60),
                Duration.ofSeconds(30));
    }

    public QemuConfig withQemuBinary(Path binary) {
        return new QemuConfig(binary, qemuImgBinary, runRoot, ramRoot, stateDir, accel, probeImageDir,
                hostname, hostIp, vcpus, memoryMb, diskGb, stopTimeout, rebootTimeout, probeTimeout, sharedInstanceRoot);
    }

    public QemuConfig withAccel(AccelMode newAccel) {
        return new QemuConfig(qemuBinary, qemuImgBinary, runRoot, ramRoot, stateDir, newAccel, probeImageDir,
                hostname, hostIp, vcpus, memoryMb, diskGb, stopTimeout, rebootTimeout, probeTimeout, sharedInstanceRoot);
    }

    public QemuConfig withProbeImageDir(Path dir) {
        return new QemuConfig(qemuBinary, qemuImgBinary, runRoot, ramRoot, stateDir, accel, dir,
                hostname, hostIp, vcpus, memoryMb, diskGb, stopTimeout, rebootTimeout, probeTimeout, sharedInstanceRoot);
    }

    public QemuConfig withTimeouts(Duration stop, Duration reboot, Duration probe) {
        return new QemuConfig(qemuBinary, qemuImgBinary, runRoot, ramRoot, stateDir, accel, probeImageDir,
                hostname, hostIp, vcpus, memoryMb, diskGb, stop, reboot, probe, sharedInstanceRoot);
    }

    public QemuConfig withRunRoot(Path dir) {
        return new QemuConfig(qemuBinary, qemuImgBinary, dir, ramRoot, stateDir, accel, probeImageDir,
                hostname, hostIp, vcpus, memoryMb, diskGb, stopTimeout, rebootTimeout, probeTimeout, sharedInstanceRoot);
    }

    public QemuConfig withRamRoot(Path dir) {
        return new QemuConfig(qemuBinary, qemuImgBinary, runRoot, dir, stateDir, accel, probeImageDir,
                hostname, hostIp, vcpus, memoryMb, diskGb, stopTimeout, rebootTimeout, probeTimeout, sharedInstanceRoot);
    }

    public QemuConfig withSharedInstanceRoot(Path dir) {
        return new QemuConfig(qemuBinary, qemuImgBinary, runRoot, ramRoot, stateDir, accel, probeImageDir,
                hostname, hostIp, vcpus, memoryMb, diskGb, stopTimeout, rebootTimeout, probeTimeout, dir);
    }
}
