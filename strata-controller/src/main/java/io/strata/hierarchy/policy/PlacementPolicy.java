package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/** How a group manager picks the local controller for a VM among its own (only where it fits below MID). */
public interface PlacementPolicy {
    Optional<LcState> place(List<LcState> localControllers, Capacity demand, Thresholds thresholds);

    static PlacementPolicy named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "firstfit" -> new FirstFit();
            case "roundrobin" -> new RoundRobin();
            case "bestfit" -> new BestFit();
            case "spread" -> new Spread();
            default -> throw new IllegalArgumentException("unknown placement policy " + name + " (FirstFit, RoundRobin, BestFit or Spread)");
        };
    }

    /** Snooze's FirstFit: local controllers sorted by decreasing load (L1 norm), the first that fits; packs VMs. */
    final class FirstFit implements PlacementPolicy {
        @Override
        public Optional<LcState> place(List<LcState> localControllers, Capacity demand, Thresholds thresholds) {
            return localControllers.stream().sorted(Comparator.comparingDouble(LcState::load).reversed().thenComparing(LcState::id))
                    .filter(lc -> thresholds.fits(lc, demand)).findFirst();
        }
    }

    /** The next local controller that fits, after the one chosen last time. */
    final class RoundRobin implements PlacementPolicy {
        private final AtomicInteger next = new AtomicInteger();

        @Override
        public Optional<LcState> place(List<LcState> localControllers, Capacity demand, Thresholds thresholds) {
            List<LcState> ordered = localControllers.stream().sorted(Comparator.comparing(LcState::id)).toList();
            int start = next.getAndIncrement();
            for (int i = 0; i < ordered.size(); i++) {
                LcState lc = ordered.get(Math.floorMod(start + i, ordered.size()));
                if (thresholds.fits(lc, demand)) {
                    return Optional.of(lc);
                }
            }
            return Optional.empty();
        }
    }

    /** The local controller left with the least free capacity once the VM is on it. */
    final class BestFit implements PlacementPolicy {
        @Override
        public Optional<LcState> place(List<LcState> localControllers, Capacity demand, Thresholds thresholds) {
            return localControllers.stream().filter(lc -> thresholds.fits(lc, demand))
                    .min(Comparator.comparingDouble((LcState lc) -> lc.total().minus(lc.used().plus(demand)).l1Relative(lc.total()))
                            .thenComparing(LcState::id));
        }
    }

    /** The least loaded local controller: spreads VMs for performance, the opposite of packing. */
    final class Spread implements PlacementPolicy {
        @Override
        public Optional<LcState> place(List<LcState> localControllers, Capacity demand, Thresholds thresholds) {
            return localControllers.stream().filter(lc -> thresholds.fits(lc, demand))
                    .min(Comparator.comparingDouble(LcState::load).thenComparing(LcState::id));
        }
    }
}
