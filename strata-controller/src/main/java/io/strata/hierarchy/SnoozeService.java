package io.strata.hierarchy;

import static java.util.Objects.requireNonNull;

import io.strata.compute.CreateServerRequest;
import io.strata.compute.Flavor;
import io.strata.compute.FlavorService;
import io.strata.compute.Host;
import io.strata.compute.HostRegistry;
import io.strata.compute.Server;
import io.strata.compute.ServerQuery;
import io.strata.compute.ServerService;
import io.strata.compute.ServerStore;
import io.strata.compute.VmState;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snooze's group leader and group manager calls on top of Compute: a virtual cluster becomes
 * ordinary servers (so {@code openstack server list} shows them), started through
 * {@link ServerService} as the cloud administrator; the submission is stored before its task id
 * is answered, and the response is read back from the servers' state.
 */
public final class SnoozeService {
    private static final Logger log = LoggerFactory.getLogger(SnoozeService.class);
    public static final int MAX_TEMPLATES = 1000;

    private final SubmissionStore submissions;
    private final ServerService servers;
    private final ServerStore serverStore;
    private final FlavorService flavors;
    private final HostRegistry hosts;
    private final HierarchyReader reader;
    private final HierarchyCoordinator coordinator;
    private final AuthContext operator;
    private final Clock clock;

    public SnoozeService(SubmissionStore submissions, ServerService servers, ServerStore serverStore, FlavorService flavors,
            HostRegistry hosts, HierarchyReader reader, HierarchyCoordinator coordinator, AuthContext operator, Clock clock) {
        this.submissions = requireNonNull(submissions, "submissions is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.serverStore = requireNonNull(serverStore, "serverStore is null");
        this.flavors = requireNonNull(flavors, "flavors is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.reader = requireNonNull(reader, "reader is null");
        this.coordinator = requireNonNull(coordinator, "coordinator is null");
        this.operator = requireNonNull(operator, "operator is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    // ------------------------------------------------------------------ submissions

    /** Accepts a virtual cluster: stores it, starts its servers, answers the task id. */
    public String startVirtualCluster(List<VmTemplate> templates) {
        if (templates.isEmpty()) {
            throw CloudException.badRequest("virtualMachineTemplates is empty");
        }
        if (templates.size() > MAX_TEMPLATES) {
            throw CloudException.badRequest("at most %d virtualMachineTemplates per submission", MAX_TEMPLATES);
        }
        String taskId = UUID.randomUUID().toString();
        submissions.insert(taskId, templates, clock.instant());
        start(taskId, templates);
        return taskId;
    }

    /** Starts the VMs of a stored submission that have no server yet (after a crash between the two). */
    public void resumeUnfinished() {
        for (String taskId : submissions.unfinished()) {
            submissions.find(taskId).ifPresent(submission -> {
                log.info("finishing virtual cluster submission {} accepted before a restart", taskId);
                List<VmTemplate> templates = new ArrayList<>();
                for (SubmissionStore.SubmittedVm vm : submission.vms()) {
                    templates.add(vm.serverId() != null || vm.errorCode() != null ? null
                            : new VmTemplate(vm.name(), vm.vcpus(), vm.memoryKb(), null, null, vm.xml(), vm.rxKb(), vm.txKb(), null));
                }
                start(taskId, templates);
            });
        }
    }

    private void start(String taskId, List<VmTemplate> templates) {
        List<GroupManagers.GroupManager> groups = reader.groupManagers();
        // The leader dispatches the whole cluster at once; pinned VMs go where they are pinned.
        List<Capacity> free = templates.stream().filter(t -> t != null && (t.hostId() == null || t.hostId().isEmpty()))
                .map(VmTemplate::demand).toList();
        java.util.Iterator<Optional<String>> placed = coordinator.placeAll(free).iterator();
        // VMs of one shape and image are created together (one insert, one quota count), each on its host.
        Map<List<String>, List<Integer>> byShape = new java.util.LinkedHashMap<>();
        Map<Integer, String> zones = new HashMap<>();
        Map<Integer, String> errors = new java.util.TreeMap<>();
        for (int i = 0; i < templates.size(); i++) {
            VmTemplate template = templates.get(i);
            if (template == null) {
                continue;
            }
            try {
                String zone;
                if (template.hostId() == null || template.hostId().isEmpty()) {
                    Optional<String> host = placed.next();
                    if (host.isEmpty()) {
                        errors.put(i, VmErrorCode.NOT_ENOUGH_LOCAL_CONTROLLER_CAPACITY.name());
                        continue;
                    }
                    Host target = hosts.find(host.get()).orElseThrow();
                    zone = target.zone() + ":" + target.name();
                } else {
                    zone = pinnedZone(template.hostId(), groups, template);
                }
                zones.put(i, zone);
                byShape.computeIfAbsent(java.util.Arrays.asList(flavorFor(template).id(), template.imageId()), k -> new ArrayList<>()).add(i);
            } catch (InvalidHostId e) {
                errors.put(i, VmErrorCode.INVALID_HOST_ID.name());
            } catch (CloudException e) {
                log.warn("virtual cluster {}: VM {} could not be started: {}", taskId, template.name(), e.getMessage());
                errors.put(i, errorCodeOf(e));
            }
        }
        for (Map.Entry<List<String>, List<Integer>> shape : byShape.entrySet()) {
            List<Integer> positions = shape.getValue();
            List<ServerService.Slot> slots = positions.stream().map(i -> new ServerService.Slot(templates.get(i).name(), zones.get(i))).toList();
            CreateServerRequest request = new CreateServerRequest(slots.get(0).name(), shape.getKey().get(1), shape.getKey().get(0), null, null,
                    Map.of("snooze_task", taskId), null, slots.size(), slots.size(), "Snooze virtual cluster " + taskId, List.of(), null, null,
                    null, false, true, null, List.of());
            try {
                List<Server> created = servers.create(operator, request, slots);
                Map<Integer, String> started = new java.util.TreeMap<>();
                for (int k = 0; k < created.size(); k++) {
                    started.put(positions.get(k), created.get(k).id());
                }
                // Recorded at once, as each VM was before: a restart must not start them a second time.
                submissions.record(taskId, started, Map.of());
            } catch (CloudException e) {
                log.warn("virtual cluster {}: {} VM(s) could not be started: {}", taskId, positions.size(), e.getMessage());
                positions.forEach(i -> errors.put(i, errorCodeOf(e)));
            }
        }
        submissions.record(taskId, Map.of(), errors);
    }

    private static String errorCodeOf(CloudException e) {
        return e.code() == ErrorCode.CONFLICT || e.code() == ErrorCode.FORBIDDEN ? VmErrorCode.NOT_ENOUGH_GROUP_MANAGER_CAPACITY.name()
                : VmErrorCode.UNABLE_TO_START_ON_LOCAL_CONTROLLER.name();
    }

    /** A template's hostId pins it to a local controller (id or host name) or to a group manager. */
    private String pinnedZone(String hostId, List<GroupManagers.GroupManager> groups, VmTemplate template) {
        if (hostId == null || hostId.isEmpty()) {
            return null;
        }
        Optional<Host> host = findLocalController(hostId);
        if (host.isPresent()) {
            return host.get().zone() + ":" + host.get().name();
        }
        GroupManagers.GroupManager group = groups.stream().filter(g -> g.id().equals(hostId)).findFirst().orElseThrow(InvalidHostId::new);
        // Pinned to a group manager: the least loaded of its local controllers that are up.
        Map<String, ServerStore.HostUsage> usage = serverStore.usageByHost();
        return group.localControllers().stream().filter(hosts::isUp).filter(Host::serviceEnabled)
                .min(Comparator.comparingLong(h -> usage.getOrDefault(h.name(), ServerStore.HostUsage.none(h.name())).ramMb() - h.memoryMb()))
                .map(h -> h.zone() + ":" + h.name())
                .orElseThrow(() -> CloudException.conflict("group manager %s has no local controller up", hostId));
    }

    private static final class InvalidHostId extends RuntimeException {
        InvalidHostId() {
            super(null, null, false, false);
        }
    }

    /** A private flavor per shape (vcpus, MB), made on first use: Compute servers need one. */
    private Flavor flavorFor(VmTemplate template) {
        String id = "snooze-" + template.vcpus() + "c-" + template.memoryMb() + "m";
        try {
            return flavors.get(operator, id);
        } catch (CloudException missing) {
            try {
                return flavors.create(id, id, template.vcpus(), template.memoryMb(), 0, 0, 0, 1.0, false,
                        "Snooze template shape " + template.vcpus() + " vCPU, " + template.memoryMb() + " MB");
            } catch (CloudException raced) {
                return flavors.get(operator, id);     // another submission made it meanwhile
            }
        }
    }

    /**
     * The per-VM metadata of a submission, or empty while any of its VMs is still being placed
     * or built (Snooze answers null until the whole cluster is settled).
     */
    public Optional<ClusterResponse> virtualClusterResponse(String taskId) {
        SubmissionStore.Submission submission = submissions.find(taskId)
                .orElseThrow(() -> CloudException.notFound("virtual cluster task %s is not known", taskId));
        List<VmReport> reports = new ArrayList<>();
        for (SubmissionStore.SubmittedVm vm : submission.vms()) {
            if (vm.errorCode() != null) {
                reports.add(new VmReport(vm, null, VmStatus.ERROR, VmErrorCode.valueOf(vm.errorCode())));
                continue;
            }
            if (vm.serverId() == null) {
                return Optional.empty();
            }
            Optional<Server> server = serverStore.find(vm.serverId());
            if (server.isEmpty()) {
                return Optional.empty();
            }
            Server s = server.get();
            if (s.vmState() == VmState.BUILDING && !s.deleted()) {
                return Optional.empty();
            }
            VmStatus status = VmStatus.of(s);
            reports.add(new VmReport(vm, s, status, status == VmStatus.ERROR ? errorOf(s) : VmErrorCode.UNKNOWN));
        }
        return Optional.of(new ClusterResponse(taskId, submission.errorCode(), reports));
    }

    private static VmErrorCode errorOf(Server server) {
        String message = server.fault() == null || server.fault().message() == null ? "" : server.fault().message();
        return message.contains("No valid host") ? VmErrorCode.NOT_ENOUGH_LOCAL_CONTROLLER_CAPACITY : VmErrorCode.FAILED_TO_START_ON_HYPERVISOR;
    }

    public record ClusterResponse(String taskId, String errorCode, List<VmReport> vms) {}

    /** One VM of a response: what was asked (submission) and what Compute made of it (server, may be null). */
    public record VmReport(SubmissionStore.SubmittedVm submitted, Server server, VmStatus status, VmErrorCode errorCode) {}

    // ------------------------------------------------------------------ VM commands

    public enum Command {
        SUSPEND, RESUME, SHUTDOWN, DESTROY, REBOOT
    }

    /** Snooze's VM commands mapped onto Compute actions; Compute's state rules answer 409 where Snooze's refuse. */
    public void command(String vmId, Command command) {
        Server server = vm(vmId);
        switch (command) {
            case SUSPEND -> servers.act(operator, server.id(), ServerService.PowerAction.PAUSE);
            case RESUME -> servers.act(operator, server.id(), server.vmState() == VmState.SUSPENDED
                    ? ServerService.PowerAction.RESUME : ServerService.PowerAction.UNPAUSE);
            case SHUTDOWN -> servers.act(operator, server.id(), ServerService.PowerAction.STOP);
            case REBOOT -> servers.act(operator, server.id(), ServerService.PowerAction.REBOOT_SOFT);
            case DESTROY -> servers.delete(operator, server.id());
        }
    }

    /** Live-migrates a VM to a local controller (id or host name). */
    public void migrate(String vmId, String localControllerId) {
        Server server = vm(vmId);
        Host destination = findLocalController(localControllerId)
                .orElseThrow(() -> CloudException.badRequest("INVALID_HOST_ID: local controller %s is not known", localControllerId));
        servers.liveMigrate(operator, server.id(), destination.name(), ServerService.MigrationRules.NOVA);
    }

    private Server vm(String vmId) {
        if (vmId == null || vmId.isBlank()) {
            throw CloudException.badRequest("a virtual machine id is required");
        }
        return serverStore.find(vmId).filter(s -> !s.deleted())
                .orElseThrow(() -> CloudException.notFound("virtual machine %s is not known", vmId));
    }

    // ------------------------------------------------------------------ hierarchy

    public HierarchyView hierarchy() {
        return reader.view();
    }

    public Map<String, HierarchyReader.Placement> placements() {
        return reader.placements();
    }

    public Optional<Host> findLocalController(String idOrName) {
        return reader.findLocalController(idOrName);
    }

    public String wakeupDriver() {
        return coordinator.energy().driverName();
    }

    public java.time.Duration timeOff(String host) {
        return coordinator.energy().timeOff().getOrDefault(host, java.time.Duration.ZERO);
    }
}
