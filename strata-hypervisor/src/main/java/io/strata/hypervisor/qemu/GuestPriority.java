package io.strata.hypervisor.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guests' CPU work runs below the control plane's, while the monitor work the driver asks of QEMU
 * (a launch's state load and {@code cont}, hostfwd, queries) does not. Under TCG a running or
 * just-resumed guest takes a whole core; when fifty clones start at once, the QEMU main loop of the
 * next clone to launch, and the agent and controller, must not queue behind forty-nine busy guests.
 * This is libvirt's split of a domain's vCPU threads from its emulator threads (each in a cgroup
 * of its own, {@code vcpuN} and {@code emulator}, weighed by cputune), done with nice values
 * instead of cgroups, on two levels:
 *
 * <ul>
 * <li>Threads: each vCPU thread (QMP {@code query-cpus-fast}) gets nice {@link #VCPU_NICENESS};
 *     the main loop, I/O and RCU threads stay at 0. Threads QEMU creates later inherit the nice of
 *     the thread creating them, which is never a vCPU thread. Where QEMU and the agent share one
 *     scheduling group (a systemd service's cgroup), this alone puts guests below the control plane.
 * <li>Process: QEMU's {@code -daemonize} calls setsid(), and with the kernel's autogroups
 *     ({@code /proc/sys/kernel/sched_autogroup_enabled}, on in desktop and cloud kernels) each
 *     session is its own group with the same weight whatever its threads' nice values: fifty busy
 *     guests are then fifty groups against the agent's one, and thread nice values only order the
 *     threads inside one QEMU (measured here: a nice-19 loop in its own session took as much CPU as
 *     a nice-0 one). So the process's autogroup also gets nice {@link #VCPU_NICENESS}
 *     ({@code /proc/PID/autogroup}) just before its guest runs: a cold boot once its monitor
 *     answers, a clone before its {@code cont}. Not after: lowering needs the driver to see the
 *     guest running, and fifty guests resumed at the control plane's weight starved the driver
 *     of exactly that (measured; see LiveImages.takeOver). A warm pool's process keeps 0 while it
 *     starts and loads; it is lowered when a clone takes it.
 * <li>Group: where the host has a writable cgroup v1 {@code cpu} hierarchy, the vCPU threads also
 *     go into one group for all guests ({@link GuestCpuGroup}) when they are lowered. They are
 *     then below the control plane whatever their process's autogroup, so a clone's process is
 *     lowered after its {@code cont} instead of before, and QEMU answers that {@code cont} at the
 *     control plane's weight ({@link QemuVm#beforeCont}, {@link QemuVm#afterCont}).
 * </ul>
 *
 * <p>Nice 19 rather than SCHED_IDLE: an idle-class guest would get no CPU at all while the control
 * plane is busy (a long API burst would freeze every guest), whereas nice 19 against 0 still leaves
 * it about one part in seventy. Among themselves guests stay equal. Lowering needs no privilege.
 */
final class GuestPriority {
    private static final Logger log = LoggerFactory.getLogger(GuestPriority.class);
    static final int VCPU_NICENESS = 19;
    private static final Duration RENICE_TIMEOUT = Duration.ofSeconds(10);
    /** Without CAP_SYS_ADMIN the kernel takes one autogroup change per 100 ms (EAGAIN otherwise). */
    private static final Duration AUTOGROUP_RETRY = Duration.ofMillis(120);
    private static final int AUTOGROUP_ATTEMPTS = 50;

    private GuestPriority() {
    }

    /**
     * Lowers the vCPU threads of the QEMU process {@code pid}: into the guests' CPU group where
     * the host has one ({@link GuestCpuGroup}), and one {@code renice} for all of them (Java has no
     * setpriority; on Linux it acts on the one thread a TID names). Called once per
     * process, right after its monitor answers: for a warm pool's process that is long before a
     * clone takes it, so a warm launch spawns nothing. A failure is logged, never fatal.
     */
    static void lowerVcpus(long pid, QmpClient qmp) {
        List<Long> threads;
        try {
            threads = vcpuThreads(pid, qmp.execute("query-cpus-fast"));
        } catch (RuntimeException e) {
            log.warn("cannot find the vCPU threads of QEMU {}; they keep its priority: {}", pid, e.getMessage());
            return;
        }
        if (threads.isEmpty()) {
            return;
        }
        GuestCpuGroup.place(threads);
        List<String> command = new ArrayList<>(List.of("renice", "-n", Integer.toString(VCPU_NICENESS), "-p"));
        threads.forEach(thread -> command.add(Long.toString(thread)));
        try {
            Processes.run(command, RENICE_TIMEOUT);
        } catch (HypervisorException e) {
            log.warn("cannot lower the vCPU threads of QEMU {}: {}", pid, e.getMessage());
        }
    }

    /**
     * The thread ids of {@code query-cpus-fast}'s answer that belong to {@code pid} and are not its
     * main thread (single-threaded TCG runs every vCPU on one thread: it is listed once).
     */
    static List<Long> vcpuThreads(long pid, JsonNode cpus) {
        Set<Long> threads = new LinkedHashSet<>();
        for (JsonNode cpu : cpus) {
            long thread = cpu.path("thread-id").asLong(-1);
            if (thread > 0 && thread != pid && Files.isDirectory(Path.of("/proc", Long.toString(pid), "task", Long.toString(thread)))) {
                threads.add(thread);
            }
        }
        return List.copyOf(threads);
    }

    /**
     * The guest of QEMU process {@code pid} runs: its whole process goes below the control plane,
     * if it is in an autogroup of its own (see the class comment). Never touches the agent's own
     * group. A change the kernel refuses for now (EAGAIN) is retried in the background.
     */
    static void guestRuns(long pid) {
        Path autogroup = Path.of("/proc", Long.toString(pid), "autogroup");
        String group;
        try {
            group = groupName(Files.readString(autogroup));
            if (group.isEmpty() || group.equals(groupName(Files.readString(Path.of("/proc/self/autogroup"))))) {
                return;
            }
        } catch (NoSuchFileException e) {
            return; // a kernel without autogroups, or the process is gone
        } catch (IOException e) {
            log.debug("cannot read {}: {}", autogroup, e.toString());
            return;
        }
        if (!setAutogroupNice(autogroup)) {
            Thread.ofVirtual().name("guest-priority-" + pid).start(() -> {
                for (int attempt = 1; attempt < AUTOGROUP_ATTEMPTS; attempt++) {
                    Processes.sleep(AUTOGROUP_RETRY);
                    if (!Files.exists(autogroup) || setAutogroupNice(autogroup)) {
                        return;
                    }
                }
                log.warn("could not lower the autogroup of QEMU {}; its guest competes with the control plane", pid);
            });
        }
    }

    /** "/autogroup-26145 nice 0" → "/autogroup-26145". */
    private static String groupName(String line) {
        String text = line.strip();
        int space = text.indexOf(' ');
        return space < 0 ? text : text.substring(0, space);
    }

    private static boolean setAutogroupNice(Path autogroup) {
        try {
            Files.writeString(autogroup, Integer.toString(VCPU_NICENESS), StandardOpenOption.WRITE);
            return true;
        } catch (IOException e) {
            log.debug("cannot write {}: {}", autogroup, e.toString());
            return false;
        }
    }
}
