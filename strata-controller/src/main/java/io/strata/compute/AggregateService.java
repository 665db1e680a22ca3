package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import java.time.Clock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Host aggregates and the availability zones they define. A host's zone is the zone of the
 * aggregates it belongs to (the default zone when none names one); it is written onto the host
 * row whenever membership or an aggregate's zone changes, so the scheduler, os-services and
 * os-availability-zone all read one value.
 */
public final class AggregateService {
    private final AggregateStore store;
    private final HostRegistry hosts;
    private final Clock clock;

    public AggregateService(AggregateStore store, HostRegistry hosts, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public List<Aggregate> list() {
        return store.list();
    }

    public Aggregate get(String id) {
        try {
            return store.find(Integer.parseInt(id)).orElseThrow(() -> notFound(id));
        } catch (NumberFormatException e) {
            throw notFound(id);
        }
    }

    public synchronized Aggregate create(String name, String zone) {
        checkZoneName(zone);
        Map<String, String> metadata = zone == null ? Map.of() : Map.of(Aggregate.ZONE_KEY, zone);
        return store.insert(UUID.randomUUID().toString(), name, metadata, clock.instant())
                .orElseThrow(() -> CloudException.conflict("Aggregate %s already exists.", name));
    }

    /** Renames and/or moves the aggregate to another zone (PUT os-aggregates/{id}). */
    public synchronized Aggregate update(String id, String name, String zone, boolean zoneGiven) {
        Aggregate aggregate = get(id);
        if (zoneGiven) {
            Map<String, String> change = new HashMap<>();
            change.put(Aggregate.ZONE_KEY, zone);
            setMetadata(aggregate, change, "update");
        }
        if (name != null && !store.rename(aggregate.id(), name, clock.instant())) {
            throw CloudException.conflict("Aggregate %s already exists.", name);
        }
        return get(id);
    }

    /** Sets metadata; a null value removes its key (the set_metadata action). */
    public synchronized Aggregate setMetadata(String id, Map<String, String> changes) {
        setMetadata(get(id), changes, "update aggregate metadata");
        return get(id);
    }

    private void setMetadata(Aggregate aggregate, Map<String, String> changes, String action) {
        if (changes.containsKey(Aggregate.ZONE_KEY)) {
            String zone = changes.get(Aggregate.ZONE_KEY);
            checkZoneName(zone);
            Set<String> conflicting = conflictingZones(aggregate.hosts(), aggregate.id(), zone);
            if (!conflicting.isEmpty()) {
                throw CloudException.badRequest("Cannot %s on aggregate %d. Reason: One or more hosts already in availability zone(s) %s.",
                        action, aggregate.id(), pythonList(conflicting));
            }
        }
        store.updateMetadata(aggregate.id(), changes, clock.instant());
        syncZones(aggregate.hosts());
    }

    public synchronized Aggregate addHost(String id, String hostName) {
        Aggregate aggregate = get(id);
        if (hosts.refresh().stream().noneMatch(h -> h.name().equals(hostName))) {
            throw CloudException.notFound("Compute host %s could not be found.", hostName);
        }
        if (aggregate.hosts().contains(hostName)) {
            throw CloudException.conflict("Aggregate %d already has host %s.", aggregate.id(), hostName);
        }
        Set<String> conflicting = conflictingZones(List.of(hostName), aggregate.id(), aggregate.zone());
        if (!conflicting.isEmpty()) {
            throw CloudException.conflict("Cannot add host to aggregate %d. Reason: One or more hosts already in availability zone(s) %s.",
                    aggregate.id(), pythonList(conflicting));
        }
        store.addHost(aggregate.id(), hostName, clock.instant());
        syncZones(List.of(hostName));
        return get(id);
    }

    public synchronized Aggregate removeHost(String id, String hostName) {
        Aggregate aggregate;
        try {
            aggregate = get(id);
        } catch (CloudException e) {
            throw CloudException.notFound("Cannot remove host %s in aggregate %s", hostName, id);
        }
        if (!store.removeHost(aggregate.id(), hostName, clock.instant())) {
            throw CloudException.notFound("Cannot remove host %s in aggregate %s", hostName, id);
        }
        syncZones(List.of(hostName));
        return get(id);
    }

    public synchronized void delete(String id) {
        Aggregate aggregate = get(id);
        if (!aggregate.hosts().isEmpty()) {
            throw CloudException.badRequest("Cannot perform action 'delete' on aggregate %d. Reason: Host aggregate is not empty.",
                    aggregate.id());
        }
        store.delete(aggregate.id());
    }

    /** Metadata of every aggregate a host belongs to, as key → values (what the scheduler filters read). */
    public Map<String, Map<String, Set<String>>> metadataByHost() {
        return store.metadataByHost();
    }

    /** Zones other aggregates give these hosts that differ from {@code zone} (a host is in one zone only). */
    private Set<String> conflictingZones(List<String> hostNames, int aggregateId, String zone) {
        Set<String> conflicting = new TreeSet<>();
        for (Aggregate other : store.list()) {
            if (other.id() == aggregateId || other.zone() == null) {
                continue;
            }
            if (other.hosts().stream().anyMatch(hostNames::contains) && !other.zone().equals(zone == null ? ServerService.DEFAULT_ZONE : zone)) {
                conflicting.add(other.zone());
            }
        }
        return conflicting;
    }

    private void syncZones(List<String> hostNames) {
        Map<String, String> zones = new LinkedHashMap<>();
        hostNames.forEach(h -> zones.put(h, ServerService.DEFAULT_ZONE));
        for (Aggregate aggregate : store.list()) {
            if (aggregate.zone() != null) {
                aggregate.hosts().stream().filter(zones::containsKey).forEach(h -> zones.put(h, aggregate.zone()));
            }
        }
        zones.forEach(hosts::setZone);
    }

    private static void checkZoneName(String zone) {
        if (zone != null && zone.contains(":")) {
            throw CloudException.badRequest("Invalid input for field/attribute availability_zone. Value: %s. '%s' does not match "
                    + "'^[^:]*$'", zone, zone);
        }
    }

    private static String pythonList(Set<String> values) {
        return values.stream().map(v -> "'" + v + "'").toList().toString();
    }

    private static CloudException notFound(String id) {
        return CloudException.notFound("Aggregate %s could not be found.", id);
    }
}
