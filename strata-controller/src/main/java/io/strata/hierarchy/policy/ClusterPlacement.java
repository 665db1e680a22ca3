package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The leader's dispatch and the group managers' placement together, over a view of the local
 * controllers: summaries per group manager, candidates from the dispatching policy, and the
 * first candidate whose placement finds a local controller (the fallback Snooze lacked).
 */
public final class ClusterPlacement {
    private final DispatchPolicy dispatching;
    private final PlacementPolicy placement;
    private final Thresholds thresholds;

    public ClusterPlacement(DispatchPolicy dispatching, PlacementPolicy placement, Thresholds thresholds) {
        this.dispatching = dispatching;
        this.placement = placement;
        this.thresholds = thresholds;
    }

    public Optional<LcState> place(Map<String, LcState> lcs, Capacity demand) {
        Map<String, List<LcState>> byGroup = new LinkedHashMap<>();
        lcs.values().forEach(lc -> byGroup.computeIfAbsent(lc.groupManagerId(), g -> new ArrayList<>()).add(lc));
        List<GmSummary> summaries = byGroup.entrySet().stream().map(e -> summary(e.getKey(), e.getValue())).toList();
        for (GmSummary gm : dispatching.candidates(summaries, demand)) {
            Optional<LcState> lc = placement.place(byGroup.get(gm.id()), demand, thresholds);
            if (lc.isPresent()) {
                return lc;
            }
        }
        return Optional.empty();
    }

    public static GmSummary summary(String id, List<LcState> lcs) {
        Capacity active = Capacity.ZERO;
        Capacity passive = Capacity.ZERO;
        Capacity used = Capacity.ZERO;
        Capacity largest = Capacity.ZERO;
        for (LcState lc : lcs) {
            if (lc.poweredOn()) {
                active = active.plus(lc.total());
                used = used.plus(lc.used());
                Capacity free = lc.total().minus(lc.used());
                largest = new Capacity(Math.max(largest.cpu(), free.cpu()), Math.max(largest.memoryKb(), free.memoryKb()),
                        Math.max(largest.rxKb(), free.rxKb()), Math.max(largest.txKb(), free.txKb()));
            } else {
                passive = passive.plus(lc.total());
            }
        }
        return new GmSummary(id, active, passive, used, largest, lcs.size());
    }
}
