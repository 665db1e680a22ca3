package io.strata.hypervisor.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * Host processes by pid, read from /proc. QEMU daemonises, so its processes are not our children:
 * a dead one may linger as a zombie under a PID 1 that does not reap, which counts as dead here.
 */
final class Processes {
    private Processes() {
    }

    static boolean isAlive(long pid) {
        // Only the head of the line is read: /proc reports the file's size as 0, for which
        // Files.readString grew an 8 KB buffer, three times per clone launch (the launch's
        // largest allocation). The pid, the command name (at most 15 bytes) and the state come first.
        try (java.io.InputStream in = Files.newInputStream(Path.of("/proc", Long.toString(pid), "stat"))) {
            byte[] head = in.readNBytes(STAT_HEAD);
            // "pid (comm) S ..." — comm may contain spaces and parentheses, the state follows the last ')'.
            int close = -1;
            for (int i = 0; i < head.length; i++) {
                if (head[i] == ')') {
                    close = i;
                }
            }
            if (close < 0 || close + 2 >= head.length) {
                return false;
            }
            byte state = head[close + 2];
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Enough of /proc/<pid>/stat for the state: a pid of up to 7 digits and a 15-byte name fit with room to spare. */
    private static final int STAT_HEAD = 64;

    /** The process's argv, or empty if it is gone. */
    static Optional<List<String>> commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            List<String> args = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < raw.length; i++) {
                if (raw[i] == 0) {
                    args.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            return Optional.of(args);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    static OptionalLong readPidFile(Path pidFile) {
        try {
            return OptionalLong.of(Long.parseLong(Files.readString(pidFile).trim()));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    static boolean waitForExit(long pid, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (isAlive(pid)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            sleep(Duration.ofMillis(20));
        }
        return true;
    }

    /** SIGKILL, then waits until the process is gone. */
    static void kill(long pid, Duration timeout) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        waitForExit(pid, timeout);
    }

    static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Runs a short-lived tool to completion; a non-zero exit throws with its output. */
    static String run(List<String> command, Duration timeout) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException("timed out after " + timeout);
            }
            String text = new String(output, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IOException("exit " + process.exitValue() + ": " + text.strip());
            }
            return text;
        } catch (IOException e) {
            throw new io.strata.hypervisor.HypervisorException(String.join(" ", command) + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new io.strata.hypervisor.HypervisorException("interrupted running " + command.get(0), e);
        }
    }
}
