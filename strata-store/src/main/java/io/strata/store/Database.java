package io.strata.store;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/**
 * The one database of a Strata process: an embedded H2 file (all-in-one) or PostgreSQL
 * (production), migrated by Flyway at start-up. H2 runs in PostgreSQL mode so one set of
 * migrations and queries serves both.
 */
public final class Database implements AutoCloseable {
    private final HikariDataSource dataSource;
    private final Jdbi jdbi;
    private final Dialect dialect;
    private final GroupCommit groupCommit;
    private final EmbeddedStoreMaintenance maintenance;

    private Database(HikariDataSource dataSource, Dialect dialect) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
        this.maintenance = dialect == Dialect.H2 ? EmbeddedStoreMaintenance.start(dataSource, java.time.Duration.ofSeconds(2)) : null;
        this.groupCommit = GroupCommit.start("db-group-commit", jdbi, 128);
    }

    public static Database open(DatabaseConfig config) {
        return open(config, new int[1]);
    }

    /** Opens and migrates; {@code applied[0]} receives how many migrations ran. */
    private static Database open(DatabaseConfig config, int[] applied) {
        requireNonNull(config, "config is null");
        Dialect dialect = Dialect.of(config.url());
        HikariConfig hikari = new HikariConfig();
        hikari.setJdbcUrl(dialect == Dialect.H2 ? h2Url(config.url()) : config.url());
        if (config.user() != null) {
            hikari.setUsername(config.user());
        }
        if (config.password() != null) {
            hikari.setPassword(config.password());
        }
        hikari.setMaximumPoolSize(config.maxConnections());
        hikari.setMinimumIdle(Math.min(2, config.maxConnections()));
        hikari.setPoolName("strata-db");
        // Fail fast with the driver's own message (wrong host, bad password) instead of a 30 s wait.
        hikari.setInitializationFailTimeout(1);
        hikari.setConnectionTimeout(config.connectTimeoutMillis());
        HikariDataSource dataSource;
        try {
            dataSource = new HikariDataSource(hikari);
        } catch (RuntimeException e) {
            throw new StoreException("cannot connect to " + redact(config.url()) + ": " + rootMessage(e), e);
        }
        try {
            applied[0] = migrate(dataSource);
        } catch (RuntimeException e) {
            dataSource.close();
            throw new StoreException("cannot migrate " + redact(config.url()) + ": " + rootMessage(e), e);
        }
        return new Database(dataSource, dialect);
    }

    /** What {@link #sync} did: how many migrations it applied and the schema version the database is at now. */
    public record SyncResult(int applied, String version) {}

    /** Brings the database's schema up to date and closes it again (nova-manage db sync). */
    public static SyncResult sync(DatabaseConfig config) {
        int[] applied = new int[1];
        try (Database database = open(config, applied)) {
            return database.jdbi.withHandle(h -> {
                String version = h.createQuery("select version from flyway_schema_history where success = true and version is not null")
                        .mapTo(String.class).list().stream().max(java.util.Comparator.comparing(Database::versionKey)).orElse("0");
                return new SyncResult(applied[0], version);
            });
        }
    }

    /** Runs the pending migrations; returns how many. */
    private static int migrate(HikariDataSource dataSource) {
        return Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                // Each domain owns a range of versions (compute/live images 4-19, hierarchy 20-29,
                // migration 30-39, operator toolbox 40-49), so one area's later-landing script
                // may sort below another's already applied one.
                .outOfOrder(true)
                .load()
                .migrate().migrationsExecuted;
    }

    private static long versionKey(String version) {
        try {
            return Long.parseLong(version.replaceAll("[^0-9].*$", ""));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The URL with any password in it masked, for messages. */
    public static String redactUrl(String url) {
        return redact(url);
    }

    /**
     * H2 settings that make it behave like PostgreSQL for our SQL, keep the file usable by one
     * process at a time, and let a crash lose nothing that was committed.
     */
    private static String h2Url(String url) {
        // WRITE_DELAY=0: H2 otherwise writes commits out up to 500 ms later, and a SIGKILLed
        // process loses them (measured: a committed row gone after Runtime.halt 100 ms later).
        String settings = ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;NON_KEYWORDS=KEY,VALUE,USER;QUERY_CACHE_SIZE=256"
                + ";WRITE_DELAY=0";
        return url.contains(";MODE=") ? url : url + settings;
    }

    private static String redact(String url) {
        return url.replaceAll("password=[^&;]*", "password=***");
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    /** Work that may throw; see {@link #exclusively}. */
    @FunctionalInterface
    public interface Work<X extends Exception> {
        void run() throws X;
    }

    /**
     * Runs {@code work} holding the database-wide start lock (a row lock held by a transaction
     * of its own): controllers started together on a fresh database would otherwise both find
     * no admin user and both insert one, and the loser exit on the unique key. The work itself
     * runs on other connections; it sees everything the previous holder committed.
     */
    public <X extends Exception> void exclusively(Work<X> work) throws X {
        try (org.jdbi.v3.core.Handle lock = jdbi.open()) {
            lock.begin();
            try {
                lock.createQuery("select id from start_lock where id = 1 for update").mapTo(Integer.class).one();
                work.run();
            } finally {
                lock.rollback();
            }
        }
    }

    public Dialect dialect() {
        return dialect;
    }

    /** This database's shared-transaction runner (one per process and database). */
    public GroupCommit groupCommit() {
        return groupCommit;
    }

    /** The embedded store's compaction (null on PostgreSQL), for tests. */
    EmbeddedStoreMaintenance maintenance() {
        return maintenance;
    }

    /** True when the database answers a trivial query (for health checks). */
    public boolean isHealthy() {
        try {
            return jdbi.withHandle(handle -> handle.createQuery("select 1").mapTo(Integer.class).one()) == 1;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        groupCommit.close();
        if (maintenance != null) {
            maintenance.close();
        }
        dataSource.close();
    }

    public enum Dialect {
        H2,
        POSTGRESQL;

        static Dialect of(String url) {
            if (url.startsWith("jdbc:h2:")) {
                return H2;
            }
            if (url.startsWith("jdbc:postgresql:")) {
                return POSTGRESQL;
            }
            throw new StoreException("unsupported database URL " + redact(url) + " (use jdbc:h2:… or jdbc:postgresql:…)");
        }
    }
}
