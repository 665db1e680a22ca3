package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How the group leader picks group managers for a VM from their summaries. It answers candidates
 * in the order to try: unlike Snooze, the leader falls back to the next one when a group manager
 * cannot place the VM after all (its summary was stale).
 */
public interface DispatchPolicy {
    List<GmSummary> candidates(List<GmSummary> groupManagers, Capacity demand);

    static DispatchPolicy named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "firstfit" -> new FirstFit();
            case "roundrobin" -> new RoundRobin();
            default -> throw new IllegalArgumentException("unknown dispatching policy " + name + " (FirstFit or RoundRobin)");
        };
    }

    /** The group managers that may host the VM, in their given order. */
    final class FirstFit implements DispatchPolicy {
        @Override
        public List<GmSummary> candidates(List<GmSummary> groupManagers, Capacity demand) {
            return groupManagers.stream().filter(gm -> gm.mayHost(demand)).toList();
        }
    }

    /** The same, starting one further along at each call, so submissions spread over group managers. */
    final class RoundRobin implements DispatchPolicy {
        private final AtomicInteger next = new AtomicInteger();

        @Override
        public List<GmSummary> candidates(List<GmSummary> groupManagers, Capacity demand) {
            List<GmSummary> fitting = groupManagers.stream().filter(gm -> gm.mayHost(demand)).toList();
            if (fitting.isEmpty()) {
                return fitting;
            }
            int start = Math.floorMod(next.getAndIncrement(), fitting.size());
            java.util.ArrayList<GmSummary> rotated = new java.util.ArrayList<>(fitting.subList(start, fitting.size()));
            rotated.addAll(fitting.subList(0, start));
            return rotated;
        }
    }
}
