package io.strata.hierarchy;

import io.strata.hierarchy.policy.Thresholds;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

/**
 * How the in-process hierarchy runs: group size, policies, thresholds and intervals. Read from
 * {@code <data dir>/hierarchy.properties} when present (keys as the record's components, e.g.
 * {@code placement=BestFit}, {@code thresholds.cpu=0.2,0.9,1.0}); Snooze's defaults otherwise,
 * with relocation, consolidation and energy saving off (they move and power off what Compute
 * users run, so an operator turns them on). With {@code zookeeper=host:2181} the controller is
 * one group manager of a distributed hierarchy: it competes for leadership through ZooKeeper,
 * runs the periodic rounds (relocation, consolidation, energy) for its own local controllers,
 * and, while it leads, dispatches submissions and finishes those a dead leader left.
 */
public record HierarchySettings(
        int hostsPerGroupManager,
        String dispatching,
        String placement,
        Thresholds thresholds,
        Duration monitoringInterval,
        boolean relocation,
        Duration consolidationInterval,
        int maxMigrationsPerRound,
        boolean energySaver,
        String wakeupDriver,
        Duration idleThreshold,
        int reservedNodes,
        String zookeeper,
        Duration zookeeperSessionTimeout) {
    public static final HierarchySettings DEFAULT = new HierarchySettings(100, "RoundRobin", "FirstFit", Thresholds.DEFAULT,
            Duration.ofSeconds(3), false, Duration.ZERO, 50, false, "test", Duration.ofSeconds(120), 1, null, Duration.ofSeconds(10));

    public static final String FILE = "hierarchy.properties";

    public static HierarchySettings load(Path dataDir) {
        Path file = dataDir.resolve(FILE);
        if (!Files.exists(file)) {
            return DEFAULT;
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return from(p, file.toString());
    }

    static HierarchySettings from(Properties p, String where) {
        HierarchySettings d = DEFAULT;
        try {
            Thresholds t = d.thresholds;
            double[] cpu = triple(p.getProperty("thresholds.cpu"), t.min().cpu(), t.mid().cpu(), t.max().cpu());
            double[] mem = triple(p.getProperty("thresholds.memory"), t.min().memoryKb(), t.mid().memoryKb(), t.max().memoryKb());
            double[] net = triple(p.getProperty("thresholds.network"), t.min().rxKb(), t.mid().rxKb(), t.max().rxKb());
            Thresholds thresholds = new Thresholds(new Capacity(cpu[0], mem[0], net[0], net[0]), new Capacity(cpu[1], mem[1], net[1], net[1]),
                    new Capacity(cpu[2], mem[2], net[2], net[2]));
            HierarchySettings s = new HierarchySettings(
                    Integer.parseInt(p.getProperty("hostsPerGroupManager", "" + d.hostsPerGroupManager)),
                    p.getProperty("dispatching", d.dispatching),
                    p.getProperty("placement", d.placement),
                    thresholds,
                    Duration.parse(p.getProperty("monitoringInterval", d.monitoringInterval.toString())),
                    Boolean.parseBoolean(p.getProperty("relocation", "" + d.relocation)),
                    Duration.parse(p.getProperty("consolidationInterval", d.consolidationInterval.toString())),
                    Integer.parseInt(p.getProperty("maxMigrationsPerRound", "" + d.maxMigrationsPerRound)),
                    Boolean.parseBoolean(p.getProperty("energySaver", "" + d.energySaver)),
                    p.getProperty("wakeupDriver", d.wakeupDriver),
                    Duration.parse(p.getProperty("idleThreshold", d.idleThreshold.toString())),
                    Integer.parseInt(p.getProperty("reservedNodes", "" + d.reservedNodes)),
                    p.getProperty("zookeeper"),
                    Duration.parse(p.getProperty("zookeeperSessionTimeout", d.zookeeperSessionTimeout.toString())));
            // Fail at start, not at the first submission, on an unknown policy name.
            io.strata.hierarchy.policy.DispatchPolicy.named(s.dispatching);
            io.strata.hierarchy.policy.PlacementPolicy.named(s.placement);
            return s;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    private static double[] triple(String value, double min, double mid, double max) {
        if (value == null) {
            return new double[] {min, mid, max};
        }
        String[] parts = value.split(",");
        if (parts.length != 3) {
            throw new IllegalArgumentException("thresholds are MIN,MID,MAX, not '" + value + "'");
        }
        return new double[] {Double.parseDouble(parts[0].strip()), Double.parseDouble(parts[1].strip()), Double.parseDouble(parts[2].strip())};
    }

    public HierarchySettings {
        if (hostsPerGroupManager < 1) {
            throw new IllegalArgumentException("hostsPerGroupManager must be at least 1");
        }
        if (monitoringInterval.isNegative() || monitoringInterval.isZero()) {
            throw new IllegalArgumentException("monitoringInterval must be positive");
        }
    }
}
