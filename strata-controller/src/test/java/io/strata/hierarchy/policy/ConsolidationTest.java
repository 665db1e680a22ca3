package io.strata.hierarchy.policy;

import static io.strata.hierarchy.policy.Lcs.lc;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConsolidationTest {
    @Test
    void packsVmsOntoFewerControllers() {
        List<LcState> lcs = List.of(lc("a", 1), lc("b", 2), lc("c", 3), lc("d"));
        List<Move> moves = new Consolidation(Thresholds.DEFAULT, 100).plan(lcs);
        // a's and b's VMs fit on c (3 + 1 + 2 = 6 <= 7.2): two hosts become empty.
        assertThat(moves).containsExactlyInAnyOrder(new Move("a-vm0", "a", "c"), new Move("b-vm0", "b", "c"));
        assertThat(hostsInUse(lcs, moves)).isEqualTo(1);
    }

    @Test
    void leavesAControllerAloneWhenNotAllItsVmsFit() {
        List<LcState> lcs = List.of(lc("a", 2, 2), lc("b", 4));
        // a (4) onto b (4): 8 > 7.2 for the second VM; b onto a: same. Nothing moves.
        assertThat(new Consolidation(Thresholds.DEFAULT, 100).plan(lcs)).isEmpty();
    }

    @Test
    void boundsTheMovesOfOneRound() {
        List<LcState> lcs = List.of(lc("a", 1), lc("b", 1), lc("c", 1), lc("d", 4));
        assertThat(new Consolidation(Thresholds.DEFAULT, 2).plan(lcs)).hasSize(2);
    }

    private static long hostsInUse(List<LcState> lcs, List<Move> moves) {
        Map<String, Integer> vms = new HashMap<>();
        lcs.forEach(lc -> vms.put(lc.id(), lc.vms().size()));
        moves.forEach(m -> {
            vms.merge(m.from(), -1, Integer::sum);
            vms.merge(m.to(), 1, Integer::sum);
        });
        return vms.values().stream().filter(n -> n > 0).count();
    }
}
