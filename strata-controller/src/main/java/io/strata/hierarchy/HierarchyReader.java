package io.strata.hierarchy;

import static java.util.Objects.requireNonNull;

import io.strata.compute.Host;
import io.strata.compute.HostRegistry;
import io.strata.compute.Server;
import io.strata.compute.ServerQuery;
import io.strata.compute.ServerStore;
import io.strata.compute.VmState;
import io.strata.hierarchy.policy.LcState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Reads the hierarchy from what the controller knows: hosts (local controllers) grouped into
 * group managers, the servers on each, and what each asks for — network demand included for
 * VMs that came through Snooze.
 */
public final class HierarchyReader {
    private final HostRegistry hosts;
    private final ServerStore servers;
    private final SubmissionStore submissions;
    private final GroupManagers groupManagers;
    private final Supplier<Set<String>> poweredOff;
    private static final long PLACEMENTS_MAX_AGE_NANOS = 1_000_000_000L;
    private volatile CachedPlacements cachedPlacements;

    public HierarchyReader(HostRegistry hosts, ServerStore servers, SubmissionStore submissions, GroupManagers groupManagers,
            Supplier<Set<String>> poweredOff) {
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.submissions = requireNonNull(submissions, "submissions is null");
        this.groupManagers = requireNonNull(groupManagers, "groupManagers is null");
        this.poweredOff = requireNonNull(poweredOff, "poweredOff is null");
    }

    public HierarchyView view() {
        List<Host> all = hosts.hosts();
        Map<String, List<Server>> vmsByHost = new HashMap<>();
        ServerQuery everything = new ServerQuery(null, null, null, null, null, null, null, null, false, null, "created_at", true, null,
                Integer.MAX_VALUE, null);
        for (Server server : servers.list(everything)) {
            if (server.host() != null && server.vmState() != VmState.BLESSED) {
                vmsByHost.computeIfAbsent(server.host(), h -> new ArrayList<>()).add(server);
            }
        }
        Map<String, double[]> network = submissions.networkDemandByServer();
        Set<String> off = poweredOff.get();
        List<HierarchyView.Group> groups = new ArrayList<>();
        for (GroupManagers.GroupManager gm : groupManagers.of(all)) {
            List<HierarchyView.LocalController> lcs = new ArrayList<>();
            for (Host host : gm.localControllers()) {
                List<Server> vms = vmsByHost.getOrDefault(host.name(), List.of());
                Capacity used = Capacity.ZERO;
                List<HierarchyView.Vm> loads = new ArrayList<>();
                for (Server vm : vms) {
                    Capacity demand = requestedOf(vm, network.get(vm.id()));
                    used = used.plus(demand);
                    loads.add(new HierarchyView.Vm(vm, demand));
                }
                lcs.add(new HierarchyView.LocalController(host, hosts.isUp(host), !off.contains(host.name()), loads, used));
            }
            groups.add(new HierarchyView.Group(gm.id(), gm.leader(), lcs, gm.address(), gm.port()));
        }
        return new HierarchyView(groups);
    }

    /**
     * The local controllers as the placement policies see them, read without loading whole
     * servers (the leader's dispatching needs each VM's id and demand, not its metadata).
     */
    public List<LcState> placementStates() {
        List<Host> all = hosts.hosts();
        Map<String, List<LcState.VmLoad>> loadsByHost = new HashMap<>();
        Map<String, double[]> network = submissions.networkDemandByServer();
        for (ServerStore.PlacedDemand vm : servers.placedDemands()) {
            double[] net = network.get(vm.serverId());
            loadsByHost.computeIfAbsent(vm.host(), h -> new ArrayList<>()).add(new LcState.VmLoad(vm.serverId(),
                    new Capacity(vm.vcpus(), vm.ramMb() * 1024.0, net == null ? 0 : net[0], net == null ? 0 : net[1])));
        }
        Set<String> off = poweredOff.get();
        List<LcState> states = new ArrayList<>();
        for (GroupManagers.GroupManager gm : groupManagers.of(all)) {
            for (Host host : gm.localControllers()) {
                List<LcState.VmLoad> loads = loadsByHost.getOrDefault(host.name(), List.of());
                Capacity used = Capacity.ZERO;
                for (LcState.VmLoad load : loads) {
                    used = used.plus(load.demand());
                }
                states.add(HierarchyView.LocalController.stateOf(host, gm.id(), hosts.isUp(host) && !off.contains(host.name()), used, loads));
            }
        }
        return states;
    }

    private static Capacity requestedOf(Server server, double[] network) {
        return new Capacity(server.flavor().vcpus(), server.flavor().ramMb() * 1024.0, network == null ? 0 : network[0],
                network == null ? 0 : network[1]);
    }

    /** Where a local controller sits: its host, its group manager's id and (distributed) that manager's address. */
    public record Placement(Host host, String groupManagerId, String groupManagerAddress, int groupManagerPort) {}

    /** Host name → placement, for locating VMs without reading every server. */
    public Map<String, Placement> placements() {
        Map<String, Placement> index = new HashMap<>();
        for (GroupManagers.GroupManager gm : groupManagers.of(hosts.hosts())) {
            gm.localControllers().forEach(h -> index.put(h.name(), new Placement(h, gm.id(), gm.address(), gm.port())));
        }
        return index;
    }

    /**
     * Where one local controller sits, from an index rebuilt at most once a second: every remote
     * agent's heartbeat asks, and ranking every host against every group manager per heartbeat
     * would cost thousands of hashes each.
     */
    public Optional<Placement> placementOf(String host) {
        CachedPlacements cached = cachedPlacements;
        long now = System.nanoTime();
        if (cached == null || now - cached.builtAt() > PLACEMENTS_MAX_AGE_NANOS) {
            cached = new CachedPlacements(placements(), now);
            cachedPlacements = cached;
        }
        return Optional.ofNullable(cached.byHost().get(host));
    }

    private record CachedPlacements(Map<String, Placement> byHost, long builtAt) {}

    public List<GroupManagers.GroupManager> groupManagers() {
        return groupManagers.of(hosts.hosts());
    }

    public Optional<Host> findLocalController(String idOrName) {
        return hosts.hosts().stream().filter(h -> h.uuid().equals(idOrName) || h.name().equals(idOrName)).findFirst();
    }
}
