package io.strata.store;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.BiConsumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Writes rows that many threads produce at once in shared transactions (group commit): each
 * {@link #write} waits until its row is committed, so nothing is lost to a crash after it
 * returned, but the rows that queued up while the previous transaction committed go in the next
 * one together. On the embedded store every commit writes a chunk of the file, so under
 * concurrency this turns N commits into a few.
 *
 * <p>Meant for rows written off the request path (history, events) where waiting for a batch
 * costs no client any latency it would notice.
 */
public final class GroupCommitWriter<T> implements AutoCloseable {
    private record Pending<T>(T row, CompletableFuture<Void> committed) {}

    private final Jdbi jdbi;
    private final BiConsumer<Handle, List<T>> writeAll;
    private final int maxBatch;
    private final LinkedBlockingQueue<Pending<T>> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean closed;

    /** {@code writeAll} writes a batch of rows with the handle of an open transaction. */
    public GroupCommitWriter(String name, Jdbi jdbi, BiConsumer<Handle, List<T>> writeAll, int maxBatch) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.writeAll = requireNonNull(writeAll, "writeAll is null");
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1");
        }
        this.maxBatch = maxBatch;
        this.writer = Thread.ofVirtual().name(name).start(this::run);
    }

    /** Returns once {@code row} is committed; throws what the write threw. */
    public void write(T row) {
        Pending<T> pending = new Pending<>(requireNonNull(row, "row is null"), new CompletableFuture<>());
        queue.add(pending);
        // Queued after the writer stopped: nobody else will write it.
        if (closed && queue.remove(pending)) {
            jdbi.useTransaction(h -> writeAll.accept(h, List.of(row)));
            return;
        }
        try {
            pending.committed().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    private void run() {
        List<Pending<T>> batch = new ArrayList<>();
        boolean stopping = false;
        while (!stopping) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                // Never interrupted on purpose (an interrupt inside a JDBC call can close the
                // embedded store's file channel); stop as if closed.
                closed = true;
                batch.add(stopMarker());
            }
            queue.drainTo(batch, maxBatch - 1);
            // The stop marker ends the loop; what came before it is still written.
            stopping = batch.removeIf(p -> p.row() == null);
            if (!batch.isEmpty()) {
                commit(batch);
            }
            batch.clear();
        }
        queue.drainTo(batch);
        batch.removeIf(p -> p.row() == null);
        if (!batch.isEmpty()) {
            commit(batch);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> Pending<T> stopMarker() {
        return new Pending<>(null, new CompletableFuture<>());
    }

    private void commit(List<Pending<T>> batch) {
        try {
            jdbi.useTransaction(h -> writeAll.accept(h, batch.stream().map(Pending::row).toList()));
            batch.forEach(p -> p.committed().complete(null));
        } catch (RuntimeException e) {
            batch.forEach(p -> p.committed().completeExceptionally(e));
        }
    }

    /** Stops the writer once the rows queued so far are written; later writes commit on their own. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.add(stopMarker());
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
