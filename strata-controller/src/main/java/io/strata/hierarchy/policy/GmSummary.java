package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;

/**
 * What a group manager tells the leader: the capacity of its powered-on local controllers
 * (active), of its powered-off ones (passive), what is used, and the largest free space on one
 * local controller (a VM cannot be split across two).
 */
public record GmSummary(String id, Capacity active, Capacity passive, Capacity used, Capacity largestFree, int localControllers) {
    public Capacity free() {
        return active.minus(used);
    }

    /** Whether one VM of {@code demand} may fit on one of its powered-on local controllers. */
    public boolean mayHost(Capacity demand) {
        return demand.fitsWithin(largestFree);
    }
}
