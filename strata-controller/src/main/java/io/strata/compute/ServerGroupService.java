package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import java.time.Clock;
import java.util.List;
import java.util.UUID;

/** Server groups: create and delete within quota, membership at server create, visibility by project. */
public final class ServerGroupService {
    private final ServerGroupStore store;
    private final QuotaService quotas;
    private final Clock clock;

    public ServerGroupService(ServerGroupStore store, QuotaService quotas, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public ServerGroup create(AuthContext auth, String name, ServerGroup.Policy policy) {
        long limit = quotas.limits(auth.projectId()).get(QuotaResource.SERVER_GROUPS);
        ServerGroup group = new ServerGroup(UUID.randomUUID().toString(), name, auth.projectId(), auth.userId(), policy, List.of(),
                clock.instant());
        if (limit < 0) {
            store.insert(group);
            return group;
        }
        // Counted and inserted under the project's quota lock: concurrent creates cannot pass the limit together.
        quotas.underProjectLock(auth.projectId(), h -> {
            if (ServerGroupStore.count(h, auth.projectId()) >= limit) {
                throw CloudException.forbidden("Quota exceeded, too many server groups.");
            }
            ServerGroupStore.insert(h, group);
            return null;
        });
        return group;
    }

    /** The group if the caller may see it (its project's, or any for admins); 404 otherwise, as Nova. */
    public ServerGroup get(AuthContext auth, String id) {
        return store.find(id).filter(g -> auth.isAdmin() || g.projectId().equals(auth.projectId()))
                .orElseThrow(() -> CloudException.notFound("Instance group %s could not be found.", id));
    }

    public List<ServerGroup> list(AuthContext auth, boolean allProjects) {
        return store.list(allProjects ? null : auth.projectId());
    }

    public void delete(AuthContext auth, String id) {
        store.delete(get(auth, id).id());
    }

    /**
     * Checks a create's scheduler hint {@code group} before the servers exist: the group must be
     * visible to the caller and have room for {@code count} more members. The room is checked
     * again, binding, where the servers are inserted and join the group under the quota lock
     * ({@link QuotaService#insertWithinQuota(List, int, ServerGroup, java.util.function.BiConsumer)}):
     * this early answer only spares a create that cannot fit the rest of its work.
     */
    public ServerGroup checkJoin(AuthContext auth, String groupId, int count) {
        ServerGroup group;
        try {
            group = get(auth, groupId);
        } catch (CloudException e) {
            throw CloudException.badRequest("Instance group %s could not be found.", groupId);
        }
        long limit = quotas.limits(group.projectId()).get(QuotaResource.SERVER_GROUP_MEMBERS);
        if (limit >= 0 && group.members().size() + count > limit) {
            throw CloudException.forbidden("Quota exceeded, too many servers in group");
        }
        return group;
    }

    public long countGroups(String projectId) {
        return store.count(projectId);
    }
}
