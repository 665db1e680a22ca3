package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;
import java.util.List;

/**
 * A local controller as the policies see it: its capacity, what its VMs use, the VMs, and
 * whether it is powered on. Immutable: a plan is worked out on copies ({@link #with}, {@link #without}).
 */
public record LcState(String id, String host, String groupManagerId, Capacity total, Capacity used, List<VmLoad> vms, boolean poweredOn) {
    public LcState {
        vms = List.copyOf(vms);
    }

    /** One VM and what it uses. */
    public record VmLoad(String id, Capacity demand) {}

    public LcState with(VmLoad vm) {
        List<VmLoad> more = new java.util.ArrayList<>(vms);
        more.add(vm);
        return new LcState(id, host, groupManagerId, total, used.plus(vm.demand()), more, poweredOn);
    }

    public LcState without(VmLoad vm) {
        return new LcState(id, host, groupManagerId, total, used.minus(vm.demand()), vms.stream().filter(v -> !v.id().equals(vm.id())).toList(),
                poweredOn);
    }

    public LcState poweredOn(boolean on) {
        return new LcState(id, host, groupManagerId, total, used, vms, on);
    }

    /** Snooze's ordering key: used capacity's L1 norm, each resource relative to the total. */
    public double load() {
        return used.l1Relative(total);
    }

    public boolean idle() {
        return vms.isEmpty();
    }
}
