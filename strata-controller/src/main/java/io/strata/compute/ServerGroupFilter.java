package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

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
    public Predicate<Host> forRequest(Scheduler.Request request) {
        Placement placement = placement(request);
        if (placement == null) {
            return host -> true;
        }
        return switch (placement.policy()) {
            case AFFINITY -> host -> placement.hosts().isEmpty() || placement.hosts().contains(host.name());
            case ANTI_AFFINITY -> host -> !placement.hosts().contains(host.name());
            case SOFT_AFFINITY, SOFT_ANTI_AFFINITY -> host -> true;
        };
    }

    @Override
    public ToLongFunction<Host> preference(Scheduler.Request request) {
        Placement placement = placement(request);
        if (placement == null) {
            return host -> 0;
        }
        return switch (placement.policy()) {
            case SOFT_AFFINITY -> host -> placement.count(host.name());
            case SOFT_ANTI_AFFINITY -> host -> -placement.count(host.name());
            case AFFINITY, ANTI_AFFINITY -> host -> 0;
        };
    }

    @Override
    public void selected(Scheduler.Request request, Host host) {
        if (request.serverId() != null && groups.groupOf(request.serverId()).isPresent()) {
            chosen.put(request.serverId(), host.name());
        }
    }

    /** Where the other members of the request's group are, or null when it has no group. */
    private Placement placement(Scheduler.Request request) {
        if (request.serverId() == null) {
            return null;
        }
        Optional<ServerGroup> group = groups.groupOf(request.serverId());
        if (group.isEmpty()) {
            return null;
        }
        Map<String, String> members = groups.memberHosts(group.get().id());
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
        return new Placement(group.get().policy(), hosts, counts);
    }

    private record Placement(ServerGroup.Policy policy, Set<String> hosts, Map<String, Long> counts) {
        long count(String host) {
            return counts.getOrDefault(host, 0L);
        }
    }
}
