package io.strata.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GroupCommitTest {
    static java.util.stream.Stream<TestDatabases.Kind> kinds() {
        return TestDatabases.kinds();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void concurrentUnitsShareCommitsAndEachGetsItsResult(TestDatabases.Kind kind) throws Exception {
        try (Database database = TestDatabases.open(kind); GroupCommit commits = GroupCommit.start("test-commits", database.jdbi(), 64)) {
            database.jdbi().useHandle(h -> h.execute("create table gc_rows (n int primary key)"));
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> units = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    int n = i;
                    units.add(clients.submit(() -> {
                        int inserted = commits.run(h -> {
                            return h.execute("insert into gc_rows (n) values (?)", n);
                        });
                        assertThat(inserted).isEqualTo(1);
                        // Returned means committed: another connection sees it.
                        assertThat(count(database, "n = " + n)).isEqualTo(1);
                    }));
                }
                for (Future<?> unit : units) {
                    unit.get();
                }
            }
            assertThat(count(database, "true")).isEqualTo(500);
            // 500 units at once did not need 500 commits.
            assertThat(commits.transactions()).isLessThan(500);
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aFailingUnitFailsAloneAndWorkGoesOnAfterClose(TestDatabases.Kind kind) throws Exception {
        try (Database database = TestDatabases.open(kind)) {
            database.jdbi().useHandle(h -> h.execute("create table gc_rows (n int primary key)"));
            GroupCommit commits = GroupCommit.start("test-commits", database.jdbi(), 16);
            commits.run(h -> h.execute("insert into gc_rows (n) values (1)"));
            // Many units at once, one of them a duplicate key: only that one fails.
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<Integer>> units = new ArrayList<>();
                for (int n = 1; n <= 40; n++) {
                    int value = n;
                    units.add(clients.submit(() -> commits.run(h -> h.execute("insert into gc_rows (n) values (?)", value))));
                }
                assertThatThrownBy(() -> units.get(0).get()).hasCauseInstanceOf(RuntimeException.class);
                for (Future<Integer> unit : units.subList(1, units.size())) {
                    assertThat(unit.get()).isEqualTo(1);
                }
            }
            assertThat(count(database, "true")).isEqualTo(40);
            commits.close();
            // After close, work still commits (on the caller's thread).
            assertThat(commits.<Integer>run(h -> h.execute("insert into gc_rows (n) values (41)"))).isEqualTo(1);
            assertThat(count(database, "true")).isEqualTo(41);
        }
    }

    private static int count(Database database, String where) {
        return database.jdbi().withHandle(h -> h.createQuery("select count(*) from gc_rows where " + where).mapTo(Integer.class).one());
    }
}
