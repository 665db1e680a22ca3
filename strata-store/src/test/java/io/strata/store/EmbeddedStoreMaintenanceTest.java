package io.strata.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Under create/delete churn the embedded store's file must reuse its space instead of growing. */
class EmbeddedStoreMaintenanceTest {
    private static final String PAYLOAD = "x".repeat(1500);

    @TempDir
    Path dir;

    @Test
    void underChurnTheFileReusesSpaceInsteadOfGrowingWithEveryCommit() {
        // The production settings, except that freed chunks may be reused at once instead of
        // after 45 s, so that a short test sees the reuse that compaction makes possible.
        String url = "jdbc:h2:file:" + dir.resolve("strata") + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH"
                + ";NON_KEYWORDS=KEY,VALUE,USER;WRITE_DELAY=0;RETENTION_TIME=0";
        try (Database database = Database.open(DatabaseConfig.of(url))) {
            database.jdbi().useHandle(h -> h.execute("create table churn (id int primary key, state varchar(20), payload varchar(2000))"));
            database.jdbi().useHandle(h -> h.execute("create index churn_state on churn (state)"));
            EmbeddedStoreMaintenance maintenance = database.maintenance();
            long empty = maintenance.fileSize();
            churn(database, maintenance, 0, 2000);
            long first = maintenance.fileSize();
            churn(database, maintenance, 2000, 4000);
            long second = maintenance.fileSize();
            long payloads = 4000L * PAYLOAD.length();
            // Without compaction every chunk keeps a few live pages, nothing is freed, and the
            // file grows by all that is written (here about 13 bytes of file per byte of rows;
            // under the compute API's churn chunks were 3 % live and the file grew 1 GB every
            // 30 s). With it, the file stays within a small multiple of the rows it holds.
            assertThat(second).as("file size (%d KB empty, %d KB halfway) for %d KB of rows", empty >> 10, first >> 10, payloads >> 10)
                    .isLessThan(payloads * 5 / 2);
            int rows = database.jdbi().withHandle(h -> h.createQuery("select count(*) from churn where state <> 'deleted'").mapTo(Integer.class).one());
            assertThat(rows).isEqualTo(5);
        }
    }

    /** Create/delete churn as the compute API makes it: each row changes for a few commits, then stays. */
    private static void churn(Database database, EmbeddedStoreMaintenance maintenance, int from, int to) {
        for (int i = from; i < to; i++) {
            int id = i;
            database.jdbi().useTransaction(h -> {
                h.execute("insert into churn values (?, 'building', ?)", id, PAYLOAD);
                h.execute("update churn set state = 'active' where id = ?", id - 1);
                // Deleted servers stay as rows (deleted = true), as Nova keeps them.
                h.execute("update churn set state = 'deleted' where id = ?", id - 5);
            });
            if (i % 250 == 249) {
                // What the maintenance thread does every few seconds, at the pace of this loop.
                while (maintenance.compactOnce()) {
                    // Until nothing is sparse any more.
                }
            }
        }
    }
}
