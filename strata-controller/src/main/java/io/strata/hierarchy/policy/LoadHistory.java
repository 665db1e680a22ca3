package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * The last {@code window} utilisation samples of each local controller (Snooze averages the last
 * 5), so one busy moment does not trigger a relocation. Thread-safe.
 */
public final class LoadHistory {
    public static final int SNOOZE_WINDOW = 5;

    private final int window;
    private final Map<String, Deque<Capacity>> samples = new HashMap<>();

    public LoadHistory(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("window must be at least 1");
        }
        this.window = window;
    }

    /** Records what {@code lc} uses now, as utilisation of its total. */
    public synchronized void record(LcState lc) {
        Deque<Capacity> history = samples.computeIfAbsent(lc.id(), id -> new ArrayDeque<>());
        history.addLast(lc.used().utilisationOf(lc.total()));
        while (history.size() > window) {
            history.removeFirst();
        }
    }

    /** The average utilisation over the window, or empty until the window is full. */
    public synchronized java.util.Optional<Capacity> average(String lcId) {
        Deque<Capacity> history = samples.get(lcId);
        if (history == null || history.size() < window) {
            return java.util.Optional.empty();
        }
        Capacity sum = Capacity.ZERO;
        for (Capacity sample : history) {
            sum = sum.plus(sample);
        }
        return java.util.Optional.of(sum.times(1.0 / history.size()));
    }

    /** Forgets a local controller's samples (after its VMs moved, so the old load does not count again). */
    public synchronized void reset(String lcId) {
        samples.remove(lcId);
    }
}
