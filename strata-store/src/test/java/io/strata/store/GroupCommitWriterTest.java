package io.strata.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GroupCommitWriterTest {
    static java.util.stream.Stream<TestDatabases.Kind> kinds() {
        return TestDatabases.kinds();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void concurrentWritesShareCommitsAndAllLand(TestDatabases.Kind kind) throws Exception {
        try (Database database = TestDatabases.open(kind)) {
            database.jdbi().useHandle(h -> h.execute("create table gcw_rows (n int primary key)"));
            List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());
            try (GroupCommitWriter<Integer> writer = new GroupCommitWriter<>("test-writer", database.jdbi(), (h, rows) -> {
                batchSizes.add(rows.size());
                insert(h, rows);
            }, 64)) {
                try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                    List<Future<?>> writes = new ArrayList<>();
                    for (int i = 0; i < 500; i++) {
                        int n = i;
                        writes.add(clients.submit(() -> {
                            writer.write(n);
                            // Returned means committed: another connection sees it.
                            assertThat(count(database, "n = " + n)).isEqualTo(1);
                        }));
                    }
                    for (Future<?> write : writes) {
                        write.get();
                    }
                }
            }
            assertThat(count(database, "true")).isEqualTo(500);
            assertThat(batchSizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(500);
            assertThat(batchSizes).allMatch(size -> size <= 64);
            // 500 writers at once do not need 500 commits.
            assertThat(batchSizes.size()).isLessThan(500);
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aFailedBatchFailsItsWritersAndTheWriterGoesOn(TestDatabases.Kind kind) {
        try (Database database = TestDatabases.open(kind)) {
            database.jdbi().useHandle(h -> h.execute("create table gcw_rows (n int primary key)"));
            GroupCommitWriter<Integer> writer = new GroupCommitWriter<>("test-writer", database.jdbi(), GroupCommitWriterTest::insert, 16);
            writer.write(1);
            assertThatThrownBy(() -> writer.write(1)).isInstanceOf(RuntimeException.class);
            assertThat(count(database, "true")).isEqualTo(1);
            writer.write(2);
            writer.close();
            // After close, writes still commit (on the caller's thread).
            writer.write(3);
            assertThat(count(database, "true")).isEqualTo(3);
        }
    }

    private static void insert(Handle h, List<Integer> rows) {
        var batch = h.prepareBatch("insert into gcw_rows (n) values (:n)");
        rows.forEach(n -> batch.bind("n", n).add());
        batch.execute();
    }

    private static int count(Database database, String where) {
        return database.jdbi().withHandle(h -> h.createQuery("select count(*) from gcw_rows where " + where).mapTo(Integer.class).one());
    }
}
