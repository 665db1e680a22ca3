package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import io.strata.server.StrataConfig;
import io.strata.store.DatabaseConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** strata manage (like nova-manage): db sync, service list, vm list and logs errors, on a real database and real log files. */
class ManageCommandTest {
    private static final StrataCli CLI = StrataCli.withEnvironment(Map.of());

    @TempDir
    Path dir;

    @Test
    void dbSyncMigratesAFreshPostgresqlDatabaseOnceAndThenHasNothingToDo() {
        DatabaseConfig db = TestDatabases.config(TestDatabases.Kind.POSTGRESQL);
        String first = CLI.ok("manage", "db", "sync", "--db", db.url(), "--db-user", db.user(), "--db-password", db.password()).out();
        assertThat(first).startsWith("Database " + db.url() + " is at schema version ").doesNotContain(" 0 migrations applied");
        String version = first.replaceAll("(?s).*schema version (\\S+) .*", "$1");
        assertThat(Integer.parseInt(version)).isGreaterThanOrEqualTo(46);

        String second = CLI.ok("manage", "db", "sync", "--db", db.url(), "--db-user", db.user(), "--db-password", db.password()).out();
        assertThat(second).contains("schema version " + version + " (0 migrations applied now)");

        CLI.run("manage", "db", "sync", "--db", db.url(), "--db-user", db.user(), "--db-password", "wrong")
                .failsWith(1, "password authentication failed");
    }

    @Test
    void serviceAndVmListReadTheCloudsDatabase() {
        TestCloud cloud = TestCloud.start(TestDatabases.Kind.POSTGRESQL, config -> config.withFakeHosts(2, StrataConfig.FakeHostSpec.DEFAULT));
        try {
            ApiClient admin = cloud.admin();
            String image = Servers.uploadImage(admin, "img");
            String id = Servers.create(admin, "listed", image, "1", null);
            Servers.waitFor(admin, id, "ACTIVE");
            String host = Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
            StrataConfig config = cloud.server().config();
            String[] db = {"--db", config.databaseUrl(), "--db-user", config.databaseUser(), "--db-password", config.databasePassword()};

            List<String> services = CLI.ok(concat(new String[] {"manage", "service", "list"}, db)).lines();
            assertThat(services.get(0)).startsWith("Binary").contains("State").contains("Updated_At");
            assertThat(services).hasSize(3);
            assertThat(services.subList(1, 3)).allSatisfy(line -> assertThat(line).startsWith("nova-compute").contains("enabled")
                    .contains(":-)"));

            List<String> vms = CLI.ok(concat(new String[] {"manage", "vm", "list"}, db)).lines();
            assertThat(vms).hasSize(2);
            assertThat(vms.get(1)).contains(id).contains("listed").contains(host).contains("m1.tiny").contains("active");
            assertThat(CLI.ok(concat(new String[] {"manage", "vm", "list", "--host", "no-such-host"}, db)).lines()).hasSize(1);
        } finally {
            cloud.close();
        }
    }

    @Test
    void logsErrorsFindsTheErrorLinesOfTheLogAndItsRolledFiles() throws Exception {
        Path logs = dir.resolve("logs");
        Files.createDirectories(logs);
        try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(logs.resolve("strata.1.log.gz")))) {
            gz.write(("2026-12-04 01:00:00.000 INFO  [main] a - started\n"
                    + "2026-12-04 01:00:01.000 ERROR [main] a req-1 - older failure\n").getBytes(StandardCharsets.UTF_8));
        }
        Files.writeString(logs.resolve("strata.log"), "2026-12-04 02:00:00.000 WARN  [main] b - ERRORS is not ERROR-free\n"
                + "2026-12-04 02:00:01.000 ERROR [main] b req-2 - newer failure\n");
        List<String> lines = CLI.ok("manage", "logs", "errors", "--data-dir", dir.toString()).lines();
        assertThat(lines).containsExactly("strata.1.log.gz:2: 2026-12-04 01:00:01.000 ERROR [main] a req-1 - older failure",
                "strata.log:1: 2026-12-04 02:00:00.000 WARN  [main] b - ERRORS is not ERROR-free",
                "strata.log:2: 2026-12-04 02:00:01.000 ERROR [main] b req-2 - newer failure");

        Path clean = dir.resolve("clean.log");
        Files.writeString(clean, "2026-12-04 02:00:00.000 INFO  [main] b - fine\n");
        assertThat(CLI.ok("manage", "logs", "errors", "--log-file", clean.toString()).out()).isEqualTo("No errors in logfiles!\n");
        CLI.run("manage", "logs", "errors", "--data-dir", dir.resolve("nowhere").toString()).failsWith(1, "No log directory");
    }

    @Test
    void theServerLogFileReceivesWhatIsLoggedAndLogsErrorsFindsIt() throws Exception {
        Path file = LogFiles.writeTo(dir.resolve("logs"));
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        try {
            LoggerFactory.getLogger("io.strata.test").error("something broke in the test");
            LoggerFactory.getLogger("io.strata.test").info("all is well");
            assertThat(Files.readString(file)).contains("INFO ").contains("all is well");
            List<String> errors = CLI.ok("manage", "logs", "errors", "--data-dir", dir.toString()).lines();
            assertThat(errors).hasSize(1);
            assertThat(errors.get(0)).startsWith("strata.log:").contains("ERROR").contains("something broke in the test");
        } finally {
            context.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender("FILE");
        }
    }

    @Test
    void jsonLogLinesCarryTheLevelAndRequestIdAndLogsErrorsFindsThem() throws Exception {
        LogFiles.useFormat("json");
        Path file = LogFiles.writeTo(dir.resolve("logs"));
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        try {
            org.slf4j.MDC.put("request_id", "req-0b5e55ed-0000-4000-8000-000000000001");
            try {
                LoggerFactory.getLogger("io.strata.test").error("json broke in the {}", "test");
            } finally {
                org.slf4j.MDC.remove("request_id");
            }
            LoggerFactory.getLogger("io.strata.test").info("json is well");
            List<com.fasterxml.jackson.databind.JsonNode> lines = new java.util.ArrayList<>();
            for (String line : Files.readAllLines(file)) {
                lines.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line));
            }
            com.fasterxml.jackson.databind.JsonNode error = lines.stream()
                    .filter(l -> l.path("formattedMessage").asText().equals("json broke in the test")).findFirst().orElseThrow();
            assertThat(error.path("level").asText()).isEqualTo("ERROR");
            assertThat(error.path("loggerName").asText()).isEqualTo("io.strata.test");
            assertThat(error.at("/mdc/request_id").asText()).isEqualTo("req-0b5e55ed-0000-4000-8000-000000000001");
            assertThat(lines).anyMatch(l -> l.path("formattedMessage").asText().equals("json is well") && l.path("level").asText().equals("INFO"));
            List<String> errors = CLI.ok("manage", "logs", "errors", "--data-dir", dir.toString()).lines();
            assertThat(errors).hasSize(1);
            assertThat(errors.get(0)).startsWith("strata.log:").contains("json broke in the test");
        } finally {
            context.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender("FILE");
            LogFiles.useFormat("text");
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogFiles.useFormat("xml")).hasMessageContaining("text or json");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
