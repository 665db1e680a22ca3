package io.strata.bench;

import java.util.Arrays;

/** Collected latencies in nanoseconds, summarised as percentiles in milliseconds. */
final class Latencies {
    private long[] values = new long[1024];
    private int size;

    synchronized void add(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = nanos;
    }

    synchronized int count() {
        return size;
    }

    synchronized double percentileMillis(double p) {
        if (size == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * size) - 1;
        return sorted[Math.max(0, Math.min(size - 1, index))] / 1e6;
    }

    String summary() {
        return String.format(java.util.Locale.ROOT, "n=%d p50=%.1f ms p90=%.1f ms p99=%.1f ms max=%.1f ms", count(),
                percentileMillis(50), percentileMillis(90), percentileMillis(99), percentileMillis(100));
    }
}
