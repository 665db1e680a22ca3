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
    /** Handles on agents of other hosts, made from the URL their host row carries. */
    private final Map<String, AgentApi> remotes = new ConcurrentHashMap<>();
    private final RemoteAgents remoteAgents;
    private volatile List<Host> cached;

    /** Makes the handle on an agent that registered from another host (see io.strata.agent.remote.RemoteAgent). */
    @FunctionalInterface
    public interface RemoteAgents {
        AgentApi connect(String host, String agentUrl);
    }

    public HostRegistry(HostStore store, Clock clock, Duration downAfter) {
        this(store, clock, downAfter, null);
    }

    /**
     * @param remoteAgents how to reach agents that registered over HTTP (with any controller: the
     *        host row is shared), or null when only this process's own agents exist
     */
    public HostRegistry(HostStore store, Clock clock, Duration downAfter, RemoteAgents remoteAgents) {
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.downAfter = requireNonNull(downAfter, "downAfter is null");
        this.remoteAgents = remoteAgents;
    }

    /** An agent on another host joined (or rejoined) through any controller. */
    public Host registerRemote(io.strata.hypervisor.HostInfo info, String agentUrl) {
        requireNonNull(agentUrl, "agentUrl is null");
        Host host = store.upsert(info, agentUrl, clock.instant());
        remotes.remove(host.name());
        refresh();
        return host;
    }

    public Duration downAfter() {
        return downAfter;
    }

    /** An agent joined (or rejoined): record what it reports and remember how to reach it. */
    public Host register(AgentApi agent, String agentUrl) {
        Host host = store.upsert(agent.describe(), agentUrl, clock.instant());
        agents.put(host.name(), agent);
        refresh();
        return host;
    }

    /** Every agent this controller can reach: its own and those of registered remote hosts. */
    public Collection<AgentApi> agents() {
        if (remoteAgents == null) {
            return agents.values();
        }
        List<AgentApi> all = new java.util.ArrayList<>(agents.values());
        for (Host host : hosts()) {
            if (!agents.containsKey(host.name())) {
                remote(host.name()).ifPresent(all::add);
            }
        }
        return all;
    }

    private Optional<AgentApi> remote(String name) {
        if (remoteAgents == null) {
            return Optional.empty();
        }
        Optional<Host> host = find(name);
        if (host.isEmpty() || host.get().agentUrl() == null) {
            host = store.find(name);     // registered through another controller since the last refresh
        }
        if (host.isEmpty() || host.get().agentUrl() == null) {
            return Optional.empty();
        }
        String url = host.get().agentUrl();
        AgentApi agent = remotes.compute(name, (n, known) -> known != null && url.equals(urlOf(known)) ? known
                : remoteAgents.connect(n, url));
        return Optional.of(agent);
    }

    private static String urlOf(AgentApi agent) {
        return agent instanceof io.strata.agent.remote.RemoteAgent remote ? remote.agentUrl() : null;
    }

    /** The agent of a host; 503-style error when it is not connected to this controller. */
    public AgentApi agent(String host) {
        AgentApi agent = agents.get(host);
        if (agent == null) {
            agent = remote(host).orElse(null);
        }
        if (agent == null) {
            throw new CloudException(ErrorCode.SERVICE_UNAVAILABLE, "Compute host " + host + " is not connected.");
        }
        return agent;
    }

    public Optional<AgentApi> findAgent(String host) {
        AgentApi agent = agents.get(host);
        return agent != null ? Optional.of(agent) : remote(host);
    }

    public void heartbeat(Collection<String> hosts) {
        store.heartbeat(hosts, clock.instant());
        refresh();
    }

    /** A remote agent's heartbeat; false when its host is not registered (it should register again). */
    public boolean heartbeat(String host) {
        boolean known = store.heartbeat(host, clock.instant());
        refresh();
        return known;
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
