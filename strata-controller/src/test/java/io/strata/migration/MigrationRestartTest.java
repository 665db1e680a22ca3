package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A controller stopped in the middle of an execution: the next start resumes it from the store,
 * the interrupted disk copy is finished from what the destination already holds, and the
 * destination ends equal to the source; a migration cancelled while no controller ran it
 * still cleans up.
 */
class MigrationRestartTest {
    private static final long SIZE = 384L << 20;
    private Path source;
    private Path destination;

    @AfterEach
    void clean() throws IOException {
        for (Path dir : new Path[] {source, destination}) {
            if (dir != null) {
                try (Stream<Path> paths = Files.walk(dir)) {
                    paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /**
     * Two controllers on one PostgreSQL: an execution requested from the first, whose worker is
     * disabled, is assigned to the second one's worker, which picks it up from the store.
     */
    @org.junit.jupiter.api.Test
    void anExecutionRunsOnTheWorkerItIsAssignedTo() throws IOException {
        source = Files.createTempDirectory("migr-src-");
        destination = Files.createTempDirectory("migr-dst-");
        Path disk = HostDirs.sparseDisk(source.resolve("vm1/disk.raw"), 8L << 20, 5, 0, 3, 77);
        io.strata.store.DatabaseConfig shared = TestDatabases.config(TestDatabases.Kind.POSTGRESQL);
        TestCloud first = TestCloud.start(TestDatabases.Kind.POSTGRESQL, c -> c.withDatabase(shared.url(), shared.user(), shared.password()));
        TestCloud started = TestCloud.start(TestDatabases.Kind.POSTGRESQL, c -> c.withDatabase(shared.url(), shared.user(), shared.password()));
        // Controllers sharing a database share the key that seals connection info, as Keystone
        // nodes share their Fernet keys: the operator copies it.
        Files.copy(first.dataDir().resolve("migration/secret.key"), started.dataDir().resolve("migration/secret.key"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (TestCloud second = started.restart()) {
            MigrationClient client = new MigrationClient(first.admin());
            assertThat(client.get("/services").expect(200).json().get("services")).hasSize(2)
                    .allSatisfy(s -> assertThat(s.get("status").asText()).isEqualTo("UP"));
            String firstWorker = Files.readString(first.dataDir().resolve("migration/worker.id")).strip();
            client.put("/services/" + firstWorker, "{\"service\": {\"enabled\": false}}").expect(200);

            String replica = client.replica(client.qemuHostEndpoint("src", source), client.qemuHostEndpoint("dst", destination), "vm1");
            MigrationClient.assertCompleted(client.awaitExecution(replica, client.execute(replica)));
            JsonNode volume = client.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/volumes_info/0");
            assertThat(HostDirs.checksum(Path.of(volume.get("path").asText()), 8L << 20)).isEqualTo(HostDirs.checksum(disk, 8L << 20));
            // The second controller's data directory holds the replication state: it did the copy.
            assertThat(second.dataDir().resolve("migration/state/" + replica)).exists();
            assertThat(first.dataDir().resolve("migration/state/" + replica)).doesNotExist();
        } finally {
            first.close();
        }
    }

    /**
     * Two controllers on one PostgreSQL with a service down time of 3 s: the worker running an
     * execution stops mid-copy and never comes back; once it is DOWN the other controller takes
     * the execution over and completes it, and the destination ends equal to the source.
     */
    @org.junit.jupiter.api.Test
    void anotherControllerTakesOverTheExecutionsOfAWorkerThatWentDown() throws IOException {
        source = Files.createTempDirectory("migr-src-");
        destination = Files.createTempDirectory("migr-dst-");
        Path disk = HostDirs.randomDisk(source.resolve("big/disk.raw"), SIZE, 11);
        io.strata.store.DatabaseConfig shared = TestDatabases.config(TestDatabases.Kind.POSTGRESQL);
        java.util.function.UnaryOperator<io.strata.server.StrataConfig> settings = c -> c.withDatabase(shared.url(), shared.user(), shared.password())
                .withCluster(c.cluster().withHeartbeat(java.time.Duration.ofSeconds(1), 3));
        TestCloud survivor = TestCloud.start(TestDatabases.Kind.POSTGRESQL, settings);
        TestCloud dying = TestCloud.start(TestDatabases.Kind.POSTGRESQL, settings);
        boolean dyingClosed = false;
        try {
            Files.copy(survivor.dataDir().resolve("migration/secret.key"), dying.dataDir().resolve("migration/secret.key"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            dying = dying.restart();
            MigrationClient client = new MigrationClient(survivor.admin());
            String survivorWorker = Files.readString(survivor.dataDir().resolve("migration/worker.id")).strip();
            String dyingWorker = Files.readString(dying.dataDir().resolve("migration/worker.id")).strip();
            // Disabled, the survivor's worker is not chosen: the execution goes to the other one.
            client.put("/services/" + survivorWorker, "{\"service\": {\"enabled\": false}}").expect(200);
            String replica = client.replica(client.qemuHostEndpoint("src", source), client.qemuHostEndpoint("dst", destination), "big");
            String execution = client.execute(replica);
            client.awaitReplicationProgress(() -> client.execution(replica, execution).get("tasks"));
            client.put("/services/" + survivorWorker, "{\"service\": {\"enabled\": true}}").expect(200);

            dying.close();
            dyingClosed = true;
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).pollInterval(java.time.Duration.ofMillis(200))
                    .until(() -> client.get("/services/" + dyingWorker).expect(200).json().at("/service/status").asText().equals("DOWN"));
            JsonNode done = client.awaitExecution(replica, execution);
            MigrationClient.assertCompleted(done);
            assertThat(done.get("tasks").get(2).get("progress_updates"))
                    .anySatisfy(u -> assertThat(u.get("message").asText()).contains("Resumed after a controller restart"));
            JsonNode volume = client.get("/replicas/" + replica).expect(200).json().at("/replica/info/big/volumes_info/0");
            assertThat(HostDirs.checksum(Path.of(volume.get("path").asText()), SIZE)).isEqualTo(HostDirs.checksum(disk, SIZE));
            // The survivor's data directory holds the replication state now: it finished the copy.
            assertThat(survivor.dataDir().resolve("migration/state/" + replica)).exists();
        } finally {
            if (!dyingClosed) {
                dying.close();
            }
            survivor.close();
        }
    }

    /**
     * A worker that was only paused (not dead) when another took its execution over: its copy
     * notices within a second that the execution is no longer its own and stops mid-way, writing
     * nothing more of it; the new owner completes it. The takeover is made in the store, as a
     * controller that judged the worker down makes it.
     */
    @org.junit.jupiter.api.Test
    void aWorkerWhoseExecutionWasTakenOverStopsItsCopy() throws IOException {
        source = Files.createTempDirectory("migr-src-");
        destination = Files.createTempDirectory("migr-dst-");
        // Large enough that the copy is still going well after the worker's next look at the store
        // (at most a second after the takeover; 384 MB were copied before it, 1 GiB takes ~1.3 s here).
        long size = 2L << 30;
        Path disk = HostDirs.randomDisk(source.resolve("big/disk.raw"), size, 13);
        io.strata.store.DatabaseConfig shared = TestDatabases.config(TestDatabases.Kind.POSTGRESQL);
        java.util.function.UnaryOperator<io.strata.server.StrataConfig> settings = c -> c.withDatabase(shared.url(), shared.user(), shared.password());
        ch.qos.logback.classic.Logger engineLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(TaskEngine.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = new ch.qos.logback.core.read.ListAppender<>();
        captured.start();
        engineLog.addAppender(captured);
        TestCloud owner = TestCloud.start(TestDatabases.Kind.POSTGRESQL, settings);
        TestCloud paused = TestCloud.start(TestDatabases.Kind.POSTGRESQL, settings);
        try (io.strata.store.Database database = io.strata.store.Database.open(shared)) {
            Files.copy(owner.dataDir().resolve("migration/secret.key"), paused.dataDir().resolve("migration/secret.key"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            paused = paused.restart();
            MigrationClient client = new MigrationClient(owner.admin());
            String ownerWorker = Files.readString(owner.dataDir().resolve("migration/worker.id")).strip();
            client.put("/services/" + ownerWorker, "{\"service\": {\"enabled\": false}}").expect(200);
            String replica = client.replica(client.qemuHostEndpoint("src", source), client.qemuHostEndpoint("dst", destination), "big");
            String execution = client.execute(replica);
            client.awaitReplicationProgress(() -> client.execution(replica, execution).get("tasks"));
            client.put("/services/" + ownerWorker, "{\"service\": {\"enabled\": true}}").expect(200);

            new MigrationStore(database.jdbi(), java.time.Clock.systemUTC()).update(MigrationStore.Kind.EXECUTION, execution, Execution.class,
                    e -> e.withWorker(ownerWorker, java.time.Instant.now()));

            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> captured.list.stream()
                    .anyMatch(event -> event.getFormattedMessage().contains("of execution " + execution + " stopped: another worker took")));
            JsonNode done = client.awaitExecution(replica, execution);
            MigrationClient.assertCompleted(done);
            JsonNode volume = client.get("/replicas/" + replica).expect(200).json().at("/replica/info/big/volumes_info/0");
            assertThat(HostDirs.checksum(Path.of(volume.get("path").asText()), size)).isEqualTo(HostDirs.checksum(disk, size));
            assertThat(owner.dataDir().resolve("migration/state/" + replica)).exists();
        } finally {
            engineLog.detachAppender(captured);
            paused.close();
            owner.close();
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Kind.class)
    void executionResumesAfterRestart(TestDatabases.Kind kind) throws IOException {
        source = Files.createTempDirectory("migr-src-");
        destination = Files.createTempDirectory("migr-dst-");
        Path disk = HostDirs.randomDisk(source.resolve("big/disk.raw"), SIZE, 9);
        TestCloud cloud = TestCloud.start(kind);
        try {
            MigrationClient client = new MigrationClient(cloud.admin());
            String replica = client.replica(client.qemuHostEndpoint("src", source), client.qemuHostEndpoint("dst", destination), "big");
            String execution = client.execute(replica);
            client.awaitReplicationProgress(() -> client.execution(replica, execution).get("tasks"));

            cloud = cloud.restart();
            MigrationClient after = new MigrationClient(cloud.admin());
            JsonNode done = after.awaitExecution(replica, execution);
            MigrationClient.assertCompleted(done);
            JsonNode replicate = done.get("tasks").get(2);
            assertThat(replicate.get("task_type").asText()).isEqualTo("REPLICATE_DISKS");
            assertThat(replicate.get("progress_updates")).anySatisfy(u -> assertThat(u.get("message").asText()).contains("Resumed after a controller restart"));
            JsonNode volume = after.get("/replicas/" + replica).expect(200).json().at("/replica/info/big/volumes_info/0");
            assertThat(HostDirs.checksum(Path.of(volume.get("path").asText()), SIZE)).isEqualTo(HostDirs.checksum(disk, SIZE));

            // Interrupted again, then cancelled while the controller is down: the cleanup still runs.
            String migration = after.post("/migrations", """
                    {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["big"],
                     "destination_environment": {"instance_name": "big-2"}, "skip_os_morphing": true}}
                    """.formatted(after.get("/replicas/" + replica).expect(200).json().at("/replica/origin_endpoint_id").asText(),
                    after.get("/replicas/" + replica).expect(200).json().at("/replica/destination_endpoint_id").asText()))
                    .expect(200).json().at("/migration/id").asText();
            after.awaitReplicationProgress(() -> after.get("/migrations/" + migration).expect(200).json().at("/migration/tasks"));
            cloud = cloud.restart();
            MigrationClient third = new MigrationClient(cloud.admin());
            third.post("/migrations/" + migration + "/actions", "{\"cancel\": {}}");
            JsonNode ended = third.awaitMigration(migration);
            assertThat(ended.get("status").asText()).isIn("CANCELED", "COMPLETED");
            if (ended.get("status").asText().equals("CANCELED")) {
                assertThat(destination.resolve(".strata-replicas/" + migration)).doesNotExist();
                assertThat(destination.resolve("big-2")).doesNotExist();
            }
        } finally {
            cloud.close();
        }
    }
}
