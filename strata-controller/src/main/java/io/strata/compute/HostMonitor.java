package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the hosts' heartbeats on the leader: a host silent for longer than the registry's
 * {@code downAfter} is down (os-services and os-hypervisors show it), and its servers get a
 * fault and, if the policy allows, are rebuilt on other hosts. A new leader first waits one
 * {@code downAfter} so that every live agent has had time to beat since it took over. When the
 * host comes back, its registration reconciles it: the VMs of evacuated servers are removed.
 */
public final class HostMonitor {
    private static final Logger log = LoggerFactory.getLogger(HostMonitor.class);

    /** Whether the servers of a dead host are rebuilt elsewhere. */
    @FunctionalInterface
    public interface EvacuationPolicy {
        boolean evacuate(Host host, Server server);
    }

    private final HostRegistry hosts;
    private final ServerStore servers;
    private final ComputeManager manager;
    private final EvacuationPolicy policy;
    private final BooleanSupplier leading;
    private final Clock clock;
    private final Set<String> down = new HashSet<>();
    /** Per down host, the servers already sent away once while it is down (one whose disk was not shared comes back to it). */
    private final java.util.Map<String, Set<String>> evacuated = new java.util.HashMap<>();
    private Instant leaderSince;

    public HostMonitor(HostRegistry hosts, ServerStore servers, ComputeManager manager, EvacuationPolicy policy, BooleanSupplier leading,
            Clock clock) {
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.manager = requireNonNull(manager, "manager is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.leading = requireNonNull(leading, "leading is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** One round; run every heartbeat interval on every controller (only the leader acts). */
    public synchronized void check() {
        hosts.refresh();    // heartbeats land on whichever controller an agent reached
        if (!leading.getAsBoolean()) {
            leaderSince = null;
            down.clear();
            evacuated.clear();
            return;
        }
        Instant now = clock.instant();
        if (leaderSince == null) {
            leaderSince = now;
            log.info("leading: hosts are judged after a grace period of {} s", hosts.downAfter().toSeconds());
        }
        if (now.isBefore(leaderSince.plus(hosts.downAfter()))) {
            return;
        }
        for (Host host : hosts.hosts()) {
            if (host.forcedDown()) {
                continue;   // an operator's decision: they evacuate (Nova's force-down), we do not second-guess
            }
            if (hosts.isUp(host)) {
                if (down.remove(host.name())) {
                    log.info("host {} is up again", host.name());
                }
                evacuated.remove(host.name());
                continue;
            }
            if (down.add(host.name())) {
                log.warn("host {} is down: no heartbeat since {}", host.name(), host.lastHeartbeat());
            }
            handleDown(host);
        }
    }

    private void handleDown(Host host) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        for (Server server : servers.onHost(host.name())) {
            if (server.taskState() != null || server.vmState() == VmState.BLESSED || server.vmState() == VmState.BUILDING) {
                continue;   // in flight: its operation fails or is taken over on its own
            }
            boolean evacuate = policy.evacuate(host, server)
                    && !evacuated.getOrDefault(host.name(), Set.of()).contains(server.id());
            if (server.vmState() != VmState.ERROR) {
                servers.fail(server.id(), new Fault(500, "Compute host " + host.name() + " is down (no heartbeat for "
                        + Duration.between(host.lastHeartbeat() == null ? now : host.lastHeartbeat(), now).toSeconds() + " s).",
                        evacuate ? "The server is being rebuilt on another host." : null, now),
                        io.strata.compute.PowerState.NOSTATE, now);
            }
            if (evacuate && servers.beginEvacuate(server.id(), host.name(), now)) {
                evacuated.computeIfAbsent(host.name(), name -> new HashSet<>()).add(server.id());
                log.warn("server {}: evacuating from dead host {}", server.id(), host.name());
                manager.evacuate(servers.find(server.id()).orElseThrow(), host.name(), null, null);
            }
        }
    }
}
