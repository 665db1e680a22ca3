package io.strata.store;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/** Where the database is. User and password may also be given inside a PostgreSQL URL. */
public record DatabaseConfig(String url, String user, String password, int maxConnections, long connectTimeoutMillis) {
    public DatabaseConfig {
        requireNonNull(url, "url is null");
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1");
        }
    }

    public static DatabaseConfig of(String url) {
        return new DatabaseConfig(url, null, null, 16, 5_000);
    }

    /** The embedded database of {@code strata up}: one H2 file under the data directory. */
    public static DatabaseConfig embedded(Path dataDir) {
        return of("jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("strata"));
    }
}
