package io.strata.hierarchy.policy;

import static io.strata.hierarchy.policy.Lcs.vm;
import static org.assertj.core.api.Assertions.assertThat;

import io.strata.hierarchy.Capacity;
import java.util.List;
import org.junit.jupiter.api.Test;

class DispatchPolicyTest {
    private static GmSummary gm(String id, int largestFreeCores) {
        Capacity free = vm(largestFreeCores, largestFreeCores);
        return new GmSummary(id, Lcs.TOTAL.times(4), Capacity.ZERO, Capacity.ZERO, free, 4);
    }

    private final List<GmSummary> gms = List.of(gm("g1", 1), gm("g2", 4), gm("g3", 6));

    @Test
    void firstFitKeepsOrderAndSkipsGroupManagersWithoutRoom() {
        assertThat(DispatchPolicy.named("FirstFit").candidates(gms, vm(2, 2))).extracting(GmSummary::id).containsExactly("g2", "g3");
        assertThat(DispatchPolicy.named("FirstFit").candidates(gms, vm(7, 7))).isEmpty();
    }

    @Test
    void roundRobinStartsOneFurtherEachTime() {
        DispatchPolicy rr = DispatchPolicy.named("RoundRobin");
        assertThat(rr.candidates(gms, vm(1, 1))).extracting(GmSummary::id).containsExactly("g1", "g2", "g3");
        assertThat(rr.candidates(gms, vm(1, 1))).extracting(GmSummary::id).containsExactly("g2", "g3", "g1");
        assertThat(rr.candidates(gms, vm(5, 5))).extracting(GmSummary::id).containsExactly("g3");
    }
}
