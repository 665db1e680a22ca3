package io.strata.hierarchy.policy;

import static io.strata.hierarchy.policy.Lcs.lc;
import static org.assertj.core.api.Assertions.assertThat;

import io.strata.hierarchy.Capacity;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelocationTest {
    // MIN 0.2, MID 0.8, MAX 0.9 on every resource.
    private final Thresholds t = new Thresholds(new Capacity(0.2, 0.2, 0.2, 0.2), new Capacity(0.8, 0.8, 0.8, 0.8),
            new Capacity(0.9, 0.9, 0.9, 0.9));
    private final Relocation relocation = new Relocation(t);

    @Test
    void overloadMovesTheLargestVmsUntilBelowMax() {
        LcState hot = lc("hot", 4, 3, 1);                  // 8/8 cores: above MAX 0.9
        List<Move> moves = relocation.overload(hot, List.of(hot, lc("warm", 2), lc("cold")));
        // Moving the 4-core VM brings it to 4/8; it goes to the more loaded controller that fits under MID (2 + 4 <= 6.4).
        assertThat(moves).containsExactly(new Move("hot-vm0", "hot", "warm"));
    }

    @Test
    void overloadWithNowhereToGoMovesNothing() {
        LcState hot = lc("hot", 8);
        assertThat(relocation.overload(hot, List.of(lc("full", 6)))).isEmpty();
    }

    @Test
    void underloadEmptiesTheControllerOrDoesNothing() {
        LcState idle = lc("idle", 1);                      // 1/8 < MIN 0.2
        assertThat(relocation.underload(idle, List.of(idle, lc("busy", 4), lc("empty"))))
                .containsExactly(new Move("idle-vm0", "idle", "busy"));
        // Another underloaded or idle controller is no target: the VM would only move the problem.
        assertThat(relocation.underload(idle, List.of(lc("other-idle", 1), lc("empty")))).isEmpty();
        LcState two = lc("two", 1, 1);
        assertThat(relocation.underload(two, List.of(lc("almost-full", 4)))).containsExactly(new Move("two-vm0", "two", "almost-full"),
                new Move("two-vm1", "two", "almost-full"));
        assertThat(relocation.underload(lc("big", 1, 1), List.of(lc("fuller", 5)))).isEmpty();   // only one fits: all or nothing
    }

    @Test
    void loadHistoryAveragesTheLastFiveSamples() {
        LoadHistory history = new LoadHistory(LoadHistory.SNOOZE_WINDOW);
        for (int i = 0; i < 4; i++) {
            history.record(lc("x", 8));
        }
        assertThat(history.average("x")).isEmpty();          // not five samples yet
        history.record(lc("x"));
        assertThat(history.average("x")).map(Capacity::cpu).contains(0.8);   // (4 × 1.0 + 0) / 5
        assertThat(t.overloaded(history.average("x").orElseThrow())).isFalse();
        history.record(lc("x", 8));
        assertThat(t.overloaded(history.average("x").orElseThrow())).isFalse();   // 0.8 again: the old sample dropped out
        history.record(lc("x", 8));
        history.record(lc("x", 8));
        history.record(lc("x", 8));
        history.record(lc("x", 8));
        assertThat(t.overloaded(history.average("x").orElseThrow())).isTrue();
        history.reset("x");
        assertThat(history.average("x")).isEmpty();
    }
}
