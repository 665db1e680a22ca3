package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import io.strata.migration.disk.DiskReplicator;
import io.strata.migration.morphing.OsMorpher;
import io.strata.migration.provider.ProviderRegistry;
import io.strata.migration.provider.QemuHostProvider;
import io.strata.store.Database;
import io.strata.store.TestDatabases;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.threeten.extra.MutableClock;

/**
 * The schedule clock on a clock the test moves: a schedule fires in its UTC minute only, once per
 * minute, not when disabled, not once expired, and with its own shutdown_instance; the real
 * services underneath (store on H2, qemu-host endpoints on local directories, task engine).
 */
class ScheduleServiceTest {
    private static final String PROJECT = "project-1";

    @TempDir
    Path dir;

    private final MutableClock clock = MutableClock.of(Instant.parse("2026-03-02T01:59:30Z"), ZoneOffset.UTC);
    private Database database;
    private TaskEngine engine;
    private WorkerRegistry workers;
    private TransferService transfers;
    private ScheduleService schedules;
    private String replica;

    @BeforeEach
    void start() throws Exception {
        database = TestDatabases.open(TestDatabases.Kind.H2);
        MigrationStore store = new MigrationStore(database.jdbi(), clock);
        Path root = Files.createDirectories(dir.resolve("migration"));
        ProviderRegistry providers = new ProviderRegistry(List.of(new QemuHostProvider(root.resolve("scratch"))));
        EndpointService endpoints = new EndpointService(store, SecretBox.open(root.resolve("secret.key")), providers, clock);
        workers = new WorkerRegistry(store, clock, "test-host", providers.platforms(), root.resolve("worker.id"));
        workers.register();
        engine = new TaskEngine(store, new TransferTasks(store, endpoints, new DiskReplicator(),
                new OsMorpher(OsMorpher.Settings.forImage(root.resolve("os-morphing"))), root.resolve("state"), clock), clock);
        transfers = new TransferService(store, endpoints, workers, engine, clock);
        schedules = new ScheduleService(store, transfers, clock);

        Path source = Files.createDirectories(dir.resolve("src"));
        HostDirs.sparseDisk(source.resolve("vm1/disk.raw"), 1L << 20, 3, 0, 5);
        Path destination = Files.createDirectories(dir.resolve("dst"));
        String origin = endpoints.create(PROJECT, "src", QemuHostProvider.PLATFORM, null, path(source), List.of()).id();
        String target = endpoints.create(PROJECT, "dst", QemuHostProvider.PLATFORM, null, path(destination), List.of()).id();
        replica = transfers.createReplica(PROJECT, new TransferService.Request(origin, target, null, null, List.of("vm1"), null, null, null, null,
                null, false, false)).id();
    }

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
        if (database != null) {
            database.close();
        }
    }

    @Test
    void firesInItsUtcMinuteOnceWhenEnabledAndUnexpired() {
        ObjectNode twoAm = cron(0, 2);
        Schedule due = schedules.create(PROJECT, replica, twoAm, true, null, true);
        schedules.create(PROJECT, replica, twoAm, false, null, false);
        Schedule expiring = schedules.create(PROJECT, replica, twoAm, true, Instant.parse("2026-03-02T02:00:05Z"), false);
        // 01:59 UTC: nothing matches (in a zone ahead of UTC it would already be 02:00 somewhere).
        assertThat(schedules.tick()).isZero();

        moveTo(Instant.parse("2026-03-02T02:00:10Z"));
        // Only the enabled, unexpired one: the disabled one and the one that expired at 02:00:05 do not fire.
        assertThat(schedules.tick()).isEqualTo(1);
        assertThat(transfers.executions(replica)).singleElement().satisfies(e -> assertThat(e.shutdownInstances()).isTrue());
        awaitIdle();
        moveTo(Instant.parse("2026-03-02T02:00:50Z"));
        assertThat(schedules.tick()).as("the same minute again").isZero();
        assertThat(schedules.get(PROJECT, replica, due.id()).lastFiredAt()).isEqualTo(Instant.parse("2026-03-02T02:00:00Z"));
        // The expired schedule is left out of a listing that hides expired ones.
        assertThat(schedules.list(PROJECT, replica, false)).extracting(Schedule::id).doesNotContain(expiring.id()).contains(due.id());
        assertThat(schedules.list(PROJECT, replica, true)).extracting(Schedule::id).contains(expiring.id());

        // Disabled later: the next day's 02:00 passes without an execution; enabled again, it fires.
        schedules.update(PROJECT, replica, due.id(), null, false, null, false, null);
        moveTo(Instant.parse("2026-03-03T02:00:01Z"));
        assertThat(schedules.tick()).isZero();
        schedules.update(PROJECT, replica, due.id(), null, true, null, false, false);
        moveTo(Instant.parse("2026-03-04T02:00:01Z"));
        assertThat(schedules.tick()).isEqualTo(1);
        assertThat(transfers.executions(replica)).hasSize(2).anySatisfy(e -> assertThat(e.shutdownInstances()).isFalse());
        awaitIdle();
        moveTo(Instant.parse("2026-03-04T02:01:01Z"));
        assertThat(schedules.tick()).as("02:01 is not 02:00").isZero();
    }

    @Test
    void aPastExpiryIsRefused() {
        moveTo(Instant.parse("2026-03-02T02:00:10Z"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> schedules.create(PROJECT, replica, cron(0, 2), true,
                Instant.parse("2026-03-02T02:00:05Z"), false)).isInstanceOf(CloudException.class).hasMessageContaining("in the past");
    }

    /** Moves the clock; the worker heartbeats at the new time, or it would be DOWN and take nothing. */
    private void moveTo(Instant instant) {
        clock.setInstant(instant);
        workers.heartbeat();
    }

    private void awaitIdle() {
        await().atMost(Duration.ofSeconds(30)).until(() -> transfers.executions(replica).stream().noneMatch(Execution::isActive));
    }

    private static ObjectNode cron(int minute, int hour) {
        return JsonNodeFactory.instance.objectNode().put("minute", minute).put("hour", hour);
    }

    private static ObjectNode path(Path dir) {
        return JsonNodeFactory.instance.objectNode().put("path", dir.toString());
    }
}
