package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The guests' CPU group: where it is found, and a real thread moved into it (on hosts with cgroup v1's cpu controller, as here). */
class GuestCpuGroupTest {

    @Test
    void findsTheCgroupV1HierarchyWithTheCpuControllerWhateverItIsMountedWith() {
        List<String> mountinfo = List.of(
                "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
                "29 30 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate",
                "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
                "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct");
        assertThat(GuestCpuGroup.cpuMount(mountinfo)).contains(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        // cgroup v2 only (Debian 12's default): no v1 cpu hierarchy, the caller keeps lowering whole processes.
        assertThat(GuestCpuGroup.cpuMount(List.of("29 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate"))).isEmpty();
    }

    @Test
    void readsThisProcesssGroupFromTheCpuLineOnly() {
        assertThat(GuestCpuGroup.ownGroup(List.of("4:memory:/process_api/7ec8", "2:cpuacct:/a", "1:cpu,cpuacct:/system.slice/strata.service",
                "0::/"))).contains("/system.slice/strata.service");
        assertThat(GuestCpuGroup.ownGroup(List.of("0::/user.slice"))).isEmpty();
    }

    @Test
    void movesARealThreadIntoTheGroupOfTheConfiguredWeightAndSkipsThreadsThatEnded() throws Exception {
        assumeTrue(GuestCpuGroup.available(), "no writable cgroup v1 cpu hierarchy on this host");
        Path group = GuestCpuGroup.directory().orElseThrow();
        assertThat(group.getFileName()).hasToString(GuestCpuGroup.NAME);
        assertThat(Files.readString(group.resolve("cpu.shares")).strip()).isEqualTo(Integer.toString(GuestCpuGroup.SHARES));
        Process sleeper = new ProcessBuilder(List.of("sleep", "60")).start();
        try {
            long tid = sleeper.pid();
            assertThat(cpuGroupOf(tid)).doesNotEndWith("/" + GuestCpuGroup.NAME);

            assertThat(GuestCpuGroup.place(List.of(tid, 2147483646L))).isTrue();

            assertThat(cpuGroupOf(tid)).endsWith("/" + GuestCpuGroup.NAME);
            assertThat(cpuGroupOf(ProcessHandle.current().pid())).as("the caller stays where it was").doesNotEndWith("/" + GuestCpuGroup.NAME);
        } finally {
            sleeper.destroyForcibly().waitFor();
        }
    }

    /** The thread's group in the hierarchy with the cpu controller. */
    static String cpuGroupOf(long tid) throws Exception {
        Optional<String> group = GuestCpuGroup.ownGroup(Files.readAllLines(Path.of("/proc", Long.toString(tid), "cgroup")));
        return group.orElseThrow();
    }
}
