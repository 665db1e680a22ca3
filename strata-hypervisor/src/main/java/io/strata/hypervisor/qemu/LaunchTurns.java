package io.strata.hypervisor.qemu;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Orders the CPU-bound part of concurrent clone launches: a launch holds a turn from its start
 * until its commands are out to QEMU, and gives it back before waiting for QEMU's answer.
 *
 * <p>Why: fifty launches at once progressed in step (each got a slice of the two cores in turn),
 * so they all ended together at the end of the burst and the median clone waited for nearly all
 * of them. Taking turns in arrival order lets the first clones finish first, while nobody waits
 * idle on a QEMU answer holding a turn (an earlier experiment that held it across the answer
 * made each launch latency-bound: see bench/RESULTS.md).
 */
final class LaunchTurns {
    /** Turns at once; 0 lets every launch run as it comes (no ordering). */
    static final String PROPERTY = "strata.cloneLaunchTurns";

    private final Semaphore turns;
    /** Launches begun and not yet ended, and when the last one ended (for {@link #awaitQuiet}). */
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile long lastEnded = System.nanoTime();

    LaunchTurns(int permits) {
        this.turns = permits > 0 ? new Semaphore(permits, true) : null;
    }

    static LaunchTurns fromProperty() {
        return new LaunchTurns(Integer.getInteger(PROPERTY, 1));
    }

    /** Waits for a turn; the returned turn ends once (later calls to {@link Turn#end} do nothing). */
    Turn take() {
        long asked = System.nanoTime();
        inFlight.incrementAndGet();
        if (turns != null) {
            turns.acquireUninterruptibly();
        }
        return new Turn(this, asked, System.nanoTime());
    }

    /**
     * Waits until no launch has been in flight for {@code quiet}, or {@code atMost} has passed:
     * background work of launched clones gives way to the launches still coming.
     */
    void awaitQuiet(java.time.Duration quiet, java.time.Duration atMost) {
        long deadline = System.nanoTime() + atMost.toNanos();
        long wait = Math.max(1, quiet.toMillis() / 4);
        try {
            while (System.nanoTime() < deadline && (inFlight.get() > 0 || System.nanoTime() - lastEnded < quiet.toNanos())) {
                Thread.sleep(wait);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static final class Turn {
        private final LaunchTurns turns;
        private final AtomicBoolean ended = new AtomicBoolean();
        private final AtomicBoolean closed = new AtomicBoolean();
        private final long asked;
        private final long taken;
        private volatile long endedAt;

        private Turn(LaunchTurns turns, long asked, long taken) {
            this.turns = turns;
            this.asked = asked;
            this.taken = taken;
        }

        void end() {
            if (ended.compareAndSet(false, true)) {
                endedAt = System.nanoTime();
                if (turns.turns != null) {
                    turns.turns.release();
                }
            }
        }

        /** The launch is over (its turn ends too, if it had not). */
        void close() {
            end();
            if (closed.compareAndSet(false, true)) {
                turns.lastEnded = System.nanoTime();
                turns.inFlight.decrementAndGet();
            }
        }

        /** For the launch's log line: how long it waited for its turn and held it. */
        @Override
        public String toString() {
            long end = endedAt;
            return "waited " + (taken - asked) / 1_000_000 + " ms for its turn, held it "
                    + (end == 0 ? "to the end" : (end - taken) / 1_000_000 + " ms");
        }
    }
}
