package io.strata.compute;

import java.time.Instant;
import java.util.Set;

/**
 * Filters and paging of a server list. Null means "not filtered". {@code nameRegex} is a regular
 * expression searched in the name, as Nova's name filter is. {@code reservationId} selects the
 * servers of one multiple create (Nova's reservation_id filter).
 */
public record ServerQuery(
        String projectId,
        String nameRegex,
        Set<VmState> vmStates,
        String host,
        String flavorId,
        String imageId,
        String ipRegex,
        Instant changesSince,
        boolean includeDeleted,
        Set<String> ids,
        String sortKey,
        boolean sortAscending,
        String markerId,
        int limit,
        String reservationId) {
    public static ServerQuery ofProject(String projectId) {
        return new ServerQuery(projectId, null, null, null, null, null, null, null, false, null, "created_at", false, null, 1000, null);
    }
}
