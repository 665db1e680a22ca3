package io.strata.hierarchy.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Periodic consolidation in the manner of Snooze's Sercon: local controllers sorted by load; the
 * least loaded is emptied onto the more loaded ones when all its VMs fit there (under MID), then
 * the next, so VMs end up packed on fewer hosts and the emptied ones can be powered off. At most
 * {@code maxMoves} migrations per round keep a round's disruption bounded.
 */
public final class Consolidation {
    private final Thresholds thresholds;
    private final int maxMoves;

    public Consolidation(Thresholds thresholds, int maxMoves) {
        this.thresholds = thresholds;
        this.maxMoves = maxMoves;
    }

    public List<Move> plan(List<LcState> localControllers) {
        Map<String, LcState> state = new LinkedHashMap<>();
        for (LcState lc : localControllers) {
            if (lc.poweredOn()) {
                state.put(lc.id(), lc);
            }
        }
        List<Move> moves = new ArrayList<>();
        List<String> emptiedOrFull = new ArrayList<>();
        while (true) {
            // The least loaded controller that still has VMs and was not tried yet.
            LcState source = state.values().stream().filter(lc -> !lc.idle() && !emptiedOrFull.contains(lc.id()))
                    .min(Comparator.comparingDouble(LcState::load).thenComparing(LcState::id)).orElse(null);
            if (source == null) {
                return moves;
            }
            emptiedOrFull.add(source.id());
            Map<String, LcState> trial = new LinkedHashMap<>(state);
            trial.remove(source.id());
            List<Move> sourceMoves = new ArrayList<>();
            for (LcState.VmLoad vm : source.vms()) {
                // Only onto controllers at least as loaded (and not idle): packing, never spreading.
                LcState target = trial.values().stream()
                        .filter(lc -> !lc.idle() && lc.load() >= source.load() && thresholds.fits(lc, vm.demand()))
                        .max(Comparator.comparingDouble(LcState::load).thenComparing(LcState::id)).orElse(null);
                if (target == null) {
                    sourceMoves = null;
                    break;
                }
                trial.put(target.id(), target.with(vm));
                sourceMoves.add(new Move(vm.id(), source.id(), target.id()));
            }
            if (sourceMoves == null || moves.size() + sourceMoves.size() > maxMoves) {
                continue;
            }
            moves.addAll(sourceMoves);
            trial.put(source.id(), new LcState(source.id(), source.host(), source.groupManagerId(), source.total(),
                    io.strata.hierarchy.Capacity.ZERO, List.of(), true));
            state = trial;
        }
    }
}
