package io.strata.store;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleListener;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.Handles;
import org.jdbi.v3.core.statement.SqlStatements;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.StatementCustomizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the embedded store's commits survive a killed process without writing the file at every
 * commit (group commit of the file writes).
 *
 * <p>H2 keeps committed changes in memory and writes them to its file as one chunk per store;
 * with {@code WRITE_DELAY=0} it stores at every commit, and serialising those chunks took about
 * half the controller's CPU under a create/delete load. Instead, one thread here writes the store
 * ({@code CHECKPOINT}) whenever somebody waits for it, and a Jdbi handle that changed anything
 * does not close (so its caller does not go on, nor answer a client) until a write that began
 * after its last statement has finished: everything it committed is then in the file, and every
 * commit that arrived while one write ran shares the next one.
 *
 * <p>A handle that only read does not wait; what it read may be a commit that is not yet written
 * and whose own handle is still waiting, which is the same as reading it a moment earlier.
 */
final class CommitFlusher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CommitFlusher.class);

    private final Supplier<Connection> connections;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Connections of open handles that ran a statement other than a query. */
    private final Set<Connection> dirty = ConcurrentHashMap.newKeySet();
    private final AtomicLong writes = new AtomicLong();
    private final Thread writer;
    private Connection connection;
    private long started;
    private long finished;
    private long wanted;
    private long failedUpTo = -1;
    private boolean closed;

    private CommitFlusher(Supplier<Connection> connections, String name) {
        this.connections = requireNonNull(connections, "connections is null");
        this.writer = Thread.ofVirtual().name(name).start(this::loop);
    }

    /**
     * Starts the writer and hooks it into {@code jdbi}: every handle that changes something waits
     * at close. {@code connections} opens a connection of the writer's own, outside the pool.
     */
    static CommitFlusher install(Jdbi jdbi, Supplier<Connection> connections) {
        CommitFlusher flusher = new CommitFlusher(connections, "db-file-writer");
        jdbi.getConfig(SqlStatements.class).addCustomizer(new StatementCustomizer() {
            @Override
            public void afterExecution(java.sql.PreparedStatement statement, StatementContext context) {
                if (!isQuery(context.getRenderedSql())) {
                    flusher.dirty.add(context.getConnection());
                }
            }
        });
        jdbi.getConfig(Handles.class).addListener(new HandleListener() {
            @Override
            public void handleClosed(Handle handle) {
                if (flusher.dirty.remove(handle.getConnection())) {
                    flusher.awaitWrite();
                }
            }
        });
        return flusher;
    }

    /** True for statements that cannot change anything (select, including select … for update). */
    static boolean isQuery(String sql) {
        if (sql == null) {
            return false;
        }
        int i = 0;
        while (i < sql.length() && (Character.isWhitespace(sql.charAt(i)) || sql.charAt(i) == '(')) {
            i++;
        }
        return sql.regionMatches(true, i, "select", 0, 6);
    }

    /** Returns once a write of the store that began after this call has finished. */
    void awaitWrite() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            long target = started + 1;
            wanted = Math.max(wanted, target);
            changed.signalAll();
            while (finished < target && !closed) {
                changed.awaitUninterruptibly();
            }
            if (failedUpTo >= target) {
                throw new StoreException("the embedded database could not write its file; the last changes may not survive a crash");
            }
        } finally {
            lock.unlock();
        }
    }

    /** How many times the store was written (for tests). */
    long writes() {
        return writes.get();
    }

    private void loop() {
        while (true) {
            long number;
            lock.lock();
            try {
                while (wanted <= started && !closed) {
                    changed.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
                number = ++started;
            } finally {
                lock.unlock();
            }
            boolean written = write();
            lock.lock();
            try {
                finished = number;
                if (!written) {
                    failedUpTo = number;
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private boolean write() {
        try {
            if (connection == null) {
                connection = connections.get();
            }
            try (Statement statement = connection.createStatement()) {
                statement.execute("checkpoint");
            }
            writes.incrementAndGet();
            return true;
        } catch (SQLException | RuntimeException e) {
            log.error("could not write the embedded database's file", e);
            closeQuietly();
            return false;
        }
    }

    private void closeQuietly() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Already broken.
            }
            connection = null;
        }
    }

    /** Writes what is pending once more and stops; later handles close without waiting. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
        } finally {
            lock.unlock();
        }
        awaitWrite();
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly();
    }
}
