package io.strata.hierarchy;

import io.strata.compute.Host;
import io.strata.compute.Server;
import java.util.List;

/** A snapshot of the hierarchy: group managers (the first is the leader), their local controllers and VMs. */
public record HierarchyView(List<Group> groups) {
    public HierarchyView {
        groups = List.copyOf(groups);
    }

    public record Group(String id, boolean leader, List<LocalController> localControllers) {
        public Group {
            localControllers = List.copyOf(localControllers);
        }
    }

    /** A local controller: its host, whether its heartbeat is current, its VMs and what they use. */
    public record LocalController(Host host, boolean up, List<Server> vms, Capacity used) {
        public LocalController {
            vms = List.copyOf(vms);
        }

        public Capacity total() {
            return new Capacity(host.vcpus(), host.memoryMb() * 1024.0, Capacity.DEFAULT_NETWORK_KB, Capacity.DEFAULT_NETWORK_KB);
        }
    }

    public List<LocalController> localControllers() {
        return groups.stream().flatMap(g -> g.localControllers().stream()).toList();
    }
}
