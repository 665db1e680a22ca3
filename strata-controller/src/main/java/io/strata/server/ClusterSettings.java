package io.strata.server;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Locale;

/**
 * How a controller works with the rest of a distributed cloud.
 *
 * @param zookeeper          ZooKeeper connect string; null for the all-in-one (in-process coordination)
 * @param zookeeperSessionTimeout how long ZooKeeper keeps a silent controller's session (and its leadership)
 * @param heartbeatInterval  how often agents heartbeat (and how often the leader checks hosts)
 * @param missedHeartbeats   after how many missed heartbeats a host is down
 * @param evacuate           what happens to the servers of a host that went down
 * @param agentToken         shared secret of agents and controllers; null reads or creates {@code <data dir>/agent-token}
 * @param snoozeBootstrapPort extra port serving only the Snooze bootstrap API (0: none)
 * @param snoozeGroupManagerPort extra port serving only the Snooze group manager API (0: none)
 */
public record ClusterSettings(
        String zookeeper,
        Duration zookeeperSessionTimeout,
        Duration heartbeatInterval,
        int missedHeartbeats,
        Evacuate evacuate,
        String agentToken,
        int snoozeBootstrapPort,
        int snoozeGroupManagerPort) {
    /** Nova's service_down_time of the all-in-one: its own agents beat every 10 s. */
    public static final ClusterSettings ALL_IN_ONE = new ClusterSettings(null, Duration.ofSeconds(10), Duration.ofSeconds(10), 6,
            Evacuate.NEVER, null, 0, 0);

    /** Defaults of {@code strata controller}: Snooze's 3 s heartbeats and 10 s ZooKeeper sessions. */
    public static ClusterSettings distributed(String zookeeper) {
        return new ClusterSettings(zookeeper, Duration.ofSeconds(10), Duration.ofSeconds(3), 3, Evacuate.AUTO, null, 0, 0);
    }

    /** Evacuation of a dead host's servers: auto = when they can be rebuilt without their host (fake driver, live-image clones, servers whose disk is on instance storage another live host shares). */
    public enum Evacuate {
        AUTO, ALWAYS, NEVER;

        public static Evacuate parse(String text) {
            try {
                return valueOf(requireNonNull(text, "evacuate is null").toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("evacuate must be auto, always or never, not " + text);
            }
        }
    }

    public ClusterSettings {
        requireNonNull(zookeeperSessionTimeout, "zookeeperSessionTimeout is null");
        requireNonNull(heartbeatInterval, "heartbeatInterval is null");
        requireNonNull(evacuate, "evacuate is null");
        if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
            throw new IllegalArgumentException("heartbeat interval must be positive");
        }
        if (zookeeperSessionTimeout.toMillis() < 1_000) {
            throw new IllegalArgumentException("ZooKeeper session timeout must be at least 1 s");
        }
        if (missedHeartbeats < 1) {
            throw new IllegalArgumentException("missed heartbeats must be at least 1");
        }
        if (snoozeBootstrapPort < 0 || snoozeBootstrapPort > 65535 || snoozeGroupManagerPort < 0 || snoozeGroupManagerPort > 65535) {
            throw new IllegalArgumentException("Snooze ports must be within 0..65535");
        }
        if (zookeeper != null && zookeeper.isBlank()) {
            throw new IllegalArgumentException("ZooKeeper address is empty");
        }
    }

    /** How long a host may stay silent before it counts as down. */
    public Duration downAfter() {
        return heartbeatInterval.multipliedBy(missedHeartbeats);
    }

    public ClusterSettings withHeartbeat(Duration interval, int missed) {
        return new ClusterSettings(zookeeper, zookeeperSessionTimeout, interval, missed, evacuate, agentToken, snoozeBootstrapPort,
                snoozeGroupManagerPort);
    }

    public ClusterSettings withZookeeperSessionTimeout(Duration timeout) {
        return new ClusterSettings(zookeeper, timeout, heartbeatInterval, missedHeartbeats, evacuate, agentToken, snoozeBootstrapPort,
                snoozeGroupManagerPort);
    }

    public ClusterSettings withEvacuate(Evacuate policy) {
        return new ClusterSettings(zookeeper, zookeeperSessionTimeout, heartbeatInterval, missedHeartbeats, policy, agentToken,
                snoozeBootstrapPort, snoozeGroupManagerPort);
    }

    public ClusterSettings withAgentToken(String token) {
        return new ClusterSettings(zookeeper, zookeeperSessionTimeout, heartbeatInterval, missedHeartbeats, evacuate, token,
                snoozeBootstrapPort, snoozeGroupManagerPort);
    }

    public ClusterSettings withSnoozePorts(int bootstrap, int groupManager) {
        return new ClusterSettings(zookeeper, zookeeperSessionTimeout, heartbeatInterval, missedHeartbeats, evacuate, agentToken, bootstrap,
                groupManager);
    }
}
