package io.strata.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed right after a commit must find the commit on restart: the embedded database
 * is what {@code strata up} keeps every server and image record in.
 */
class EmbeddedCrashTest {
    @TempDir
    Path dir;

    @Test
    void committedRowsSurviveAProcessThatIsKilledRightAfterTheCommit() throws Exception {
        runUntilItHalts(CrashingWriter.class);

        try (Database database = Database.open(DatabaseConfig.embedded(dir))) {
            int rows = database.jdbi().withHandle(h -> h.createQuery("select count(*) from crash_probe").mapTo(Integer.class).one());
            assertThat(rows).isEqualTo(CrashingWriter.ROWS);
        }
    }

    @Test
    void rowsCommittedByManyThreadsAtOnceSurviveAProcessKilledRightAfterTheLastCommit() throws Exception {
        runUntilItHalts(ConcurrentCrashingWriter.class);

        try (Database database = Database.open(DatabaseConfig.embedded(dir))) {
            int rows = database.jdbi().withHandle(h -> h.createQuery("select count(*) from crash_probe").mapTo(Integer.class).one());
            assertThat(rows).isEqualTo(ConcurrentCrashingWriter.THREADS * ConcurrentCrashingWriter.ROWS_EACH);
        }
    }

    /** Runs {@code writer}'s main in a JVM of its own on this test's directory and waits for it to halt. */
    private void runUntilItHalts(Class<?> writer) throws Exception {
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), writer.getName(), dir.toString())
                .inheritIO().start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("the writer halts itself with status 9").isEqualTo(9);
    }

    /** Commits rows one transaction at a time and dies at once, as SIGKILL would. */
    public static final class CrashingWriter {
        static final int ROWS = 20;

        public static void main(String[] args) {
            Database database = Database.open(DatabaseConfig.embedded(Path.of(args[0])));
            database.jdbi().useHandle(h -> h.execute("create table crash_probe (x int)"));
            for (int i = 0; i < ROWS; i++) {
                int row = i;
                database.jdbi().useHandle(h -> h.execute("insert into crash_probe values (?)", row));
            }
            Runtime.getRuntime().halt(9);
        }
    }

    /**
     * Many threads commit at once, through transactions, autocommit statements and group
     * commits; the process dies the moment the last of them returned.
     */
    public static final class ConcurrentCrashingWriter {
        static final int THREADS = 32;
        static final int ROWS_EACH = 30;

        public static void main(String[] args) throws Exception {
            Database database = Database.open(DatabaseConfig.embedded(Path.of(args[0])));
            database.jdbi().useHandle(h -> h.execute("create table crash_probe (t int, x int)"));
            try (java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    threads.submit(() -> {
                        for (int i = 0; i < ROWS_EACH; i++) {
                            int row = i;
                            switch ((thread + i) % 3) {
                                case 0 -> database.jdbi().useTransaction(h -> h.execute("insert into crash_probe values (?, ?)", thread, row));
                                case 1 -> database.jdbi().useHandle(h -> h.execute("insert into crash_probe values (?, ?)", thread, row));
                                default -> database.groupCommit().run(h -> h.execute("insert into crash_probe values (?, ?)", thread, row));
                            }
                        }
                        return null;
                    });
                }
            }
            Runtime.getRuntime().halt(9);
        }
    }
}
