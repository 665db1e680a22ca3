package io.strata.store;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Runs small units of database work that many threads submit at once in shared transactions
 * (group commit). {@link #run} returns once its work is committed, so nothing is lost to a crash
 * after it returned; the units that queued up while the previous transaction committed go in the
 * next one together. On the embedded store every commit writes a chunk of the file, so under
 * concurrency this turns N commits into a few.
 *
 * <p>A unit must be a transaction on its own terms (its own checks and writes, nothing it reads
 * outside). If any unit of a batch throws, the batch is rolled back and each of its units runs
 * again in a transaction of its own, so one unit's failure is never another's.
 *
 * <p>Meant for small units: build and delete steps, history rows, and request writes that check
 * nothing beyond their own rows (a create with no quota to count, the start of a delete). A
 * request waits for at most the batch ahead of its own, the commit it would have paid anyway.
 */
public final class GroupCommit implements AutoCloseable {
    private record Unit(Function<Handle, ?> work, CompletableFuture<Object> done) {}

    private static final Unit STOP = new Unit(h -> null, new CompletableFuture<>());

    private final Jdbi jdbi;
    private final int maxBatch;
    private final LinkedBlockingQueue<Unit> queue = new LinkedBlockingQueue<>();
    private final Thread committer;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicLong transactions = new java.util.concurrent.atomic.AtomicLong();

    private GroupCommit(Jdbi jdbi, int maxBatch, String name) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.maxBatch = maxBatch;
        this.committer = name == null ? null : Thread.ofVirtual().name(name).start(this::loop);
        this.closed = name == null;
    }

    /** Batches work on a committer thread of its own. */
    public static GroupCommit start(String name, Jdbi jdbi, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1");
        }
        return new GroupCommit(jdbi, maxBatch, requireNonNull(name, "name is null"));
    }

    /** Runs each unit in its own transaction on the caller's thread (tools, one-shot commands). */
    public static GroupCommit direct(Jdbi jdbi) {
        return new GroupCommit(jdbi, 1, null);
    }

    /** Runs {@code work} in a transaction (possibly shared) and returns its result once committed. */
    @SuppressWarnings("unchecked")
    public <R> R run(Function<Handle, R> work) {
        requireNonNull(work, "work is null");
        if (closed) {
            return jdbi.inTransaction(work::apply);
        }
        Unit unit = new Unit(work, new CompletableFuture<>());
        queue.add(unit);
        // Queued after the committer stopped: nobody else will run it.
        if (closed && queue.remove(unit)) {
            return jdbi.inTransaction(work::apply);
        }
        try {
            return (R) unit.done().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    private void loop() {
        List<Unit> batch = new ArrayList<>();
        boolean stopping = false;
        while (!stopping) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                // Never interrupted on purpose (an interrupt inside a JDBC call can close the
                // embedded store's file channel); stop as if closed.
                closed = true;
                batch.add(STOP);
            }
            queue.drainTo(batch, maxBatch - 1);
            stopping = batch.remove(STOP);
            commit(batch);
            batch.clear();
        }
        queue.drainTo(batch);
        batch.remove(STOP);
        commit(batch);
    }

    private void commit(List<Unit> batch) {
        if (batch.isEmpty()) {
            return;
        }
        if (batch.size() > 1) {
            try {
                transactions.incrementAndGet();
                List<Object> results = jdbi.inTransaction(h -> {
                    List<Object> each = new ArrayList<>(batch.size());
                    for (Unit unit : batch) {
                        each.add(unit.work().apply(h));
                    }
                    return each;
                });
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).done().complete(results.get(i));
                }
                return;
            } catch (RuntimeException e) {
                // Fall through: each unit again on its own, so only the failing one fails.
            }
        }
        for (Unit unit : batch) {
            try {
                transactions.incrementAndGet();
                unit.done().complete(jdbi.inTransaction(h -> unit.work().apply(h)));
            } catch (RuntimeException e) {
                unit.done().completeExceptionally(e);
            }
        }
    }

    /** How many transactions the committer has run (for tests and metrics). */
    public long transactions() {
        return transactions.get();
    }

    /** Stops the committer once the work queued so far is committed; later work commits on its own. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.add(STOP);
        try {
            committer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
