package io.strata.migration;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Worker services: each controller registers itself on start (its id kept in its data directory,
 * so a restart takes the same record back) and beats every few seconds; a worker unseen for
 * {@code downAfter} (the cloud's service_down_time, 60 s in the all-in-one) is DOWN. Executions
 * go to an enabled, up worker whose regions cover the endpoints' regions (a worker or endpoint
 * with no regions matches any); controllers sharing a database pick up the executions assigned
 * to them, and those of workers that went down.
 */
public final class WorkerRegistry {
    /** Nova's service_down_time, the default. */
    public static final Duration DOWN_AFTER = Duration.ofSeconds(60);
    static final String BINARY = "coriolis-worker";
    static final String TOPIC = "coriolis_worker";

    private final MigrationStore store;
    private final Clock clock;
    private final String host;
    private final List<String> providers;
    private final Path idFile;
    private final Duration downAfter;
    private String selfId;

    /** {@code idFile} keeps this controller's worker id across restarts (one per data directory). */
    public WorkerRegistry(MigrationStore store, Clock clock, String host, List<String> providers, Path idFile) {
        this(store, clock, host, providers, idFile, DOWN_AFTER);
    }

    /** @param downAfter how long a worker may go unseen before it is DOWN and its executions are taken over */
    public WorkerRegistry(MigrationStore store, Clock clock, String host, List<String> providers, Path idFile, Duration downAfter) {
        this.downAfter = requireNonNull(downAfter, "downAfter is null");
        if (downAfter.isNegative() || downAfter.isZero()) {
            throw new IllegalArgumentException("downAfter must be positive");
        }
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.host = requireNonNull(host, "host is null");
        this.providers = List.copyOf(providers);
        this.idFile = requireNonNull(idFile, "idFile is null");
    }

    /** Registers this controller's worker, or takes its earlier record back. */
    public synchronized WorkerService register() {
        Instant now = clock.instant();
        String known = readId();
        WorkerService existing = known == null ? null : store.find(Kind.SERVICE, known, WorkerService.class).orElse(null);
        if (existing != null) {
            selfId = existing.id();
            return store.update(Kind.SERVICE, existing.id(), WorkerService.class,
                    s -> s.with(s.enabled(), s.mappedRegions(), "UP", now, now)).orElseThrow();
        }
        WorkerService created = new WorkerService(known != null ? known : java.util.UUID.randomUUID().toString(), null, host, BINARY, TOPIC,
                true, "UP", providers, List.of(), now, now, now);
        store.insert(Kind.SERVICE, created);
        writeId(created.id());
        selfId = created.id();
        return created;
    }

    private String readId() {
        try {
            return Files.exists(idFile) ? Files.readString(idFile).strip() : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + idFile, e);
        }
    }

    private void writeId(String id) {
        try {
            Files.createDirectories(idFile.getParent());
            Files.writeString(idFile, id + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + idFile, e);
        }
    }

    public String selfId() {
        return selfId;
    }

    /** Whether a worker is unknown or has not been seen for {@code downAfter}: its executions may be adopted. */
    public boolean isDown(String workerId) {
        return store.find(Kind.SERVICE, workerId, WorkerService.class).map(this::withLiveStatus)
                .map(s -> s.status().equals("DOWN")).orElse(true);
    }

    public void heartbeat() {
        if (selfId != null) {
            Instant now = clock.instant();
            store.update(Kind.SERVICE, selfId, WorkerService.class, s -> s.with(s.enabled(), s.mappedRegions(), "UP", now, s.updatedAt()));
        }
    }

    public List<WorkerService> list() {
        return store.list(Kind.SERVICE, null, WorkerService.class).stream().map(this::withLiveStatus).toList();
    }

    public WorkerService get(String id) {
        return store.find(Kind.SERVICE, id, WorkerService.class).map(this::withLiveStatus)
                .orElseThrow(() -> CloudException.notFound("Service with ID '%s' not found.", id));
    }

    private WorkerService withLiveStatus(WorkerService service) {
        boolean up = service.lastSeenAt() != null && service.lastSeenAt().isAfter(clock.instant().minus(downAfter));
        return service.with(service.enabled(), service.mappedRegions(), up ? "UP" : "DOWN", service.lastSeenAt(), service.updatedAt());
    }

    public WorkerService update(String id, Boolean enabled, List<String> regions) {
        get(id);
        if (regions != null) {
            for (String region : regions) {
                if (store.find(Kind.REGION, region, Region.class).isEmpty()) {
                    throw CloudException.badRequest("Region %s could not be found", region);
                }
            }
        }
        Instant now = clock.instant();
        return withLiveStatus(store.update(Kind.SERVICE, id, WorkerService.class, s -> s.with(enabled == null ? s.enabled() : enabled,
                regions == null ? s.mappedRegions() : regions, s.status(), s.lastSeenAt(), now)).orElseThrow());
    }

    public void delete(String id) {
        get(id);
        store.delete(Kind.SERVICE, id);
    }

    /**
     * The worker to run a transfer between two endpoints, this controller's own when it qualifies;
     * 409 when none is enabled and up there.
     */
    public WorkerService pick(Endpoint origin, Endpoint destination) {
        Set<String> wanted = new HashSet<>(origin.mappedRegions());
        wanted.addAll(destination.mappedRegions());
        return list().stream()
                .sorted(java.util.Comparator.comparing(s -> !s.id().equals(selfId)))
                .filter(s -> s.enabled() && s.status().equals("UP"))
                .filter(s -> s.providers().contains(origin.type()) && s.providers().contains(destination.type()))
                .filter(s -> wanted.isEmpty() || s.mappedRegions().isEmpty() || s.mappedRegions().stream().anyMatch(wanted::contains))
                .findFirst()
                .orElseThrow(() -> CloudException.conflict("No enabled worker service can run a transfer from %s to %s%s", origin.type(),
                        destination.type(), wanted.isEmpty() ? "" : " in regions " + wanted));
    }

    /** Regions in use by services or endpoints cannot be deleted. */
    boolean regionInUse(String regionId) {
        return store.list(Kind.SERVICE, null, WorkerService.class).stream().anyMatch(s -> s.mappedRegions().contains(regionId))
                || store.list(Kind.ENDPOINT, null, Endpoint.class).stream().anyMatch(e -> e.mappedRegions().contains(regionId));
    }
}
