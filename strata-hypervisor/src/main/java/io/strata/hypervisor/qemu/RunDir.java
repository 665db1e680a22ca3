package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * Where one VM's files live: {@code dir} (on disk, under the run root) and {@code ramDir} (on tmpfs,
 * under the RAM root). The names are fixed so that a restarted agent finds everything again.
 */
record RunDir(Path dir, Path ramDir) {
    RunDir {
        requireNonNull(dir, "dir is null");
        requireNonNull(ramDir, "ramDir is null");
    }

    static RunDir of(QemuConfig config, String vmId) {
        return new RunDir(config.runRoot().resolve(vmId), config.ramRoot().resolve(vmId));
    }

    /** What the VM is: its spec facts and QEMU command line, for restarts and discover(). */
    Path descriptor() {
        return dir.resolve("vm.json");
    }

    Path qmpSocket() {
        return dir.resolve("qmp.sock");
    }

    Path agentSocket() {
        return dir.resolve("qga.sock");
    }

    Path pidFile() {
        return dir.resolve("qemu.pid");
    }

    /** The serial console, appended to across restarts like Nova's console.log. */
    Path serialLog() {
        return dir.resolve("console.log");
    }

    /** QEMU's own messages while it runs (-D; rewritten at each start), e.g. why a migration failed. */
    Path qemuLog() {
        return dir.resolve("qemu-run.log");
    }

    Path rootDisk() {
        return dir.resolve("disk.qcow2");
    }

    Path configDrive() {
        return dir.resolve("config.iso");
    }

    /** Device and memory state of a suspended VM (Nova's managed save). */
    Path savedState() {
        return dir.resolve("suspend.state");
    }

    /**
     * For a clone that took a warm process: the run directory that process was started in (its
     * command line still names it), so that adoption after an agent restart recognises it.
     */
    Path startedIn() {
        return dir.resolve("started-in");
    }

    Path ramFile() {
        return ramDir.resolve("ram");
    }
}
