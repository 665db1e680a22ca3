package io.strata.store;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Fresh, migrated databases for tests: an in-memory H2 and a new database on the PostgreSQL
 * server that {@code .ci/run} starts (URL, user and password from STRATA_TEST_PG_URL,
 * STRATA_TEST_PG_USER, STRATA_TEST_PG_PASSWORD; defaults match .ci/run). Tests run on both; a
 * missing PostgreSQL fails them rather than skipping, because CI must prove both work.
 */
public final class TestDatabases {
    private static final String PG_URL = env("STRATA_TEST_PG_URL", "jdbc:postgresql://localhost:5432/strata");
    private static final String PG_USER = env("STRATA_TEST_PG_USER", "strata");
    private static final String PG_PASSWORD = env("STRATA_TEST_PG_PASSWORD", "strata");

    private TestDatabases() {}

    public enum Kind {
        H2,
        POSTGRESQL
    }

    public static Stream<Kind> kinds() {
        return Stream.of(Kind.H2, Kind.POSTGRESQL);
    }

    public static DatabaseConfig config(Kind kind) {
        return switch (kind) {
            case H2 -> DatabaseConfig.of("jdbc:h2:mem:test-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
            case POSTGRESQL -> freshPostgres();
        };
    }

    public static Database open(Kind kind) {
        return Database.open(config(kind));
    }

    /** A new database on the test server, so each test class starts from an empty schema. */
    private static DatabaseConfig freshPostgres() {
        String name = "strata_test_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection connection = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD);
                Statement statement = connection.createStatement()) {
            statement.execute("create database " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("PostgreSQL for tests is not reachable at " + PG_URL
                    + " as " + PG_USER + " (.ci/run starts it; set STRATA_TEST_PG_URL to use another): " + e.getMessage(), e);
        }
        String url = PG_URL.substring(0, PG_URL.lastIndexOf('/') + 1) + name;
        return new DatabaseConfig(url, PG_USER, PG_PASSWORD, 8, 5_000);
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
