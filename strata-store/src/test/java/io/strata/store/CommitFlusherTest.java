package io.strata.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded store's file writes: shared by concurrent writers, never waited for by readers. */
class CommitFlusherTest {
    @TempDir
    Path dir;

    @Test
    void concurrentWritersShareFileWritesAndReadersDoNotCauseAny() throws Exception {
        try (Database database = Database.open(DatabaseConfig.embedded(dir))) {
            database.jdbi().useHandle(h -> h.execute("create table flush_rows (n int primary key)"));
            long before = database.fileWrites();
            assertThat(before).as("the table's creation was written before its handle closed").isPositive();

            for (int i = 0; i < 20; i++) {
                database.jdbi().withHandle(h -> h.createQuery("select count(*) from flush_rows").mapTo(Integer.class).one());
                database.jdbi().inTransaction(h -> h.createQuery("select n from flush_rows where n = 1 for update").mapTo(Integer.class).findOne());
            }
            assertThat(database.fileWrites()).as("queries write nothing").isEqualTo(before);

            database.jdbi().useHandle(h -> h.execute("insert into flush_rows values (0)"));
            assertThat(database.fileWrites()).as("one insert, one write").isEqualTo(before + 1);

            int writers = 200;
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> inserts = new ArrayList<>();
                for (int n = 1; n <= writers; n++) {
                    int value = n;
                    inserts.add(clients.submit(() -> database.jdbi().useTransaction(h -> h.execute("insert into flush_rows values (?)", value))));
                }
                for (Future<?> insert : inserts) {
                    insert.get();
                }
            }
            long shared = database.fileWrites() - before - 1;
            assertThat(shared).as("200 concurrent commits needed fewer file writes").isPositive().isLessThan(writers);
        }
    }

    @Test
    void onlySelectsCountAsQueries() {
        assertThat(CommitFlusher.isQuery("select 1")).isTrue();
        assertThat(CommitFlusher.isQuery("  SELECT id from start_lock where id = 1 for update")).isTrue();
        assertThat(CommitFlusher.isQuery("(select 1) union (select 2)")).isTrue();
        assertThat(CommitFlusher.isQuery("insert into t values (1)")).isFalse();
        assertThat(CommitFlusher.isQuery("update t set x = 1")).isFalse();
        assertThat(CommitFlusher.isQuery("with x as (delete from t returning *) select * from x")).isFalse();
        assertThat(CommitFlusher.isQuery("merge into t key (id) values (1)")).isFalse();
        assertThat(CommitFlusher.isQuery("create table t (x int)")).isFalse();
        assertThat(CommitFlusher.isQuery(null)).isFalse();
    }
}
