package io.strata.hierarchy.policy;

import static io.strata.hierarchy.policy.Lcs.lc;
import static io.strata.hierarchy.policy.Lcs.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PlacementPolicyTest {
    private final Thresholds t = Thresholds.DEFAULT;   // MID 0.9: 7.2 of 8 cores
    private final List<LcState> lcs = List.of(lc("a", 1), lc("b", 5), lc("c"), lc("d", 3));

    @Test
    void firstFitTakesTheMostLoadedThatFits() {
        PlacementPolicy firstFit = PlacementPolicy.named("FirstFit");
        assertThat(firstFit.place(lcs, vm(2, 2), t)).map(LcState::id).contains("b");     // 5 + 2 <= 7.2
        assertThat(firstFit.place(lcs, vm(3, 3), t)).map(LcState::id).contains("d");     // 5 + 3 > 7.2
        assertThat(firstFit.place(lcs, vm(8, 8), t)).isEmpty();                          // 8 > MID × 8 anywhere
    }

    @Test
    void bestFitLeavesTheLeastFreeAndSpreadTheMost() {
        assertThat(PlacementPolicy.named("BestFit").place(lcs, vm(2, 2), t)).map(LcState::id).contains("b");
        assertThat(PlacementPolicy.named("BestFit").place(lcs, vm(4, 4), t)).map(LcState::id).contains("d");
        assertThat(PlacementPolicy.named("spread").place(lcs, vm(2, 2), t)).map(LcState::id).contains("c");
    }

    @Test
    void roundRobinRotatesOverThoseThatFit() {
        PlacementPolicy roundRobin = PlacementPolicy.named("RoundRobin");
        List<String> chosen = java.util.stream.IntStream.range(0, 5).mapToObj(i -> roundRobin.place(lcs, vm(4, 4), t).orElseThrow().id())
                .toList();
        // b (5 used) cannot take 4; the others take turns.
        assertThat(chosen).containsExactly("a", "c", "c", "d", "a");
    }

    @Test
    void poweredOffControllersTakeNothing() {
        List<LcState> off = List.of(lc("a").poweredOn(false));
        assertThat(PlacementPolicy.named("FirstFit").place(off, vm(1, 1), t)).isEmpty();
    }

    @Test
    void unknownNamesAreRefused() {
        assertThatThrownBy(() -> PlacementPolicy.named("WorstFit")).hasMessageContaining("FirstFit, RoundRobin, BestFit or Spread");
    }
}
