package io.strata.hierarchy;

import io.strata.compute.Host;
import io.strata.compute.Server;
import io.strata.hierarchy.policy.LcState;
import java.util.List;

/** A snapshot of the hierarchy: group managers (the first is the leader), their local controllers and VMs. */
public record HierarchyView(List<Group> groups) {
    public HierarchyView {
        groups = List.copyOf(groups);
    }

    /** A group manager; {@code address}/{@code port} where a distributed one listens (null/0: this controller). */
    public record Group(String id, boolean leader, List<LocalController> localControllers, String address, int port) {
        public Group {
            localControllers = List.copyOf(localControllers);
        }
    }

    /** A VM on a local controller and what it asks for. */
    public record Vm(Server server, Capacity demand) {}

    /**
     * A local controller: its host, whether its heartbeat is current, whether it is powered on
     * (the energy saver may have turned it off), its VMs and what they use.
     */
    public record LocalController(Host host, boolean up, boolean poweredOn, List<Vm> vms, Capacity used) {
        public LocalController {
            vms = List.copyOf(vms);
        }

        public Capacity total() {
            return totalOf(host);
        }

        /** As the policies see it; a host that is down counts as powered off (nothing goes there). */
        public LcState state(String groupManagerId) {
            return stateOf(host, groupManagerId, up && poweredOn, used,
                    vms.stream().map(vm -> new LcState.VmLoad(vm.server().id(), vm.demand())).toList());
        }

        /** The same from a host's VM loads alone, for readers that load no whole servers. */
        public static LcState stateOf(Host host, String groupManagerId, boolean upAndOn, Capacity used, List<LcState.VmLoad> loads) {
            return new LcState(host.uuid(), host.name(), groupManagerId, totalOf(host), used, loads, upAndOn && host.serviceEnabled());
        }

        private static Capacity totalOf(Host host) {
            return new Capacity(host.vcpus(), host.memoryMb() * 1024.0, Capacity.DEFAULT_NETWORK_KB, Capacity.DEFAULT_NETWORK_KB);
        }
    }

    public List<LocalController> localControllers() {
        return groups.stream().flatMap(g -> g.localControllers().stream()).toList();
    }

    public List<LcState> states() {
        return groups.stream().flatMap(g -> g.localControllers().stream().map(lc -> lc.state(g.id()))).toList();
    }
}
