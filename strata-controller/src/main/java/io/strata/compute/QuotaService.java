package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Nova's compute quotas: limits per project (configured defaults unless an admin set the
 * project's own), usage counted from the servers themselves, and the check at create that holds
 * the project's lock from counting to inserting, so that concurrent creates cannot overshoot.
 */
public final class QuotaService {
    private final QuotaStore store;
    private final ServerStore servers;
    private final ServerGroupStore serverGroups;
    private final SecurityGroupStore securityGroups;
    private final QuotaDefaults defaults;

    public QuotaService(QuotaStore store, ServerStore servers, ServerGroupStore serverGroups, SecurityGroupStore securityGroups,
            QuotaDefaults defaults) {
        this.store = requireNonNull(store, "store is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.serverGroups = requireNonNull(serverGroups, "serverGroups is null");
        this.securityGroups = requireNonNull(securityGroups, "securityGroups is null");
        this.defaults = requireNonNull(defaults, "defaults is null");
    }

    public QuotaDefaults defaults() {
        return defaults;
    }

    /** The project's effective limits: its own where set, the defaults elsewhere. */
    public Map<QuotaResource, Long> limits(String projectId) {
        return merge(store.limits(projectId));
    }

    /** What the project uses of each resource (zero for what Strata does not count). */
    public Map<QuotaResource, Long> usage(String projectId) {
        long[] used = servers.projectUsage(projectId);
        Map<QuotaResource, Long> usage = new EnumMap<>(QuotaResource.class);
        for (QuotaResource resource : QuotaResource.values()) {
            usage.put(resource, 0L);
        }
        usage.put(QuotaResource.INSTANCES, used[0]);
        usage.put(QuotaResource.CORES, used[1]);
        usage.put(QuotaResource.RAM, used[2]);
        usage.put(QuotaResource.SERVER_GROUPS, (long) serverGroups.count(projectId));
        usage.put(QuotaResource.SECURITY_GROUPS, (long) securityGroups.count(projectId));
        return usage;
    }

    /** Sets limits; unless {@code force}, a limit below current usage is refused as Nova refuses it. */
    public void update(String projectId, Map<QuotaResource, Long> changes, boolean force) {
        if (!force) {
            Map<QuotaResource, Long> usage = usage(projectId);
            for (Map.Entry<QuotaResource, Long> change : changes.entrySet()) {
                long used = usage.get(change.getKey());
                if (change.getValue() >= 0 && change.getValue() < used) {
                    throw CloudException.badRequest("Quota limit %d for %s must be greater than or equal to already used and reserved %d.",
                            change.getValue(), change.getKey().wireName(), used);
                }
            }
        }
        store.setLimits(projectId, changes);
    }

    /** Back to the defaults (DELETE os-quota-sets/{project}). */
    public void reset(String projectId) {
        store.deleteLimits(projectId);
    }

    /** 403 as Nova's when a server would carry more metadata items than the project may. */
    public void checkMetadataItems(String projectId, int items) {
        if (items == 0) {
            // No limit refuses none (unlimited is -1): spare the read on every create without metadata.
            return;
        }
        long limit = limits(projectId).get(QuotaResource.METADATA_ITEMS);
        if (limit >= 0 && items > limit) {
            throw CloudException.forbidden("Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", items,
                    limit);
        }
    }

    /**
     * Inserts as many of {@code candidates} (all of one project and flavor) as the project's
     * instances, cores and RAM quotas allow, at least {@code minCount}, and returns those
     * inserted. Nova does the same with min_count/max_count: it builds fewer rather than fail.
     */
    public List<Server> insertWithinQuota(List<Server> candidates, int minCount) {
        return insertWithinQuota(candidates, minCount, (h, inserted) -> {});
    }

    /** As above, and {@code alsoInserting} writes what belongs with the inserted servers (their security groups) in the same transaction. */
    public List<Server> insertWithinQuota(List<Server> candidates, int minCount,
            java.util.function.BiConsumer<org.jdbi.v3.core.Handle, List<Server>> alsoInserting) {
        return insertWithinQuota(candidates, minCount, null, alsoInserting);
    }

    /**
     * As above, and the inserted servers join {@code group} (none when null) in the same
     * transaction, counted against the group's project's {@code server_group_members} quota under
     * that project's lock as well: all of them fit or none is inserted (Nova checks each server it
     * builds and fails the request at the first that does not fit).
     */
    public List<Server> insertWithinQuota(List<Server> candidates, int minCount, ServerGroup group,
            java.util.function.BiConsumer<org.jdbi.v3.core.Handle, List<Server>> alsoInserting) {
        if (candidates.isEmpty()) {
            return candidates;
        }
        Server first = candidates.get(0);
        String projectId = first.projectId();
        Map<QuotaResource, Long> perServer = Map.of(QuotaResource.INSTANCES, 1L, QuotaResource.CORES, (long) first.flavor().vcpus(),
                QuotaResource.RAM, (long) first.flavor().ramMb());
        boolean groupCounted = group != null && limits(group.projectId()).get(QuotaResource.SERVER_GROUP_MEMBERS) >= 0;
        if (countsNothing(merge(store.limits(projectId))) && !groupCounted) {
            // Nothing to count against (Strata's default): counting the project's servers would
            // make every create read all of them, and the project's lock would make its creates
            // wait for each other's commits. A create that read "unlimited" just before an admin
            // set a limit is ordered before that change, as if it had come a moment earlier.
            // Nothing to check either, so concurrent creates share one commit.
            servers.insertAllShared(candidates, h -> {
                joinGroup(h, group, candidates);
                alsoInserting.accept(h, candidates);
            });
            return List.copyOf(candidates);
        }
        Set<String> locked = group == null || group.projectId().equals(projectId) ? Set.of(projectId)
                : Set.of(projectId, group.projectId());
        return store.underProjectLocks(locked, h -> {
            Map<QuotaResource, Long> limits = merge(QuotaStore.limits(h, projectId));
            if (countsNothing(limits)) {
                checkGroupRoom(h, group, candidates.size());
                servers.insertAll(h, candidates);
                joinGroup(h, group, candidates);
                alsoInserting.accept(h, candidates);
                return List.copyOf(candidates);
            }
            long[] counted = servers.projectUsage(h, projectId);
            Map<QuotaResource, Long> used = Map.of(QuotaResource.INSTANCES, counted[0], QuotaResource.CORES, counted[1], QuotaResource.RAM,
                    counted[2]);
            long fits = candidates.size();
            List<QuotaResource> overs = new ArrayList<>();
            for (QuotaResource resource : List.of(QuotaResource.CORES, QuotaResource.INSTANCES, QuotaResource.RAM)) {
                long limit = limits.get(resource);
                long each = perServer.get(resource);
                if (limit < 0 || each == 0) {
                    continue;
                }
                long room = Math.max(0, (limit - used.get(resource)) / each);
                fits = Math.min(fits, room);
                if (room < minCount) {
                    overs.add(resource);
                }
            }
            if (!overs.isEmpty()) {
                QuotaResource resource = overs.get(0);
                String names = String.join(", ", overs.stream().map(QuotaResource::wireName).toList());
                throw CloudException.forbidden("Quota exceeded for %s: Requested %d, but already used %d of %d %s", names,
                        perServer.get(resource) * minCount, used.get(resource), limits.get(resource), names);
            }
            List<Server> inserted = candidates.subList(0, (int) fits);
            checkGroupRoom(h, group, inserted.size());
            servers.insertAll(h, inserted);
            joinGroup(h, group, inserted);
            alsoInserting.accept(h, inserted);
            return List.copyOf(inserted);
        });
    }

    /** 403 as Nova's when {@code joining} more members do not fit the group's quota; read under its project's lock. */
    private void checkGroupRoom(org.jdbi.v3.core.Handle h, ServerGroup group, int joining) {
        if (group == null) {
            return;
        }
        long limit = merge(QuotaStore.limits(h, group.projectId())).get(QuotaResource.SERVER_GROUP_MEMBERS);
        if (limit >= 0 && ServerGroupStore.countMembers(h, group.id()) + joining > limit) {
            throw CloudException.forbidden("Quota exceeded, too many servers in group");
        }
    }

    /** Members before building: the scheduler reads the group of each server it places. */
    private static void joinGroup(org.jdbi.v3.core.Handle h, ServerGroup group, List<Server> inserted) {
        if (group != null) {
            ServerGroupStore.addMembers(h, group.id(), inserted.stream().map(Server::id).toList());
        }
    }

    /** Runs count-then-insert work of a per-project quota (server groups) under the project's quota lock. */
    public <T> T underProjectLock(String projectId, java.util.function.Function<org.jdbi.v3.core.Handle, T> work) {
        return store.underProjectLock(projectId, work);
    }

    private static boolean countsNothing(Map<QuotaResource, Long> limits) {
        return limits.get(QuotaResource.INSTANCES) < 0 && limits.get(QuotaResource.CORES) < 0 && limits.get(QuotaResource.RAM) < 0;
    }

    private Map<QuotaResource, Long> merge(Map<QuotaResource, Long> own) {
        Map<QuotaResource, Long> limits = new EnumMap<>(defaults.limits());
        limits.putAll(own);
        return limits;
    }
}
