package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.agent.AgentApi;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The hosts this controller knows and the agents it can reach. A host is "up" while its agent
 * heartbeats within {@code downAfter} (Nova's service_down_time) and nobody forced it down.
 * The host list is cached because the scheduler reads it on every placement.
 */
public final class HostRegistry {
    private final HostStore store;
    private final Clock clock;
    private final Duration downAfter;
    private final Map<String, AgentApi> agents = new ConcurrentHashMap<>();
    private volatile List<Host> cached;

    public HostRegistry(HostStore store, Clock clock, Duration downAfter) {
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.downAfter = requireNonNull(downAfter, "downAfter is null");
    }

    /** An agent joined (or rejoined): record what it reports and remember how to reach it. */
    public Host register(AgentApi agent, String agentUrl) {
        Host host = store.upsert(agent.describe(), agentUrl, clock.instant());
        agents.put(host.name(), agent);
        refresh();
        return host;
    }

    public Collection<AgentApi> agents() {
        return agents.values();
    }

    /** The agent of a host; 503-style error when it is not connected to this controller. */
    public AgentApi agent(String host) {
        AgentApi agent = agents.get(host);
        if (agent == null) {
            throw new CloudException(ErrorCode.SERVICE_UNAVAILABLE, "Compute host " + host + " is not connected.");
        }
        return agent;
    }

    public Optional<AgentApi> findAgent(String host) {
        return Optional.ofNullable(agents.get(host));
    }

    public void heartbeat(Collection<String> hosts) {
        store.heartbeat(hosts, clock.instant());
        refresh();
    }

    public List<Host> hosts() {
        List<Host> hosts = cached;
        if (hosts == null) {
            hosts = refresh();
        }
        return hosts;
    }

    public Optional<Host> find(String name) {
        return hosts().stream().filter(h -> h.name().equals(name)).findFirst();
    }

    public Optional<Host> findById(int id) {
        return hosts().stream().filter(h -> h.id() == id).findFirst();
    }

    public boolean isUp(Host host) {
        return !host.forcedDown() && host.lastHeartbeat() != null
                && host.lastHeartbeat().plus(downAfter).isAfter(clock.instant());
    }

    public void setEnabled(String host, boolean enabled, String reason) {
        store.setServiceStatus(host, enabled, reason, clock.instant());
        refresh();
    }

    /** The availability zone a host's aggregates put it in. */
    public void setZone(String host, String zone) {
        store.setZone(host, zone, clock.instant());
        refresh();
    }

    public void setForcedDown(String host, boolean forcedDown) {
        store.setForcedDown(host, forcedDown, clock.instant());
        refresh();
    }

    public List<Host> refresh() {
        List<Host> hosts = List.copyOf(store.list());
        cached = hosts;
        return hosts;
    }
}
