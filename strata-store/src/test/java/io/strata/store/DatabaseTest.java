package io.strata.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class DatabaseTest {
    static java.util.stream.Stream<TestDatabases.Kind> kinds() {
        return TestDatabases.kinds();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void migratesAndRoundTripsInstants(TestDatabases.Kind kind) {
        try (Database database = TestDatabases.open(kind)) {
            assertThat(database.isHealthy()).isTrue();
            Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
            database.jdbi().useHandle(handle -> handle.execute(
                    "insert into domains (id, name, created_at) values (?, ?, ?)", "d1", "Default", now));
            Instant read = database.jdbi().withHandle(handle -> handle
                    .createQuery("select created_at from domains where id = 'd1'").mapTo(Instant.class).one());
            assertThat(read).isEqualTo(now);
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void migrationIsIdempotentAcrossRestarts(TestDatabases.Kind kind) {
        DatabaseConfig config = TestDatabases.config(kind);
        try (Database first = Database.open(config)) {
            first.jdbi().useHandle(handle -> handle.execute(
                    "insert into roles (id, name, created_at) values ('r1', 'admin', ?)", Instant.now()));
            try (Database second = Database.open(config)) {
                int roles = second.jdbi().withHandle(handle -> handle
                        .createQuery("select count(*) from roles").mapTo(Integer.class).one());
                assertThat(roles).isEqualTo(1);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void unreachableDatabaseIsAClearError() {
        assertThatThrownBy(() -> Database.open(new DatabaseConfig(
                        "jdbc:postgresql://127.0.0.1:1/nothing", "x", "y", 1, 1_000)))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("cannot connect to jdbc:postgresql://127.0.0.1:1/nothing");
    }

    @org.junit.jupiter.api.Test
    void unsupportedUrlIsAClearError() {
        assertThatThrownBy(() -> Database.open(DatabaseConfig.of("jdbc:mysql://x/y")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("unsupported database URL");
    }
}
