package io.strata.hierarchy.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Snooze's Greedy relocation. Overload: move the largest VMs off the local controller until its
 * load is back under MAX, each to the most loaded other controller where it fits under MID.
 * Underload: move every VM away, but only if all of them find a place (so the host can then be
 * powered off); controllers that are themselves underloaded do not receive VMs.
 */
public final class Relocation {
    private final Thresholds thresholds;

    public Relocation(Thresholds thresholds) {
        this.thresholds = thresholds;
    }

    public List<Move> overload(LcState source, List<LcState> others) {
        Map<String, LcState> targets = index(others, source);
        List<LcState.VmLoad> largestFirst = source.vms().stream()
                .sorted(Comparator.comparingDouble((LcState.VmLoad vm) -> vm.demand().l1Relative(source.total())).reversed()).toList();
        List<Move> moves = new ArrayList<>();
        LcState remaining = source;
        for (LcState.VmLoad vm : largestFirst) {
            if (!thresholds.overloaded(remaining.used().utilisationOf(remaining.total()))) {
                break;
            }
            LcState target = mostLoadedFitting(targets, vm);
            if (target != null) {
                targets.put(target.id(), target.with(vm));
                remaining = remaining.without(vm);
                moves.add(new Move(vm.id(), source.id(), target.id()));
            }
        }
        return moves;
    }

    public List<Move> underload(LcState source, List<LcState> others) {
        Map<String, LcState> targets = new HashMap<>();
        index(others, source).forEach((id, lc) -> {
            if (!lc.idle() && !thresholds.underloaded(lc.used().utilisationOf(lc.total()))) {
                targets.put(id, lc);
            }
        });
        List<Move> moves = new ArrayList<>();
        for (LcState.VmLoad vm : source.vms()) {
            LcState target = mostLoadedFitting(targets, vm);
            if (target == null) {
                return List.of();       // all or nothing: a half-emptied host still has to stay on
            }
            targets.put(target.id(), target.with(vm));
            moves.add(new Move(vm.id(), source.id(), target.id()));
        }
        return moves;
    }

    private static Map<String, LcState> index(List<LcState> others, LcState source) {
        Map<String, LcState> targets = new HashMap<>();
        for (LcState lc : others) {
            if (!lc.id().equals(source.id()) && lc.poweredOn()) {
                targets.put(lc.id(), lc);
            }
        }
        return targets;
    }

    private LcState mostLoadedFitting(Map<String, LcState> targets, LcState.VmLoad vm) {
        return targets.values().stream().filter(lc -> thresholds.fits(lc, vm.demand()))
                .max(Comparator.comparingDouble(LcState::load).thenComparing(LcState::id, Comparator.reverseOrder())).orElse(null);
    }
}
