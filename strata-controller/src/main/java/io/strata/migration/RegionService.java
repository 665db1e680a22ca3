package io.strata.migration;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** Regions: names that endpoints and worker services are mapped to. Shared by all projects. */
public final class RegionService {
    private final MigrationStore store;
    private final WorkerRegistry workers;
    private final Clock clock;

    public RegionService(MigrationStore store, WorkerRegistry workers, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.workers = requireNonNull(workers, "workers is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public Region create(String name, String description, boolean enabled) {
        if (list().stream().anyMatch(r -> r.name().equals(name))) {
            throw CloudException.conflict("A region named %s already exists", name);
        }
        Instant now = clock.instant();
        Region region = new Region(UUID.randomUUID().toString(), null, name, description, enabled, now, now);
        store.insert(Kind.REGION, region);
        return region;
    }

    public List<Region> list() {
        return store.list(Kind.REGION, null, Region.class);
    }

    public Region get(String id) {
        return store.find(Kind.REGION, id, Region.class).orElseThrow(() -> CloudException.notFound("Region with ID '%s' not found.", id));
    }

    public Region update(String id, String name, String description, Boolean enabled) {
        get(id);
        return store.update(Kind.REGION, id, Region.class, r -> r.with(name == null ? r.name() : name,
                description == null ? r.description() : description, enabled == null ? r.enabled() : enabled, clock.instant())).orElseThrow();
    }

    public void delete(String id) {
        get(id);
        if (workers.regionInUse(id)) {
            throw CloudException.conflict("Region %s is mapped to endpoints or services; unmap it first", id);
        }
        store.delete(Kind.REGION, id);
    }

    public List<String> endpointsOf(String id) {
        return store.list(Kind.ENDPOINT, null, Endpoint.class).stream().filter(e -> e.mappedRegions().contains(id)).map(Endpoint::id).toList();
    }

    public List<String> servicesOf(String id) {
        return workers.list().stream().filter(s -> s.mappedRegions().contains(id)).map(WorkerService::id).toList();
    }
}
