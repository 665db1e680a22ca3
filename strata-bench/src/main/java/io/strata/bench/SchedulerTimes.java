package io.strata.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * What the kernel's scheduler says of one process's threads (their {@code /proc/PID/task/TID/schedstat}
 * summed): time on a CPU and time spent runnable but waiting for one. Over a stretch of the
 * benchmark the two tell a process that was starved of CPU (long waits) from one that was blocked
 * on something else (neither).
 */
record SchedulerTimes(long onCpuNanos, long waitingNanos) {
    static SchedulerTimes of(long pid) {
        long onCpu = 0;
        long waiting = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String[] fields = Files.readString(task.resolve("schedstat")).strip().split(" ");
                    onCpu += Long.parseLong(fields[0]);
                    waiting += Long.parseLong(fields[1]);
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            return new SchedulerTimes(-1, -1);
        }
        return new SchedulerTimes(onCpu, waiting);
    }

    /** "on a CPU 123 ms, waiting for one 456 ms" since {@code before}; empty when either was unreadable. */
    String since(SchedulerTimes before) {
        if (onCpuNanos < 0 || before.onCpuNanos < 0) {
            return "not readable";
        }
        return String.format(java.util.Locale.ROOT, "on a CPU %.0f ms, runnable but waiting for one %.0f ms",
                (onCpuNanos - before.onCpuNanos) / 1e6, (waitingNanos - before.waitingNanos) / 1e6);
    }
}
