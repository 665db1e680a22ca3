package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;
import java.util.ArrayList;
import java.util.List;

/** Local controllers for policy tests: 8 cores, 8 GiB, 1000 KB/s each way; VMs of whole cores and GiB. */
final class Lcs {
    static final Capacity TOTAL = new Capacity(8, 8 * 1024 * 1024, 1000, 1000);

    private Lcs() {}

    static Capacity vm(int cores, int gib) {
        return new Capacity(cores, gib * 1024.0 * 1024, 0, 0);
    }

    /** A powered-on controller with VMs of the given sizes (cores = GiB), named id-vmN. */
    static LcState lc(String id, int... vmSizes) {
        LcState lc = new LcState(id, "host-" + id, "gm", TOTAL, Capacity.ZERO, List.of(), true);
        List<LcState.VmLoad> vms = new ArrayList<>();
        for (int i = 0; i < vmSizes.length; i++) {
            vms.add(new LcState.VmLoad(id + "-vm" + i, vm(vmSizes[i], vmSizes[i])));
        }
        for (LcState.VmLoad v : vms) {
            lc = lc.with(v);
        }
        return lc;
    }
}
