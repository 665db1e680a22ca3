package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Nova's filter scheduler in small: filter the hosts (service enabled and up, availability zone,
 * forced host, room for the flavor within the allocation ratios), then weigh them by free RAM
 * so that servers spread. A choice is claimed at once against an in-memory view of usage, so
 * concurrent requests cannot both take the last room on a host.
 */
public final class Scheduler {
    /** Nova's NoValidHost message, which clients and operators grep for. */
    public static final String NO_VALID_HOST = "No valid host was found. There are not enough hosts available.";

    private final HostRegistry hosts;
    private final ServerStore servers;
    private final SchedulerSettings settings;
    /** Decisions by outcome; looked up once (a registry look-up per decision showed in burst profiles). */
    private final io.micrometer.core.instrument.Counter selected;
    private final io.micrometer.core.instrument.Counter noValidHost;
    private final Map<String, Usage> usage = new HashMap<>();

    /** What servers on a host use, as the scheduler counts it. */
    private record Usage(long vcpus, long ramMb, long diskGb, long instances) {
        Usage plus(Flavor f, int sign) {
            return new Usage(vcpus + sign * (long) f.vcpus(), ramMb + sign * (long) f.ramMb(),
                    diskGb + sign * (long) (f.diskGb() + f.ephemeralGb()), instances + sign);
        }
    }

    /**
     * What to place and where it may go; {@code projectId} and {@code serverId} (null when not
     * known) let filters apply tenant isolation and server-group policies.
     */
    public record Request(Flavor flavor, String zone, String forcedHost, Set<String> excludedHosts, String projectId, String serverId) {
        public Request(Flavor flavor, String zone, String forcedHost, Set<String> excludedHosts) {
            this(flavor, zone, forcedHost, excludedHosts, null, null);
        }
    }

    private final List<HostFilter> filters;

    public Scheduler(HostRegistry hosts, ServerStore servers, SchedulerSettings settings, MeterRegistry metrics) {
        this(hosts, servers, settings, metrics, List.of());
    }

    public Scheduler(HostRegistry hosts, ServerStore servers, SchedulerSettings settings, MeterRegistry metrics, List<HostFilter> filters) {
        this.filters = List.copyOf(filters);
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.settings = requireNonNull(settings, "settings is null");
        requireNonNull(metrics, "metrics is null");
        this.selected = metrics.counter("strata.scheduler.decisions", "outcome", "selected");
        this.noValidHost = metrics.counter("strata.scheduler.decisions", "outcome", "no_valid_host");
        resync();
    }

    /** Reloads usage from the store (at start and after recovery). */
    public synchronized void resync() {
        usage.clear();
        servers.usageByHost().forEach((host, u) -> usage.put(host, new Usage(u.vcpus(), u.ramMb(), u.diskGb(), u.servers())));
    }

    /** Picks a host and claims the flavor's resources on it; NoValidHost as a CloudException otherwise. */
    public synchronized Host select(Request request) {
        List<Host> chosen = selectAll(request, 1);
        if (chosen.isEmpty()) {
            throw new CloudException(ErrorCode.CONFLICT, NO_VALID_HOST);
        }
        return chosen.get(0);
    }

    /**
     * Picks hosts for {@code count} like servers of one request in one pass, as Nova's
     * select_destinations does for a request's instances: the filters prepare once (one read of
     * what they need instead of one per server) and each choice is claimed before the next is
     * made. Answers the hosts chosen in order, fewer than {@code count} when room ran out (the
     * rest fail as {@link #select} would). Not for servers of a server group: its policy needs
     * each member's choice made against the others' (use {@link #select} per server).
     */
    public synchronized List<Host> selectAll(Request request, int count) {
        // A forced host bypasses the filters, so their per-request look-ups (server groups, aggregates) are not made.
        List<HostFilter.Choice> choices = filters.stream()
                .map(f -> request.forcedHost() != null ? f.forForcedHost(request) : f.forRequest(request))
                .toList();
        List<Host> eligible = hosts.hosts().stream()
                .filter(h -> !request.excludedHosts().contains(h.name()))
                .filter(h -> request.forcedHost() == null || h.name().equals(request.forcedHost()))
                // A forced host skips the enabled check, as Nova's forced host bypasses filters.
                .filter(h -> request.forcedHost() != null || h.serviceEnabled())
                .filter(hosts::isUp)
                .filter(h -> request.zone() == null || h.zone().equals(request.zone()))
                // A forced host bypasses the filters too.
                .filter(h -> request.forcedHost() != null || choices.stream().allMatch(c -> c.accepts(h)))
                .toList();
        List<Host> chosen = new java.util.ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            List<Host> candidates = eligible.stream().filter(h -> fits(h, request.flavor())).toList();
            if (candidates.isEmpty()) {
                noValidHost.increment();
                break;
            }
            List<HostFilter.Choice> preferences = candidates.size() == 1 ? List.of() : choices;
            Host host = candidates.stream()
                    .max(Comparator.comparingLong((Host h) -> preferences.stream().mapToLong(p -> p.preference(h)).sum())
                            .thenComparingLong(h -> freeRamMb(h)).thenComparingLong(h -> -usageOf(h).instances()))
                    .orElseThrow();
            usage.put(host.name(), usageOf(host).plus(request.flavor(), 1));
            choices.forEach(choice -> choice.selected(host));
            selected.increment();
            chosen.add(host);
        }
        return chosen;
    }

    /** Gives back what a server held on a host (deleted, failed to spawn). */
    public synchronized void release(String host, Flavor flavor) {
        if (host == null) {
            return;
        }
        Usage current = usage.get(host);
        if (current != null) {
            usage.put(host, current.plus(flavor, -1));
        }
    }

    /** Claims resources for a server placed without the scheduler (recovery, forced moves). */
    public synchronized void claim(String host, Flavor flavor) {
        usage.put(host, usage.getOrDefault(host, new Usage(0, 0, 0, 0)).plus(flavor, 1));
    }

    /** A host's vcpus, RAM (MB) and disk (GB) after the allocation ratios: what {@link #select} fills up to. */
    public double[] capacityOf(Host host) {
        return new double[] {host.vcpus() * settings.cpuAllocationRatio(), host.memoryMb() * settings.ramAllocationRatio(),
                host.localGb() * settings.diskAllocationRatio()};
    }

    /** Replaces what this scheduler believes a host uses with what the store says (another controller placed there). */
    public synchronized void refresh(ServerStore.HostUsage actual) {
        usage.put(actual.host(), new Usage(actual.vcpus(), actual.ramMb(), actual.diskGb(), actual.servers()));
    }

    public synchronized long instancesOn(String host) {
        return usage.getOrDefault(host, new Usage(0, 0, 0, 0)).instances();
    }

    public synchronized long[] usedOn(String host) {
        Usage u = usage.getOrDefault(host, new Usage(0, 0, 0, 0));
        return new long[] {u.vcpus(), u.ramMb(), u.diskGb(), u.instances()};
    }

    private boolean fits(Host host, Flavor flavor) {
        Usage u = usageOf(host);
        return u.vcpus() + flavor.vcpus() <= host.vcpus() * settings.cpuAllocationRatio()
                && u.ramMb() + flavor.ramMb() <= host.memoryMb() * settings.ramAllocationRatio()
                && u.diskGb() + flavor.diskGb() + flavor.ephemeralGb() <= host.localGb() * settings.diskAllocationRatio();
    }

    private long freeRamMb(Host host) {
        return (long) (host.memoryMb() * settings.ramAllocationRatio()) - usageOf(host).ramMb();
    }

    private Usage usageOf(Host host) {
        return usage.getOrDefault(host.name(), new Usage(0, 0, 0, 0));
    }
}
