package io.strata.hierarchy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.api.Json;
import io.strata.compute.Host;
import io.strata.compute.Server;
import io.strata.hierarchy.zk.DistributedLeadership;
import java.net.URI;
import java.util.Locale;
import java.util.Map;

/**
 * Snooze's JSON shapes (snoozecommon's descriptions as its Restlet resources serialise them):
 * GroupManagerDescription, LocalControllerDescription, VirtualMachineMetaData and
 * VirtualClusterSubmissionResponse, with the field names of the seed's examples.
 */
final class SnoozeJson {
    /** libvirt's TCP port and Snooze's live-migration settings, as its local controllers report them. */
    private static final int LIBVIRT_PORT = 16509;
    private static final int MIGRATION_TIMEOUT_SECONDS = 60;

    private final String controllerAddress;
    private final int controllerPort;
    private final String wakeupDriver;
    private final java.util.function.Function<String, java.time.Duration> timeOff;

    private final java.util.function.Supplier<java.util.Optional<DistributedLeadership.Leader>> elected;

    SnoozeJson(String controllerAddress, int controllerPort, String wakeupDriver, java.util.function.Function<String, java.time.Duration> timeOff,
            java.util.function.Supplier<java.util.Optional<DistributedLeadership.Leader>> elected) {
        this.elected = elected;
        this.controllerAddress = controllerAddress;
        this.controllerPort = controllerPort;
        this.wakeupDriver = wakeupDriver;
        this.timeOff = timeOff;
    }

    ObjectNode localControllerList(HierarchyView view) {
        ArrayNode list = Json.array();
        for (HierarchyView.LocalController lc : view.localControllers()) {
            list.add(localController(lc));
        }
        ObjectNode body = Json.object();
        body.set("localControllers", list);
        return body;
    }

    /** The leader: the one ZooKeeper elected when distributed, else this controller's first group manager. */
    ObjectNode groupLeader(HierarchyView view) {
        HierarchyView.Group leader = view.groups().stream().filter(HierarchyView.Group::leader).findFirst().orElseThrow();
        ObjectNode gm = groupManager(leader, false);
        elected.get().ifPresent(l -> {
            gm.put("id", l.id());
            gm.put("hostname", l.address());
            ObjectNode listen = Json.object();
            listen.set("controlDataAddress", address(l.address(), l.port()));
            listen.set("monitoringDataAddress", address(l.address(), l.port()));
            gm.set("listenSettings", listen);
            gm.set("heartbeatAddress", address(l.address(), l.port()));
            gm.put("leaderElection", "zookeeper");
        });
        return gm;
    }

    /** The leader, then every group manager with its local controllers and their VMs. */
    ObjectNode completeHierarchy(HierarchyView view) {
        ObjectNode body = groupLeader(view);
        ArrayNode managers = Json.array();
        for (HierarchyView.Group group : view.groups()) {
            managers.add(groupManager(group, true));
        }
        body.set("groupManagers", managers);
        return body;
    }

    private ObjectNode groupManager(HierarchyView.Group group, boolean withLocalControllers) {
        ObjectNode gm = Json.object();
        // A distributed group manager is another controller, listening where it announced itself.
        String host = group.address() != null ? group.address() : controllerAddress;
        int port = group.address() != null ? group.port() : controllerPort;
        gm.put("id", group.id());
        gm.put("hostname", host);
        gm.put("isGroupLeader", group.leader());
        ObjectNode listen = Json.object();
        listen.set("controlDataAddress", address(host, port));
        listen.set("monitoringDataAddress", address(host, port));
        gm.set("listenSettings", listen);
        gm.set("heartbeatAddress", address(host, port));
        Capacity active = Capacity.ZERO;
        Capacity passive = Capacity.ZERO;
        Capacity used = Capacity.ZERO;
        int vms = 0;
        int up = 0;
        for (HierarchyView.LocalController lc : group.localControllers()) {
            if (lc.up() && lc.poweredOn()) {
                active = active.plus(lc.total());
                up++;
            } else if (!lc.poweredOn()) {
                passive = passive.plus(lc.total());
            }
            used = used.plus(lc.used());
            vms += lc.vms().size();
        }
        ObjectNode summary = Json.object();
        summary.set("activeCapacity", vector(active));
        summary.set("passiveCapacity", vector(passive));
        summary.set("usedCapacity", vector(used));
        summary.put("numberOfLocalControllers", group.localControllers().size());
        summary.put("numberOfActiveLocalControllers", up);
        summary.put("numberOfVirtualMachines", vms);
        gm.set("summaryInformation", summary);
        if (withLocalControllers) {
            ObjectNode lcs = Json.object();
            for (HierarchyView.LocalController lc : group.localControllers()) {
                lcs.set(lc.host().uuid(), localController(lc));
            }
            gm.set("localControllers", lcs);
        }
        return gm;
    }

    private ObjectNode localController(HierarchyView.LocalController lc) {
        Host host = lc.host();
        ObjectNode node = Json.object();
        node.put("id", host.uuid());
        node.set("controlDataAddress", localControllerAddress(host));
        // Snooze: PASSIVE is a host its energy saver powered down.
        node.put("status", !lc.poweredOn() ? "PASSIVE" : lc.up() ? "ACTIVE" : "UNKNOWN");
        ObjectNode hypervisor = Json.object();
        hypervisor.put("port", LIBVIRT_PORT);
        hypervisor.put("driver", host.hypervisorType() == null ? "qemu" : host.hypervisorType().toLowerCase(Locale.ROOT));
        hypervisor.put("transport", "tcp");
        ObjectNode migration = Json.object();
        migration.put("method", "live");
        migration.put("timeout", MIGRATION_TIMEOUT_SECONDS);
        hypervisor.set("migration", migration);
        node.set("hypervisorSettings", hypervisor);
        node.set("totalCapacity", vector(lc.total()));
        node.set("usedCapacity", vector(lc.used()));
        ObjectNode metadata = Json.object();
        ArrayNode assigned = Json.array();
        for (HierarchyView.Vm load : lc.vms()) {
            Server vm = load.server();
            ObjectNode meta = Json.object();
            meta.put("status", VmStatus.of(vm).name());
            meta.put("ipAddress", vm.ipAddress());
            meta.set("requestedCapacity", vector(load.demand()));
            metadata.set(vm.id(), meta);
            assigned.add(vm.id());
        }
        node.set("virtualMachineMetaData", metadata);
        ObjectNode wakeup = Json.object();
        wakeup.put("driver", wakeupDriver);
        wakeup.put("options", "");
        node.set("wakeupSettings", wakeup);
        node.put("hostname", host.name());
        node.set("assignedVirtualMachines", assigned);
        node.put("timeSpentOffSeconds", timeOff.apply(host.name()).toMillis() / 1000.0);
        return node;
    }

    ObjectNode clusterResponse(SnoozeService.ClusterResponse response, SnoozeService snooze) {
        Map<String, HierarchyReader.Placement> placements = snooze.placements();
        ObjectNode body = Json.object();
        body.put("taskIdentifier", response.taskId());
        body.put("errorCode", response.errorCode());
        ArrayNode vms = Json.array();
        for (SnoozeService.VmReport report : response.vms()) {
            vms.add(vmMetaData(report, placements));
        }
        body.set("virtualMachineMetaData", vms);
        return body;
    }

    private ObjectNode vmMetaData(SnoozeService.VmReport report, Map<String, HierarchyReader.Placement> placements) {
        Server server = report.server();
        SubmissionStore.SubmittedVm submitted = report.submitted();
        HierarchyReader.Placement placement = server == null || server.host() == null ? null : placements.get(server.host());
        ObjectNode vm = Json.object();
        vm.put("status", report.status().name());
        ObjectNode location = Json.object();
        location.put("virtualMachineId", server == null ? submitted.name() : server.id());
        location.put("localControllerId", placement == null ? null : placement.host().uuid());
        location.put("groupManagerId", placement == null ? null : placement.groupManagerId());
        ObjectNode manager = placement == null || placement.groupManagerAddress() == null ? address(controllerAddress, controllerPort)
                : address(placement.groupManagerAddress(), placement.groupManagerPort());
        location.set("groupManagerControlDataAddress", manager);
        location.set("localControllerControlDataAddress", placement == null ? null : localControllerAddress(placement.host()));
        vm.set("virtualMachineLocation", location);
        vm.set("usedCapacity", Json.object());
        vm.set("requestedCapacity", vector(submitted.requested()));
        vm.put("ipAddress", server == null ? null : server.ipAddress());
        vm.put("errorCode", report.errorCode().name());
        vm.set("groupManagerControlDataAddress", manager.deepCopy());
        vm.put("xmlRepresentation", server == null ? submitted.xml() : xmlOf(submitted, server));
        return vm;
    }

    /** The template as the VM got it (its UUID and MAC), or a generated domain for vcpus/memory templates. */
    private static String xmlOf(SubmissionStore.SubmittedVm submitted, Server server) {
        if (submitted.xml() != null) {
            return LibvirtDomainParser.rewrite(submitted.xml(), server.id(), server.macAddress());
        }
        return LibvirtDomainParser.generate(server.name(), server.id(), submitted.memoryKb(), submitted.vcpus(), server.imageId(),
                server.macAddress());
    }

    private ObjectNode localControllerAddress(Host host) {
        String address = host.hostIp() == null || host.hostIp().isBlank() ? controllerAddress : host.hostIp();
        int port = controllerPort;
        if (host.agentUrl() != null) {
            URI agent = URI.create(host.agentUrl());
            port = agent.getPort() < 0 ? port : agent.getPort();
        }
        return address(address, port);
    }

    private static ObjectNode address(String address, int port) {
        ObjectNode node = Json.object();
        node.put("address", address);
        node.put("port", port);
        return node;
    }

    private static ArrayNode vector(Capacity capacity) {
        ArrayNode array = Json.array();
        capacity.asList().forEach(array::add);
        return array;
    }
}
