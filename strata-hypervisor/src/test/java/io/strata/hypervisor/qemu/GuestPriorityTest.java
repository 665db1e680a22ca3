package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** GuestPriority on real processes (no QEMU): which threads it takes from QMP's answer, and whose autogroup it lowers. */
class GuestPriorityTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void takesEachListedThreadOfTheProcessOnceButNeverItsMainThreadOrAStrangersThread() throws IOException {
        long self = ProcessHandle.current().pid();
        long other;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            other = tasks.map(task -> Long.parseLong(task.getFileName().toString())).filter(tid -> tid != self).findFirst().orElseThrow();
        }
        // As single-threaded TCG lists it: two vCPUs on one thread; then the main thread, and a thread id not in the process.
        JsonNode cpus = JSON.readTree("[{\"cpu-index\": 0, \"thread-id\": " + other + "}, {\"cpu-index\": 1, \"thread-id\": " + other + "},"
                + " {\"cpu-index\": 2, \"thread-id\": " + self + "}, {\"cpu-index\": 3, \"thread-id\": 2147483646}, {\"cpu-index\": 4}]");

        assertThat(GuestPriority.vcpuThreads(self, cpus)).containsExactly(other);
    }

    @Test
    void lowersTheAutogroupOfAProcessInASessionOfItsOwnButNeverTheCallersOwn() throws Exception {
        Path own = Path.of("/proc/self/autogroup");
        assumeTrue(Files.exists(own), "a kernel without autogroups: guestRuns does nothing there");
        String before = Files.readString(own);
        GuestPriority.guestRuns(ProcessHandle.current().pid());
        assertThat(Files.readString(own)).isEqualTo(before);

        // As QEMU's -daemonize does: a new session, hence a new autogroup (setsid execs in place: not a group leader).
        Process sleeper = new ProcessBuilder(List.of("setsid", "sleep", "60")).start();
        try {
            Path autogroup = Path.of("/proc", Long.toString(sleeper.pid()), "autogroup");
            await().atMost(Duration.ofSeconds(10)).until(() -> TestGuests.read(Path.of("/proc", Long.toString(sleeper.pid()), "cmdline")).startsWith("sleep"));
            assertThat(Files.readString(autogroup)).endsWith(" nice 0\n").isNotEqualTo(before);

            GuestPriority.guestRuns(sleeper.pid());

            await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(autogroup).endsWith(" nice " + GuestPriority.VCPU_NICENESS + "\n"));
            assertThat(Files.readString(own)).isEqualTo(before);
        } finally {
            sleeper.destroyForcibly().waitFor();
        }
    }
}
