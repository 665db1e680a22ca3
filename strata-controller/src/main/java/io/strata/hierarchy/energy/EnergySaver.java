package io.strata.hierarchy.energy;

import io.strata.hierarchy.Capacity;
import io.strata.hierarchy.policy.LcState;
import io.strata.hierarchy.policy.Thresholds;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snooze's energy management: a local controller idle (no VMs) for longer than
 * {@code idleThreshold} is powered off through the wake-up driver, keeping {@code reserved}
 * idle ones on for sudden demand; when a VM fits nowhere, a powered-off one is woken. Keeps how
 * long each host has spent off.
 */
public final class EnergySaver {
    private static final Logger log = LoggerFactory.getLogger(EnergySaver.class);

    private final WakeupDriver driver;
    private final Duration idleThreshold;
    private final int reserved;
    private final Clock clock;
    private final Map<String, Instant> idleSince = new HashMap<>();
    private final Map<String, Instant> offSince = new HashMap<>();
    private final Map<String, Duration> timeOff = new HashMap<>();

    public EnergySaver(WakeupDriver driver, Duration idleThreshold, int reserved, Clock clock) {
        this.driver = driver;
        this.idleThreshold = idleThreshold;
        this.reserved = reserved;
        this.clock = clock;
    }

    public String driverName() {
        return driver.name();
    }

    /**
     * One round: notes which controllers are idle and powers off those idle too long. Returns
     * the hosts powered off in this round.
     */
    public List<String> tick(List<LcState> localControllers, Map<String, String> options) {
        return tick(localControllers, options, Fence.NONE);
    }

    /**
     * Closes a host to new work before it is powered off, and opens it again when that fails: a
     * host must never be seen off while it can still receive servers.
     */
    public interface Fence {
        Fence NONE = new Fence() {
            @Override
            public void close(String host) {
            }

            @Override
            public void reopen(String host) {
            }
        };

        void close(String host);

        void reopen(String host);
    }

    /** As above, closing each host through {@code fence} before it is switched off. */
    public synchronized List<String> tick(List<LcState> localControllers, Map<String, String> options, Fence fence) {
        Instant now = clock.instant();
        List<LcState> idleOn = new ArrayList<>();
        for (LcState lc : localControllers) {
            if (!lc.poweredOn()) {
                continue;
            }
            if (lc.idle()) {
                idleSince.putIfAbsent(lc.host(), now);
                idleOn.add(lc);
            } else {
                idleSince.remove(lc.host());
            }
        }
        // Keep the reserve: the controllers idle the shortest time stay on.
        idleOn.sort(Comparator.comparing((LcState lc) -> idleSince.get(lc.host())).thenComparing(LcState::host));
        List<String> poweredOff = new ArrayList<>();
        for (int i = reserved; i < idleOn.size(); i++) {
            LcState lc = idleOn.get(i);
            if (Duration.between(idleSince.get(lc.host()), now).compareTo(idleThreshold) < 0) {
                continue;
            }
            fence.close(lc.host());
            try {
                driver.powerOff(lc.host(), options.get(lc.host()));
                offSince.put(lc.host(), now);
                idleSince.remove(lc.host());
                poweredOff.add(lc.host());
                log.info("powered off idle host {} through {}", lc.host(), driver.name());
            } catch (WakeupDriver.PowerException e) {
                log.warn("cannot power off {}: {}", lc.host(), e.getMessage());
                fence.reopen(lc.host());
            }
        }
        return poweredOff;
    }

    /** Wakes the smallest powered-off controller that could host {@code demand}; its host, or empty. */
    public synchronized Optional<String> wakeFor(Capacity demand, List<LcState> localControllers, Thresholds thresholds,
            Map<String, String> options) {
        List<LcState> candidates = localControllers.stream().filter(lc -> !lc.poweredOn())
                .filter(lc -> thresholds.fits(lc.poweredOn(true), demand))
                .sorted(Comparator.comparingDouble((LcState lc) -> lc.total().l1Relative(lc.total())).thenComparing(LcState::host)).toList();
        for (LcState lc : candidates) {
            try {
                driver.wakeUp(lc.host(), options.get(lc.host()));
                markOn(lc.host());
                log.info("woke host {} through {} for a VM of {}", lc.host(), driver.name(), demand);
                return Optional.of(lc.host());
            } catch (WakeupDriver.PowerException e) {
                log.warn("cannot wake {}: {}", lc.host(), e.getMessage());
            }
        }
        return Optional.empty();
    }

    /**
     * Aligns this saver with the hosts the store says are powered off (their compute service
     * disabled by a saver): in a distributed hierarchy each group manager powers off its own
     * local controllers and the leader wakes any of them, so each saver learns the others'
     * doing here; a host no longer listed was woken elsewhere or re-enabled by an operator.
     */
    public synchronized void observe(Set<String> offInStore) {
        offInStore.forEach(this::assumeOff);
        for (String host : Set.copyOf(offSince.keySet())) {
            if (!offInStore.contains(host)) {
                markOn(host);
            }
        }
    }

    /** A host found powered off at start (its service disabled by an earlier run of the saver). */
    public synchronized void assumeOff(String host) {
        offSince.putIfAbsent(host, clock.instant());
    }

    public synchronized boolean isOff(String host) {
        return offSince.containsKey(host);
    }

    public synchronized Set<String> poweredOff() {
        return Set.copyOf(offSince.keySet());
    }

    /** Total time each host has spent powered off, the current period included. */
    public synchronized Map<String, Duration> timeOff() {
        Map<String, Duration> total = new HashMap<>(timeOff);
        Instant now = clock.instant();
        offSince.forEach((host, since) -> total.merge(host, Duration.between(since, now), Duration::plus));
        return total;
    }

    private void markOn(String host) {
        Instant since = offSince.remove(host);
        if (since != null) {
            timeOff.merge(host, Duration.between(since, clock.instant()), Duration::plus);
        }
    }
}
