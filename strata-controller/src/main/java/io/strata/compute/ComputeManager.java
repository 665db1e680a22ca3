package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.agent.AgentApi;
import io.strata.agent.BootImages;
import io.strata.core.CloudException;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out what the API accepted: builds, power actions and deletes, each on its own virtual
 * thread, against the agent of the server's host. Every step is written to the store before the
 * agent is asked and confirmed after it answers, so {@link #recover()} can finish or undo
 * whatever a crash interrupted.
 */
public final class ComputeManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ComputeManager.class);
    /** Nova's scheduler_max_attempts: how many hosts a build tries before giving up. */
    private static final int MAX_BUILD_ATTEMPTS = 3;

    private final ServerStore servers;
    private final HostRegistry hosts;
    private final Scheduler scheduler;
    private final AddressPool addresses;
    private final Function<Server, BuildInputs> buildInputs;
    private final Clock clock;
    private final ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor();
    /** Distributed mode: who runs each operation (null in the all-in-one, where this process runs them all). */
    private final OperationOwners owners;
    private final String controllerId;
    /** Set while stopping: interrupted tasks then leave their task state for recovery instead of failing. */
    private volatile boolean closing;

    /**
     * What a build needs beyond the server row: boot images and public keys (resolved by the
     * service), or for a clone the live image it resumes from ({@code launch}, else null).
     */
    public record BuildInputs(BootImages images, Map<String, String> publicKeys, LaunchSource launch) {
        public BuildInputs(BootImages images, Map<String, String> publicKeys) {
            this(images, publicKeys, null);
        }
    }

    public ComputeManager(ServerStore servers, HostRegistry hosts, Scheduler scheduler, AddressPool addresses,
            Function<Server, BuildInputs> buildInputs, Clock clock) {
        this(servers, hosts, scheduler, addresses, buildInputs, clock, null, null);
    }

    /**
     * @param owners where this controller records the operations it runs, so that the leader can
     *        finish them if it dies; null in the all-in-one
     * @param controllerId this process's incarnation id (new at every start)
     */
    public ComputeManager(ServerStore servers, HostRegistry hosts, Scheduler scheduler, AddressPool addresses,
            Function<Server, BuildInputs> buildInputs, Clock clock, OperationOwners owners, String controllerId) {
        if ((owners == null) != (controllerId == null)) {
            throw new IllegalArgumentException("owners and controllerId go together");
        }
        this.owners = owners;
        this.controllerId = controllerId;
        this.servers = requireNonNull(servers, "servers is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.scheduler = requireNonNull(scheduler, "scheduler is null");
        this.addresses = requireNonNull(addresses, "addresses is null");
        this.buildInputs = requireNonNull(buildInputs, "buildInputs is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    // ------------------------------------------------------------------ build

    public void build(Server server) {
        claim(server.id());
        submit(() -> runBuild(server.id(), null));
    }

    /** Rebuilds an evacuated server (already reset to scheduling) away from the host it held. */
    public void evacuate(Server server, String fromHost) {
        scheduler.release(fromHost, server.flavor());
        claim(server.id());
        submit(() -> {
            // A host forced down may still run the old VM: remove it if its agent answers; a host
            // that is really gone has it removed by the reconciliation when it returns.
            hosts.findAgent(fromHost).ifPresent(agent -> destroyQuietly(agent, server.id()));
            runBuild(server.id(), null, true);
        });
    }

    /** Builds with inputs the caller already resolved (every server of one create request shares them). */
    public void build(Server server, BuildInputs inputs) {
        claim(server.id());
        submit(() -> runBuild(server.id(), inputs));
    }

    private void runBuild(String id, BuildInputs resolved) {
        runBuild(id, resolved, false);
    }

    /** @param evacuating a host the server was forced onto (az:host) is the dead one: let the scheduler choose */
    private void runBuild(String id, BuildInputs resolved, boolean evacuating) {
        Set<String> tried = new HashSet<>();
        String lastError = null;
        for (int attempt = 1; attempt <= MAX_BUILD_ATTEMPTS; attempt++) {
            Server server = servers.find(id).orElse(null);
            if (server == null || server.deleted() || server.taskState() == TaskState.DELETING) {
                return;
            }
            BuildInputs inputs;
            try {
                inputs = resolved != null ? resolved : buildInputs.apply(server);
            } catch (RuntimeException e) {
                servers.fail(id, new Fault(400, e.getMessage(), null, now()), io.strata.compute.PowerState.NOSTATE, now());
                return;
            }
            // Clones go wherever the scheduler puts them: every host of this process reads the
            // image's files where its host wrote them (see LaunchSource).
            String forcedHost = evacuating ? null : forcedHostOf(server);
            Host host;
            try {
                host = scheduler.select(new Scheduler.Request(server.flavor(), zoneOf(server), forcedHost, tried, server.projectId(),
                        server.id()));
            } catch (CloudException e) {
                String message = attempt == 1 ? Scheduler.NO_VALID_HOST
                        : Scheduler.NO_VALID_HOST + " Exceeded max scheduling attempts " + (attempt - 1) + " for instance " + id
                                + ". Last exception: " + lastError;
                servers.fail(id, new Fault(500, Scheduler.NO_VALID_HOST, message, now()), io.strata.compute.PowerState.NOSTATE, now());
                log.warn("server {} could not be placed: {}", id, message);
                return;
            }
            tried.add(host.name());
            if (!servers.place(id, host.name(), host.zone(), now())) {
                // Deleted while we were choosing: give the claim back and stop.
                scheduler.release(host.name(), server.flavor());
                return;
            }
            try {
                AgentApi agent = hosts.agent(host.name());
                LaunchSource launch = inputs.launch();
                VmInfo vm = launch == null
                        ? agent.spawn(specOf(server, inputs.publicKeys(), Map.of(), 0), inputs.images())
                        : agent.launch(launch.image(), specOf(server, inputs.publicKeys(), launch.guestParams(), launch.targetMemoryMb()));
                recordDetails(id, vm);
                if (!servers.finishTask(id, TaskState.SPAWNING, VmState.ACTIVE, vm.powerState(), now())) {
                    // Deleted while spawning: the delete could not see the VM yet, so remove it here.
                    destroyQuietly(agent, id);
                    scheduler.release(host.name(), server.flavor());
                }
                return;
            } catch (RuntimeException e) {
                if (closing) {
                    log.info("build of server {} interrupted by shutdown; it resumes at the next start", id);
                    return;
                }
                lastError = e.getMessage();
                log.warn("server {} failed to spawn on {} (attempt {}): {}", id, host.name(), attempt, e.getMessage());
                hosts.findAgent(host.name()).ifPresent(agent -> destroyQuietly(agent, id));
                scheduler.release(host.name(), server.flavor());
                if (!servers.advanceTask(id, TaskState.SPAWNING, TaskState.SCHEDULING, now())) {
                    return;
                }
                if (e instanceof CloudException cloud && cloud.code().isClientError() && !(e instanceof HypervisorException)) {
                    // Bad input (an image gone inactive, say) fails the same on every host.
                    servers.fail(id, new Fault(400, e.getMessage(), null, now()), io.strata.compute.PowerState.NOSTATE, now());
                    return;
                }
            }
        }
        servers.fail(id, new Fault(500, "Build of instance " + id + " aborted: " + lastError,
                "Exceeded max scheduling attempts " + MAX_BUILD_ATTEMPTS + " for instance " + id, now()),
                io.strata.compute.PowerState.NOSTATE, now());
    }

    private static String zoneOf(Server server) {
        String zone = server.requestedZone();
        if (zone == null) {
            return null;
        }
        int colon = zone.indexOf(':');
        String name = colon < 0 ? zone : zone.substring(0, colon);
        return name.isEmpty() ? null : name;
    }

    private static String forcedHostOf(Server server) {
        String zone = server.requestedZone();
        if (zone == null || zone.indexOf(':') < 0) {
            return null;
        }
        String rest = zone.substring(zone.indexOf(':') + 1);
        int colon = rest.indexOf(':');
        String host = colon < 0 ? rest : rest.substring(0, colon);
        return host.isEmpty() ? null : host;
    }

    /** The VM a server asks for, as the hypervisor SPI describes it. */
    public VmSpec specOf(Server server, Map<String, String> publicKeys, Map<String, String> guestParams, int targetMemoryMb) {
        byte[] userData = server.userData() == null ? null : Base64.getMimeDecoder().decode(server.userData());
        NetworkSpec network = new NetworkSpec(server.macAddress(), server.ipAddress(), addresses.prefixLength(), addresses.gateway(),
                List.of("10.0.2.3"), server.sshPort() > 0 ? server.sshPort() : NetworkSpec.ANY_PORT);
        return new VmSpec(server.id(), server.name(), server.hostname(), server.flavor().vcpus(), server.flavor().ramMb(),
                server.flavor().diskGb(), io.strata.hypervisor.BootSource.none(), userData, server.metadata(), publicKeys, network,
                guestParams, targetMemoryMb);
    }

    private void recordDetails(String id, VmInfo vm) {
        String port = vm.details().get("ssh_port");
        if (port != null) {
            servers.setSshPort(id, Integer.parseInt(port));
        }
    }

    // ------------------------------------------------------------------ actions

    /**
     * Runs a power action whose task state the caller has already set. On success the server
     * takes {@code onSuccess}; on failure it keeps its state, with the power state the host
     * reports, and the task is cleared.
     */
    public void act(Server server, TaskState task, VmAction action, VmState onSuccess) {
        claim(server.id());
        submit(() -> {
            AgentApi agent;
            try {
                agent = hosts.agent(server.host());
            } catch (CloudException e) {
                servers.finishTask(server.id(), task, server.vmState(), server.powerState(), now());
                log.warn("{} of server {} failed: {}", action, server.id(), e.getMessage());
                return;
            }
            try {
                VmInfo vm = agent.act(server.id(), action);
                recordDetails(server.id(), vm);
                servers.finishTask(server.id(), task, onSuccess, vm.powerState(), now());
            } catch (RuntimeException e) {
                if (closing) {
                    return;
                }
                log.warn("{} of server {} failed: {}", action, server.id(), e.getMessage());
                Optional<VmInfo> actual = findQuietly(agent, server.id());
                servers.finishTask(server.id(), task, actual.map(vm -> vmStateFor(vm.powerState(), server.vmState())).orElse(server.vmState()),
                        actual.map(VmInfo::powerState).orElse(server.powerState()), now());
            }
        });
    }

    /** The vm_state that matches what a hypervisor reports. */
    static VmState vmStateFor(io.strata.compute.PowerState power, VmState current) {
        return switch (power) {
            case RUNNING -> VmState.ACTIVE;
            case PAUSED -> VmState.PAUSED;
            case SUSPENDED -> VmState.SUSPENDED;
            case SHUTDOWN, CRASHED -> VmState.STOPPED;
            case NOSTATE -> current;
        };
    }

    // ------------------------------------------------------------------ live migration

    /**
     * Moves a running server to {@code destination} (chosen by the caller, resources not yet
     * claimed) with the hypervisor's live migration; the caller has set task MIGRATING. The guest
     * keeps running on the source until the destination runs it; any failure leaves it there.
     */
    public void liveMigrate(Server server, String destination) {
        claim(server.id());
        submit(() -> runLiveMigration(server.id(), destination));
    }

    private void runLiveMigration(String id, String destination) {
        Server server = servers.find(id).orElse(null);
        if (server == null || server.deleted() || server.taskState() != TaskState.MIGRATING) {
            return;
        }
        String source = server.host();
        Host claimed;
        try {
            claimed = scheduler.select(new Scheduler.Request(server.flavor(), null, destination, Set.of(source)));
        } catch (CloudException e) {
            abortMigration(server, "no room on " + destination + ": " + e.getMessage());
            return;
        }
        AgentApi from = hosts.agent(source);
        AgentApi to;
        try {
            to = hosts.agent(claimed.name());
        } catch (CloudException e) {
            scheduler.release(claimed.name(), server.flavor());
            abortMigration(server, e.getMessage());
            return;
        }
        boolean incomingPrepared = false;
        try {
            BuildInputs inputs = buildInputs.apply(server);
            MigrationSource described = from.migrationSource(id);
            LaunchSource launch = inputs.launch();
            VmSpec spec = specOf(server, inputs.publicKeys(), launch == null ? Map.of() : launch.guestParams(),
                    launch == null ? 0 : launch.targetMemoryMb());
            // The source still holds its SSH forward port; the destination picks its own.
            spec = spec.withNetwork(spec.network().withSshHostPort(NetworkSpec.ANY_PORT));
            MigrationTarget target = to.prepareIncoming(spec, described, launch == null ? inputs.images() : null);
            incomingPrepared = true;
            from.migrateOut(id, target);
            VmInfo vm = to.completeIncoming(id);
            servers.moveHost(id, claimed.name(), claimed.zone(), now());
            recordDetails(id, vm);
            servers.finishTask(id, TaskState.MIGRATING, VmState.ACTIVE, vm.powerState(), now());
            scheduler.release(source, server.flavor());
            log.info("server {} live-migrated from {} to {}", id, source, claimed.name());
        } catch (RuntimeException e) {
            if (closing) {
                log.info("live migration of server {} interrupted by shutdown", id);
                return;
            }
            log.warn("live migration of server {} from {} to {} failed: {}", id, source, claimed.name(), e.getMessage());
            if (incomingPrepared) {
                destroyQuietly(to, id);
            }
            scheduler.release(claimed.name(), server.flavor());
            abortMigration(server, e.getMessage());
        }
    }

    /** A migration that did not happen leaves the server where it runs, in the state its host reports. */
    private void abortMigration(Server server, String reason) {
        Optional<VmInfo> vm = hosts.findAgent(server.host()).flatMap(agent -> findQuietly(agent, server.id()));
        VmState state = vm.map(v -> vmStateFor(v.powerState(), VmState.ACTIVE)).orElse(VmState.ACTIVE);
        servers.finishTask(server.id(), TaskState.MIGRATING, state, vm.map(VmInfo::powerState).orElse(server.powerState()), now());
        log.warn("server {} stays on {}: {}", server.id(), server.host(), reason);
    }

    // ------------------------------------------------------------------ delete

    public void delete(Server server) {
        claim(server.id());
        submit(() -> runDelete(server.id()));
    }

    private void runDelete(String id) {
        Server server = servers.find(id).orElse(null);
        if (server == null || server.deleted()) {
            return;
        }
        if (server.host() != null) {
            Optional<AgentApi> agent = hosts.findAgent(server.host());
            if (agent.isPresent()) {
                try {
                    agent.get().destroy(id);
                } catch (RuntimeException e) {
                    log.warn("delete of server {} on {} failed: {}", id, server.host(), e.getMessage());
                    servers.fail(id, new Fault(500, "Failed to delete the server on " + server.host() + ": " + e.getMessage(), null, now()),
                            server.powerState(), now());
                    return;
                }
            } else {
                // Nova's "local delete": the host is gone, so the record goes; its reconciliation
                // removes the VM if the host ever comes back.
                log.warn("server {} deleted while its host {} is not connected", id, server.host());
            }
        }
        servers.markDeleted(id, now());
        addresses.release(server.ipAddress());
        scheduler.release(server.host(), server.flavor());
    }

    // ------------------------------------------------------------------ events and recovery

    /** A VM changed on its own (the guest powered off, QEMU died): record it as Nova's power sync does. */
    public void onVmEvent(String host, VmEvent event) {
        Server server = servers.find(event.vmId()).orElse(null);
        if (server == null || server.deleted() || !host.equals(server.host())) {
            return;
        }
        VmState state = vmStateFor(event.powerState(), server.vmState());
        if (servers.syncPowerState(server.id(), state, event.powerState(), now())) {
            log.info("server {} is now {} ({})", server.id(), state.wireName(), event.message());
        }
    }

    /**
     * After a restart of this controller or a (re)join of a host: make the store and the host
     * agree. Interrupted builds and deletes are run again; other interrupted tasks take the
     * state the host reports; VMs the store does not know are removed; servers whose VM
     * vanished are marked stopped with a fault.
     */
    public void reconcile(AgentApi agent) {
        String host = agent.hostName();
        List<VmInfo> onHost;
        try {
            onHost = agent.discover();
        } catch (RuntimeException e) {
            log.warn("cannot reconcile host {}: {}", host, e.getMessage());
            return;
        }
        Set<String> known = new HashSet<>();
        for (Server server : servers.onHost(host)) {
            known.add(server.id());
            Optional<VmInfo> vm = onHost.stream().filter(v -> v.id().equals(server.id())).findFirst();
            if (server.taskState() != null || server.vmState() == VmState.BLESSED) {
                continue;   // in flight: recoverInFlight's; a live image has files on the host, not a VM
            }
            if (vm.isEmpty() && server.vmState() != VmState.ERROR && server.vmState() != VmState.BUILDING) {
                servers.fail(server.id(), new Fault(500, "The VM of this server vanished from host " + host + ".", null, now()),
                        io.strata.compute.PowerState.SHUTDOWN, now());
                servers.syncPowerStateForced(server.id(), VmState.STOPPED, io.strata.compute.PowerState.SHUTDOWN, now());
            } else if (vm.isPresent() && vm.get().powerState() != server.powerState()) {
                servers.syncPowerState(server.id(), vmStateFor(vm.get().powerState(), server.vmState()), vm.get().powerState(), now());
            }
        }
        for (VmInfo vm : onHost) {
            if (!known.contains(vm.id())) {
                Optional<Server> server = servers.find(vm.id());
                if (server.isPresent() && !server.get().deleted() && server.get().taskState() == TaskState.MIGRATING) {
                    continue;   // one half of an interrupted live migration: recoverInFlight decides which half lives
                }
                if (server.isEmpty() || server.get().deleted() || server.get().host() == null || !host.equals(server.get().host())) {
                    log.warn("removing VM {} from host {}: no live server owns it", vm.id(), host);
                    destroyQuietly(agent, vm.id());
                }
            }
        }
    }

    /** Finishes or rolls back the operations that were in flight when the controller stopped. */
    public void recoverInFlight() {
        for (Server server : servers.inFlight()) {
            recover(server);
        }
    }

    /**
     * Distributed mode, on the leader: takes over and finishes the operations of controllers that
     * are gone ({@code liveControllers} are the incarnations holding a ZooKeeper session).
     * Operations nobody claimed are taken only once older than {@code unownedBefore}, since their
     * controller may be between accepting them and claiming them. Returns how many it took.
     */
    public int recoverOrphans(java.util.Set<String> liveControllers, Instant unownedBefore) {
        if (owners == null) {
            return 0;
        }
        Map<String, String> owner = owners.all();
        int taken = 0;
        for (Server server : servers.inFlight()) {
            String current = owner.get(server.id());
            boolean orphan = current == null ? server.updatedAt() != null && server.updatedAt().isBefore(unownedBefore)
                    : !current.equals(controllerId) && !liveControllers.contains(current);
            if (orphan && owners.takeOver(server.id(), current, controllerId, now())) {
                log.info("server {}: taking over its {} from controller {}, which is gone", server.id(),
                        server.taskState() == null ? "build" : server.taskState().wireName(), current);
                recover(server);
                taken++;
            }
        }
        return taken;
    }

    private void recover(Server server) {
        TaskState task = server.taskState();
        if (task == TaskState.BLESSING) {
            return;   // the live image service settles both the source and the image
        }
        if (task == TaskState.MIGRATING) {
            settleMigration(server);
            return;
        }
        if (task == TaskState.DELETING) {
            log.info("resuming delete of server {}", server.id());
            delete(server);
        } else if (server.vmState() == VmState.BUILDING) {
            resumeBuild(server);
        } else if (task != null) {
            Optional<VmInfo> vm = server.host() == null ? Optional.empty()
                    : hosts.findAgent(server.host()).flatMap(agent -> findQuietly(agent, server.id()));
            VmState state = vm.map(v -> vmStateFor(v.powerState(), server.vmState())).orElse(server.vmState());
            servers.finishTask(server.id(), task, state, vm.map(VmInfo::powerState).orElse(server.powerState()), now());
            log.info("server {}: interrupted {} settled as {}", server.id(), task.wireName(), state.wireName());
        }
    }

    /**
     * A live migration the controller did not see finish: the copy that runs wins. The source's
     * VM keeps the server unless it is gone or no longer running and another host runs it (the
     * stream completed); the other half is removed.
     */
    private void settleMigration(Server server) {
        String id = server.id();
        Optional<VmInfo> onSource = hosts.findAgent(server.host()).flatMap(agent -> findQuietly(agent, id));
        String winner = server.host();
        VmInfo winnerVm = onSource.orElse(null);
        if (onSource.isEmpty() || onSource.get().powerState() != io.strata.compute.PowerState.RUNNING) {
            for (AgentApi agent : hosts.agents()) {
                if (!agent.hostName().equals(server.host())) {
                    Optional<VmInfo> vm = findQuietly(agent, id);
                    if (vm.isPresent() && vm.get().powerState() == io.strata.compute.PowerState.RUNNING) {
                        winner = agent.hostName();
                        winnerVm = vm.get();
                        break;
                    }
                }
            }
        }
        for (AgentApi agent : hosts.agents()) {
            if (!agent.hostName().equals(winner) && findQuietly(agent, id).isPresent()) {
                log.info("server {}: removing the unfinished half of a live migration from {}", id, agent.hostName());
                destroyQuietly(agent, id);
            }
        }
        if (!winner.equals(server.host())) {
            servers.moveHost(id, winner, null, now());
            log.info("server {}: a live migration to {} finished while the controller was down", id, winner);
        }
        io.strata.compute.PowerState power = winnerVm == null ? io.strata.compute.PowerState.SHUTDOWN : winnerVm.powerState();
        servers.finishTask(id, TaskState.MIGRATING, vmStateFor(power, VmState.ACTIVE), power, now());
    }

    private void resumeBuild(Server server) {
        if (server.host() != null) {
            Optional<AgentApi> agent = hosts.findAgent(server.host());
            Optional<VmInfo> vm = agent.flatMap(a -> findQuietly(a, server.id()));
            if (vm.isPresent() && vm.get().powerState() == io.strata.compute.PowerState.RUNNING) {
                servers.finishTask(server.id(), server.taskState(), VmState.ACTIVE, vm.get().powerState(), now());
                log.info("server {}: build finished while the controller was down", server.id());
                return;
            }
            agent.ifPresent(a -> destroyQuietly(a, server.id()));
            scheduler.release(server.host(), server.flavor());
            if (server.taskState() == TaskState.SPAWNING) {
                servers.advanceTask(server.id(), TaskState.SPAWNING, TaskState.SCHEDULING, now());
            }
        }
        log.info("server {}: restarting an interrupted build", server.id());
        build(server);
    }

    private void claim(String serverId) {
        if (owners != null) {
            owners.claim(serverId, controllerId, now());
        }
    }

    private static Optional<VmInfo> findQuietly(AgentApi agent, String id) {
        try {
            return agent.find(id);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static void destroyQuietly(AgentApi agent, String id) {
        try {
            agent.destroy(id);
        } catch (RuntimeException e) {
            log.warn("could not remove VM {} from {}: {}", id, agent.hostName(), e.getMessage());
        }
    }

    private void submit(Runnable task) {
        // The request's logging context (its request id) follows the work it started, so the
        // build's and the agents' log lines carry the id the client saw.
        Map<String, String> context = org.slf4j.MDC.getCopyOfContextMap();
        tasks.submit(() -> {
            if (context != null) {
                org.slf4j.MDC.setContextMap(context);
            }
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("compute task failed", e);
            } finally {
                org.slf4j.MDC.clear();
            }
        });
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    /** Waits for running tasks a little, then stops; interrupted work is recovered at next start. */
    @Override
    public void close() {
        closing = true;
        tasks.shutdown();
        try {
            if (!tasks.awaitTermination(5, TimeUnit.SECONDS)) {
                tasks.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

}
