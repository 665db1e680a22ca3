package io.strata.store;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the embedded store's file from growing without end.
 *
 * <p>H2 writes every change as a new chunk at the end of its file and frees a chunk only once
 * nothing in it is live any more; its background writer rewrites the few live pages of sparse
 * chunks so that they can be freed. With {@code WRITE_DELAY=0} (every commit written before it
 * returns, which crash safety needs) H2 runs no background writer, so nothing is rewritten:
 * under create/delete churn the chunks ended up 3 % live and the file grew by 1 GB every 30 s
 * (4 GB after 33,000 create/delete cycles). This does the background writer's compaction step
 * on a thread of its own, through H2's own {@code MVStore.compact}.
 */
final class EmbeddedStoreMaintenance implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedStoreMaintenance.class);

    /** Chunks below this share of live data are rewritten (H2's own default is 90 with a writer). */
    static final int TARGET_FILL_RATE = 60;
    /** At most this much rewritten per round, so a round never holds the store lock for long. */
    private static final int WRITE_LIMIT = 16 << 20;

    private final MVStore store;
    private final Thread thread;
    private final java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
    private volatile boolean closed;

    private EmbeddedStoreMaintenance(MVStore store, Duration interval) {
        this.store = requireNonNull(store, "store is null");
        this.thread = Thread.ofVirtual().name("db-compaction").start(() -> loop(interval.toMillis()));
    }

    /** Starts compacting the store behind {@code dataSource} (an embedded H2 database) every {@code interval}. */
    static EmbeddedStoreMaintenance start(DataSource dataSource, Duration interval) {
        try (Connection connection = dataSource.getConnection()) {
            SessionLocal session = (SessionLocal) connection.unwrap(JdbcConnection.class).getSession();
            return new EmbeddedStoreMaintenance(session.getDatabase().getStore().getMvStore(), interval);
        } catch (SQLException e) {
            throw new StoreException("cannot reach the embedded store for its maintenance: " + e.getMessage(), e);
        }
    }

    private void loop(long intervalMillis) {
        try {
            // Never interrupted: an interrupt inside a file write closes H2's file channel.
            while (!stop.await(intervalMillis, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                compactOnce();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One round: rewrites live pages of the sparsest chunks while there are some and the limit allows. */
    boolean compactOnce() {
        try {
            return !closed && !store.isClosed() && store.compact(TARGET_FILL_RATE, WRITE_LIMIT);
        } catch (RuntimeException e) {
            log.warn("embedded store compaction failed (will try again): {}", e.toString());
            return false;
        }
    }

    /** The store file's size in bytes (for tests). */
    long fileSize() {
        return store.getFileStore().size();
    }

    @Override
    public void close() {
        closed = true;
        stop.countDown();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
