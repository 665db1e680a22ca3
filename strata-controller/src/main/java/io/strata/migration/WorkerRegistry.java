package io.strata.migration;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Worker services: each controller registers itself on start (same host, same record) and
 * beats every few seconds; a worker unseen for {@link #DOWN_AFTER} is DOWN. Executions go to an
 * enabled, up worker whose regions cover the endpoints' regions (a worker or endpoint with no
 * regions matches any).
 */
public final class WorkerRegistry {
    public static final Duration DOWN_AFTER = Duration.ofSeconds(60);
    static final String BINARY = "coriolis-worker";
    static final String TOPIC = "coriolis_worker";

    private final MigrationStore store;
    private final Clock clock;
    private final String host;
    private final List<String> providers;
    private String selfId;

    public WorkerRegistry(MigrationStore store, Clock clock, String host, List<String> providers) {
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.host = requireNonNull(host, "host is null");
        this.providers = List.copyOf(providers);
    }

    /** Registers this controller's worker, or takes its earlier record back. */
    public synchronized WorkerService register() {
        Instant now = clock.instant();
        WorkerService existing = store.list(Kind.SERVICE, null, WorkerService.class).stream()
                .filter(s -> s.host().equals(host) && s.binary().equals(BINARY)).findFirst().orElse(null);
        if (existing != null) {
            selfId = existing.id();
            return store.update(Kind.SERVICE, existing.id(), WorkerService.class,
                    s -> s.with(s.enabled(), s.mappedRegions(), "UP", now, now)).orElseThrow();
        }
        WorkerService created = new WorkerService(java.util.UUID.randomUUID().toString(), null, host, BINARY, TOPIC, true, "UP", providers,
                List.of(), now, now, now);
        store.insert(Kind.SERVICE, created);
        selfId = created.id();
        return created;
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
        boolean up = service.lastSeenAt() != null && service.lastSeenAt().isAfter(clock.instant().minus(DOWN_AFTER));
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

    /** The worker to run a transfer between two endpoints; 409 when none is enabled and up there. */
    public WorkerService pick(Endpoint origin, Endpoint destination) {
        Set<String> wanted = new HashSet<>(origin.mappedRegions());
        wanted.addAll(destination.mappedRegions());
        return list().stream()
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
