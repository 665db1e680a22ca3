package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.VmSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Builds the qemu-system-x86_64 command line of one VM. The process daemonises (it must outlive
 * an agent that is SIGKILLed) and is driven only through QMP; -no-shutdown keeps it alive when the
 * guest powers off, so that a soft reboot can reset it and the driver, not QEMU, decides when it
 * ends.
 */
final class QemuCommandLine {
    private static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /**
     * TCG's code cache for a guest that boots. QEMU's default is 1 GiB, filled up to ~100 MB per
     * guest; 64 MB holds a small guest's boot (16 MB made a cold boot 25 % slower: 3.1-3.3 s ->
     * 3.9-4.2 s, flushing and translating again) and lets a TCG host hold many more guests.
     */
    static final int TCG_CACHE_MB = 64;
    /**
     * TCG's code cache for a live-image clone, which resumes an already booted, idle guest: the
     * cache's pages are the clone's own memory (QEMU backs it with huge pages), and a 64 MB cache
     * was half filled within seconds of a clone's start, 32 MB of its 80 MB PSS. With 16 MB its
     * PSS is 61 MB (bench/RESULTS.md); a clone that later runs much code translates more often
     * (until it is stopped and started: a boot gets the boot's cache, see {@link #forBoot}).
     */
    static final int CLONE_TCG_CACHE_MB = 16;

    /**
     * virtio-serial's ports: port 0 (reserved for a console) and the guest agent's. QEMU's default
     * of 31 gives the device 64 virtqueues, whose notifiers every {@code cont} starts one by one: a
     * warm clone's resume took 8-35 ms inside the agent, 3-10 ms with 2 ports (bench/RESULTS.md).
     * Part of the device model, so what a saved or migrated state must match: a live image's
     * clones and a live migration's target get the ports their source was started with (null:
     * QEMU's default, which VMs started before this had).
     */
    static final int SERIAL_PORTS = 2;
    private static final Pattern MAX_PORTS = Pattern.compile("virtio-serial-pci,id=vser0(?:,max_ports=(\\d+))?");

    private QemuCommandLine() {
    }

    /** The virtio-serial ports of a VM's command line; null when it has QEMU's default (or no such device). */
    static Integer serialPortsOf(List<String> commandLine) {
        for (String arg : commandLine) {
            java.util.regex.Matcher matcher = MAX_PORTS.matcher(arg);
            if (matcher.matches()) {
                return matcher.group(1) == null ? null : Integer.valueOf(matcher.group(1));
            }
        }
        return null;
    }

    /**
     * The files a VM's devices use. A fresh VM has its own overlay, config drive and shared RAM
     * file; a live-image clone maps the image's RAM file privately (copy-on-write, share=off) and
     * may use the image's config drive, so that its devices match the blessed VM's exactly.
     */
    record Storage(Path rootDisk, Path configDrive, Path ramFile, boolean sharedRam) {
        Storage {
            requireNonNull(ramFile, "ramFile is null");
        }

        static Storage of(RunDir run, boolean hasRootDisk, boolean hasConfigDrive) {
            return new Storage(hasRootDisk ? run.rootDisk() : null, hasConfigDrive ? run.configDrive() : null, run.ramFile(), true);
        }
    }

    /**
     * A VM's command line for a boot (not a resume): a clone that is stopped and started boots its
     * guest, so it gets a boot's code cache instead of a clone's (see {@link #CLONE_TCG_CACHE_MB}).
     */
    static List<String> forBoot(List<String> commandLine) {
        String clone = "tcg,tb-size=" + CLONE_TCG_CACHE_MB;
        return commandLine.stream().map(arg -> arg.equals(clone) ? "tcg,tb-size=" + TCG_CACHE_MB : arg).toList();
    }

    static List<String> build(QemuConfig config, String accelerator, VmSpec spec, RunDir run,
            UserNetwork network, boolean hasRootDisk, boolean hasConfigDrive) {
        return build(config, accelerator, spec, run, network, Storage.of(run, hasRootDisk, hasConfigDrive));
    }

    static List<String> build(QemuConfig config, String accelerator, VmSpec spec, RunDir run,
            UserNetwork network, Storage storage) {
        return build(config, accelerator, spec, run, network, storage, SERIAL_PORTS);
    }

    /** @param serialPorts virtio-serial's ports (see {@link #SERIAL_PORTS}); null for QEMU's default */
    static List<String> build(QemuConfig config, String accelerator, VmSpec spec, RunDir run,
            UserNetwork network, Storage storage, Integer serialPorts) {
        requireNonNull(accelerator, "accelerator is null");
        boolean hasRootDisk = storage.rootDisk() != null;
        List<String> args = new ArrayList<>();
        args.add(config.qemuBinary().toString());
        args.addAll(List.of("-name", "guest=" + spec.id() + ",debug-threads=on"));
        if (UUID.matcher(spec.id()).matches()) {
            args.addAll(List.of("-uuid", spec.id()));
        }
        // RAM lives in a file from the start, so a live image can later take it as it is.
        args.addAll(List.of("-machine", "pc,memory-backend=mem"));
        if (accelerator.equals("kvm")) {
            args.addAll(List.of("-accel", "kvm", "-cpu", "host"));
        } else {
            // A clone maps its live image's RAM privately (sharedRam off); see CLONE_TCG_CACHE_MB.
            args.addAll(List.of("-accel", "tcg,tb-size=" + (storage.sharedRam() ? TCG_CACHE_MB : CLONE_TCG_CACHE_MB)));
        }
        args.addAll(List.of("-smp", Integer.toString(spec.vcpus()), "-m", spec.memoryMb() + "M"));
        args.addAll(List.of("-object", "memory-backend-file,id=mem,size=" + spec.memoryMb() + "M,mem-path="
                + storage.ramFile() + ",share=" + (storage.sharedRam() ? "on" : "off")));
        args.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none", "-no-shutdown", "-rtc", "base=utc"));
        // -D also keeps QEMU's error messages after it daemonises (stderr goes to /dev/null then).
        args.addAll(List.of("-daemonize", "-pidfile", run.pidFile().toString(), "-D", run.qemuLog().toString()));
        args.addAll(List.of("-chardev", "socket,id=qmp,path=" + run.qmpSocket() + ",server=on,wait=off",
                "-mon", "chardev=qmp,mode=control"));
        args.addAll(List.of("-chardev", "file,id=serial0,path=" + run.serialLog() + ",append=on",
                "-serial", "chardev:serial0"));
        args.addAll(List.of("-chardev", "socket,id=qga0,path=" + run.agentSocket() + ",server=on,wait=off",
                "-device", "virtio-serial-pci,id=vser0" + (serialPorts == null ? "" : ",max_ports=" + serialPorts),
                "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0"));
        String netdev = "user,id=net0," + network.netdevOptions();
        if (spec.network().sshHostPort() > 0) {
            netdev += ",hostfwd=tcp:127.0.0.1:" + spec.network().sshHostPort() + "-:22";
        }
        // romfile= drops iPXE: these NICs never network-boot, and the ROM costs boot time.
        args.addAll(List.of("-netdev", netdev,
                "-device", "virtio-net-pci,netdev=net0,mac=" + spec.network().mac() + ",romfile="));
        if (hasRootDisk) {
            args.addAll(List.of("-drive", "file=" + storage.rootDisk() + ",format=qcow2,if=none,id=disk0,discard=unmap",
                    "-device", "virtio-blk-pci,drive=disk0,bootindex=1"));
        }
        if (storage.configDrive() != null) {
            // A read-only virtio disk rather than an IDE CD-ROM: cloud-init finds it by its label
            // either way, and the guest needs no ATA drivers.
            args.addAll(List.of("-drive", "file=" + storage.configDrive() + ",format=raw,if=none,id=config0,readonly=on",
                    "-device", "virtio-blk-pci,drive=config0"));
        }
        // Always there, as Nova's memballoon is: targetMemoryMb and later live-image clones use it.
        args.addAll(List.of("-device", "virtio-balloon-pci,id=balloon0"));
        BootSource boot = spec.boot();
        if (boot != null && boot.isDirectKernelBoot()) {
            args.addAll(List.of("-kernel", boot.kernel().toString()));
            if (boot.ramdisk() != null) {
                args.addAll(List.of("-initrd", boot.ramdisk().toString()));
            }
            args.addAll(List.of("-append", kernelCommandLine(boot, hasRootDisk)));
        }
        return args;
    }

    /**
     * {@code commandLine} with its config drive ({@code id=config0}) read from {@code iso} and its
     * device given {@code serial}: the same devices in the same order, so the same PCI slots, which a
     * saved or migrated state of the VM needs; only what the disk holds differs. Unchanged if it has
     * no config drive.
     */
    static List<String> withConfigDrive(List<String> commandLine, Path iso, String serial) {
        List<String> args = new ArrayList<>(commandLine);
        for (int i = 0; i + 3 < args.size(); i++) {
            if (args.get(i).equals("-drive") && args.get(i + 1).contains(",id=config0,") && args.get(i + 2).equals("-device")) {
                String drive = args.get(i + 1);
                args.set(i + 1, "file=" + iso + drive.substring(drive.indexOf(",format=")));
                args.set(i + 3, args.get(i + 3).replaceAll(",serial=[^,]*", "") + ",serial=" + serial);
                return List.copyOf(args);
            }
        }
        return List.copyOf(args);
    }

    /** The image's command line with the serial console added; Nova's default when it has none. */
    static String kernelCommandLine(BootSource boot, boolean hasRootDisk) {
        String line = boot.commandLine();
        if (line == null || line.isBlank()) {
            line = hasRootDisk ? "root=/dev/vda" : "";
        }
        if (!line.contains("console=ttyS0")) {
            line = (line + " console=ttyS0").strip();
        }
        return line;
    }
}
