package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Nova's ServerGroupAffinityFilter and ServerGroupAntiAffinityFilter, and the soft policies'
 * weighers: a member goes where the other members are (affinity) or where none is
 * (anti-affinity); the soft forms only prefer. Members chosen but not yet recorded on their
 * server row are remembered here, so members scheduled back to back see each other.
 */
public final class ServerGroupFilter implements HostFilter {
    private final ServerGroupStore groups;
    private final Map<String, String> chosen = new ConcurrentHashMap<>();

    public ServerGroupFilter(ServerGroupStore groups) {
        this.groups = requireNonNull(groups, "groups is null");
    }

    @Override
    public Choice forRequest(Scheduler.Request request) {
        Optional<ServerGroup> group = groupOf(request);
        if (group.isEmpty()) {
            return Choice.ANY;
        }
        Placement placement = placement(request, group.get());
        String serverId = request.serverId();
        return new Choice() {
            @Override
            public boolean accepts(Host host) {
                return switch (placement.policy()) {
                    case AFFINITY -> placement.hosts().isEmpty() || placement.hosts().contains(host.name());
                    case ANTI_AFFINITY -> !placement.hosts().contains(host.name());
                    case SOFT_AFFINITY, SOFT_ANTI_AFFINITY -> true;
                };
            }

            @Override
            public long preference(Host host) {
                return switch (placement.policy()) {
                    case SOFT_AFFINITY -> placement.count(host.name());
                    case SOFT_ANTI_AFFINITY -> -placement.count(host.name());
                    case AFFINITY, ANTI_AFFINITY -> 0;
                };
            }

            @Override
            public void selected(Host host) {
                chosen.put(serverId, host.name());
            }
        };
    }

    /** A member forced onto a host is remembered there all the same, for the members after it. */
    @Override
    public Choice forForcedHost(Scheduler.Request request) {
        if (groupOf(request).isEmpty()) {
            return Choice.ANY;
        }
        String serverId = request.serverId();
        return new Choice() {
            @Override
            public boolean accepts(Host host) {
                return true;
            }

            @Override
            public void selected(Host host) {
                chosen.put(serverId, host.name());
            }
        };
    }

    private Optional<ServerGroup> groupOf(Scheduler.Request request) {
        return request.serverId() == null ? Optional.empty() : groups.groupOf(request.serverId());
    }

    /** Where the other members of the request's group are. */
    private Placement placement(Scheduler.Request request, ServerGroup group) {
        Map<String, String> members = groups.memberHosts(group.id());
        Map<String, Long> counts = new java.util.HashMap<>();
        Set<String> hosts = new HashSet<>();
        members.forEach((server, host) -> {
            if (server.equals(request.serverId())) {
                return;
            }
            String where = host != null ? host : chosen.get(server);
            if (host != null) {
                chosen.remove(server);
            }
            if (where != null) {
                hosts.add(where);
                counts.merge(where, 1L, Long::sum);
            }
        });
        return new Placement(group.policy(), hosts, counts);
    }

    private record Placement(ServerGroup.Policy policy, Set<String> hosts, Map<String, Long> counts) {
        long count(String host) {
            return counts.getOrDefault(host, 0L);
        }
    }
}
