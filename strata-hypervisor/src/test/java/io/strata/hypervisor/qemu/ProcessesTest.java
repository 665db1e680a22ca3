package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessesTest {
    @TempDir
    Path temp;

    @Test
    void runningProcessIsAliveAndEndedOneIsNot() throws Exception {
        assertThat(Processes.isAlive(ProcessHandle.current().pid())).isTrue();
        Process sleeper = new ProcessBuilder("sleep", "30").start();
        try {
            assertThat(Processes.isAlive(sleeper.pid())).isTrue();
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor(10, TimeUnit.SECONDS);
        }
        assertThat(Processes.isAlive(sleeper.pid())).isFalse();
        assertThat(Processes.isAlive(Integer.MAX_VALUE)).isFalse();
        assertThat(Processes.isAlive(-1)).isFalse();
    }

    /** The state is read after the last ')': a command name may hold parentheses and a state letter itself. */
    @Test
    void commandNameWithParenthesesAndStateLetters() throws Exception {
        Path odd = temp.resolve("a) Z (b) X");     // the kernel keeps 15 bytes of it: "a) Z (b) X" fits
        Files.copy(Path.of("/bin/sleep"), odd);
        odd.toFile().setExecutable(true);
        Process process = new ProcessBuilder(odd.toString(), "30").start();
        try {
            assertThat(Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"))).contains("(a) Z (b) X)");
            assertThat(Processes.isAlive(process.pid())).isTrue();
        } finally {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
