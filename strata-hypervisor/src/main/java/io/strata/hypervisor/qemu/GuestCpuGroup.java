package io.strata.hypervisor.qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One CPU control group (cgroup v1 {@code cpu} controller) that holds the vCPU threads of every
 * guest, below the agent's own group: libvirt's split of a domain's {@code vcpuN} threads from its
 * emulator threads, with all guests' vCPUs in one group of a small weight.
 *
 * <p>Why: on a host where the agent runs in the root CPU group, each QEMU process is an autogroup
 * of its own (it calls setsid()), and a thread's nice value only orders threads inside one
 * autogroup. {@link GuestPriority} therefore lowered a clone's whole process before its
 * {@code cont}, which made QEMU's answer to that {@code cont} (the end of a launch) wait for a
 * nice-19 main loop among the guests already running: 10 ms for one clone, up to 270 ms in a
 * burst of ten (measured). In a group of their own the vCPU threads are below the control plane
 * from the moment they exist, whatever autogroup their process is in, so the main loop can stay
 * at the control plane's weight while it answers.
 *
 * <p>cgroup v1 only: there a thread can move on its own ({@code tasks} takes thread ids). Under
 * cgroup v2 (and a systemd service's cgroup) QEMU shares the agent's group and autogroups do not
 * apply, so the vCPU threads' nice value already does this; without a writable v1 {@code cpu}
 * hierarchy {@link #place} answers false and the caller keeps lowering the process.
 */
final class GuestCpuGroup {
    private static final Logger log = LoggerFactory.getLogger(GuestCpuGroup.class);
    static final String NAME = "strata-guests";
    /**
     * The guests' weight against the agent's group (1024): about a ninth of the CPU for all of
     * them while the control plane is busy, all of it otherwise. Not {@code cpu.idle}: idle-class
     * guests would get nothing during a long API burst.
     */
    static final int SHARES = 128;

    private static final Optional<Path> TASKS = locate();

    private GuestCpuGroup() {
    }

    /** Whether this host has the group (a writable cgroup v1 cpu hierarchy). */
    static boolean available() {
        return TASKS.isPresent();
    }

    /** The group's directory, when {@link #available()}. */
    static Optional<Path> directory() {
        return TASKS.map(Path::getParent);
    }

    /**
     * Moves the threads {@code tids} into the group. False (and the threads where they were) when
     * the host has no such group or the kernel refused; a thread that has ended meanwhile is skipped.
     */
    static boolean place(List<Long> tids) {
        if (TASKS.isEmpty()) {
            return false;
        }
        for (long tid : tids) {
            try {
                Files.writeString(TASKS.get(), Long.toString(tid), StandardOpenOption.WRITE);
            } catch (IOException e) {
                if (!Files.isDirectory(Path.of("/proc", Long.toString(tid)))) {
                    continue; // gone: nothing to place
                }
                log.warn("cannot move thread {} into {}: {}", tid, TASKS.get().getParent(), e.toString());
                return false;
            }
        }
        return true;
    }

    /** The tasks file of {@code <cpu mount>/<this process's cpu group>/strata-guests}, made if missing. */
    private static Optional<Path> locate() {
        try {
            Optional<Path> mount = cpuMount(Files.readAllLines(Path.of("/proc/self/mountinfo")));
            Optional<String> own = ownGroup(Files.readAllLines(Path.of("/proc/self/cgroup")));
            if (mount.isEmpty() || own.isEmpty()) {
                return Optional.empty();
            }
            Path parent = mount.get().resolve(own.get().replaceFirst("^/+", ""));
            Path group = parent.resolve(NAME);
            Files.createDirectories(group);
            Path shares = group.resolve("cpu.shares");
            if (!Files.readString(shares).strip().equals(Integer.toString(SHARES))) {
                Files.writeString(shares, Integer.toString(SHARES), StandardOpenOption.WRITE);
            }
            Path tasks = group.resolve("tasks");
            if (!Files.isWritable(tasks)) {
                return Optional.empty();
            }
            log.debug("guests' vCPU threads go into {} (cpu.shares {})", group, SHARES);
            return Optional.of(tasks);
        } catch (IOException | RuntimeException e) {
            log.debug("no CPU group for guests' vCPU threads: {}", e.toString());
            return Optional.empty();
        }
    }

    /** The mount point of the cgroup v1 hierarchy that has the {@code cpu} controller, from mountinfo lines. */
    static Optional<Path> cpuMount(List<String> mountinfo) {
        for (String line : mountinfo) {
            int separator = line.indexOf(" - ");
            if (separator < 0) {
                continue;
            }
            String[] before = line.substring(0, separator).split(" ");
            String[] after = line.substring(separator + 3).split(" ");
            if (before.length < 5 || after.length < 3 || !after[0].equals("cgroup")) {
                continue;
            }
            if (List.of(after[2].split(",")).contains("cpu")) {
                return Optional.of(Path.of(before[4]));
            }
        }
        return Optional.empty();
    }

    /** This process's group in the hierarchy with the {@code cpu} controller, from /proc/self/cgroup lines ("4:cpu,cpuacct:/x"). */
    static Optional<String> ownGroup(List<String> cgroups) {
        for (String line : cgroups) {
            String[] fields = line.split(":", 3);
            if (fields.length == 3 && List.of(fields[1].split(",")).contains("cpu")) {
                return Optional.of(fields[2]);
            }
        }
        return Optional.empty();
    }
}
