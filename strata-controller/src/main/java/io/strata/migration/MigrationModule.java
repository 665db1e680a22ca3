package io.strata.migration;

import static java.util.Objects.requireNonNull;

import io.strata.identity.Catalog;
import io.strata.identity.Policy;
import io.strata.migration.disk.DiskReplicator;
import io.strata.migration.morphing.OsMorpher;
import io.strata.migration.provider.CloudApiProvider;
import io.strata.migration.provider.ProviderRegistry;
import io.strata.migration.provider.QemuHostProvider;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migration service of a controller, wired in one place: store, secrets, providers, task
 * engine, services, the schedule clock and the API. Starting it registers this controller's
 * worker and resumes the executions a previous run left active; its clock resumes the minion
 * pool allocations/deallocations left active (first 5 s after start), and takes over both from a
 * worker that is down.
 */
public final class MigrationModule implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MigrationModule.class);

    /** The catalog entry: Coriolis' service type is "migration". */
    public static final Catalog.Service CATALOG_SERVICE = new Catalog.Service("migration", "coriolis", MigrationApi.ROOT + "/v1/%(project_id)s");

    private final TaskEngine engine;
    private final MinionPoolService pools;
    private final ScheduledExecutorService clock;
    private final MigrationApi api;

    private MigrationModule(TaskEngine engine, MinionPoolService pools, ScheduledExecutorService clock, MigrationApi api) {
        this.engine = engine;
        this.pools = pools;
        this.clock = clock;
        this.api = api;
    }

    /** The migration clock's period: heartbeats, take-overs, schedules. */
    private static final Duration TICK = Duration.ofSeconds(5);

    /**
     * @param osMorphingImage directory with the OS-morphing appliance's vmlinuz and initrd.img; null
     *        when none is configured (OS morphing then fails, asking for it or for skip_os_morphing)
     * @param applianceAccelerator "kvm" or "tcg" for the OS-morphing appliance, asked at the first morphing
     * @param serviceDownTime how long a worker may go unseen before another controller takes its
     *        executions over (the cloud's service_down_time); the worker beats at least three times in it
     */
    public static MigrationModule start(Jdbi jdbi, Path dataDir, Policy policy, Clock clock, Path osMorphingImage,
            java.util.function.Supplier<String> applianceAccelerator, Duration serviceDownTime) {
        requireNonNull(dataDir, "dataDir is null");
        Path root = dataDir.resolve("migration");
        MigrationStore store = new MigrationStore(jdbi, clock);
        SecretBox box = SecretBox.open(root.resolve("secret.key"));
        ProviderRegistry providers = new ProviderRegistry(List.of(new QemuHostProvider(root.resolve("scratch")),
                new CloudApiProvider("strata", root.resolve("staging")), new CloudApiProvider("openstack", root.resolve("staging"))));
        EndpointService endpoints = new EndpointService(store, box, providers, clock);
        WorkerRegistry workers = new WorkerRegistry(store, clock, hostName(), providers.platforms(), root.resolve("worker.id"), serviceDownTime);
        TaskEngine engine = new TaskEngine(store, new TransferTasks(store, endpoints, new DiskReplicator(),
                new OsMorpher(OsMorpher.Settings.forImage(osMorphingImage != null ? osMorphingImage : root.resolve("os-morphing"), applianceAccelerator)),
                root.resolve("state"), clock), clock);
        TransferService transfers = new TransferService(store, endpoints, workers, engine, clock);
        ScheduleService schedules = new ScheduleService(store, transfers, clock);
        MinionPoolService pools = new MinionPoolService(store, endpoints, workers, clock);
        RegionService regions = new RegionService(store, workers, clock);
        MigrationApi api = new MigrationApi(providers, endpoints, transfers, schedules, pools, regions, workers, policy);

        workers.register();
        int resumed = engine.adopt(workers.selfId(), workers::isDown);
        if (resumed > 0) {
            log.info("resumed {} migration execution(s)", resumed);
        }
        long tickMillis = Math.max(100, Math.min(TICK.toMillis(), serviceDownTime.toMillis() / 3));
        // Two threads: the heartbeat has one of its own, so that a long tick (a slow store, many
        // schedules) never makes this worker look down and its running executions taken over.
        ScheduledExecutorService ticker = Executors.newScheduledThreadPool(2, Thread.ofVirtual().name("migration-clock").factory());
        ticker.scheduleAtFixedRate(() -> {
            try {
                workers.heartbeat();
            } catch (RuntimeException e) {
                log.warn("migration worker heartbeat failed: {}", e.getMessage());
            }
        }, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
        ticker.scheduleWithFixedDelay(() -> {
            try {
                engine.adopt(workers.selfId(), workers::isDown);
                // Pools are resumed from the clock, first 5 s after start, not during it: the pool's
                // endpoint may be this very cloud, whose API is not listening yet.
                int resumedPools = pools.adopt(workers.selfId(), workers::isDown);
                if (resumedPools > 0) {
                    log.info("resumed {} minion pool allocation(s) or deallocation(s)", resumedPools);
                }
                schedules.tick();
            } catch (RuntimeException e) {
                log.warn("migration clock tick failed: {}", e.getMessage());
            }
        }, TICK.toMillis(), tickMillis, TimeUnit.MILLISECONDS);
        return new MigrationModule(engine, pools, ticker, api);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    public MigrationApi api() {
        return api;
    }

    @Override
    public void close() {
        clock.shutdownNow();
        pools.close();
        engine.close();
    }
}
