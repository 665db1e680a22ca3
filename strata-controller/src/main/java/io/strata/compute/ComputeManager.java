package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.agent.AgentApi;
import io.strata.agent.BootImages;
import io.strata.core.CloudException;
import io.strata.hypervisor.ColdDisk;
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
import java.util.ArrayList;
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
    /** How often a clone's progress follows its host's copy of a live image from another host. */
    private static final java.time.Duration FETCH_PROGRESS_PERIOD = java.time.Duration.ofMillis(500);

    private final ServerStore servers;
    private final ServerMigrationStore migrations;
    private final InstanceActionStore actions;
    private final HostRegistry hosts;
    private final Scheduler scheduler;
    private final AddressPool addresses;
    private final Function<Server, BuildInputs> buildInputs;
    private final Clock clock;
    private final ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor();
    private final java.util.concurrent.ScheduledExecutorService eventTimer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofVirtual().name("action-events").factory());
    static final java.time.Duration EVENT_START_DELAY = java.time.Duration.ofSeconds(1);
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

    public ComputeManager(ServerStore servers, ServerMigrationStore migrations, InstanceActionStore actions, HostRegistry hosts,
            Scheduler scheduler, AddressPool addresses, Function<Server, BuildInputs> buildInputs, Clock clock) {
        this(servers, migrations, actions, hosts, scheduler, addresses, buildInputs, clock, null, null);
    }

    /**
     * @param owners where this controller records the operations it runs, so that the leader can
     *        finish them if it dies; null in the all-in-one
     * @param controllerId this process's incarnation id (new at every start)
     */
    public ComputeManager(ServerStore servers, ServerMigrationStore migrations, InstanceActionStore actions, HostRegistry hosts,
            Scheduler scheduler, AddressPool addresses, Function<Server, BuildInputs> buildInputs, Clock clock, OperationOwners owners,
            String controllerId) {
        if ((owners == null) != (controllerId == null)) {
            throw new IllegalArgumentException("owners and controllerId go together");
        }
        this.owners = owners;
        this.controllerId = controllerId;
        this.servers = requireNonNull(servers, "servers is null");
        this.migrations = requireNonNull(migrations, "migrations is null");
        this.actions = requireNonNull(actions, "actions is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.scheduler = requireNonNull(scheduler, "scheduler is null");
        this.addresses = requireNonNull(addresses, "addresses is null");
        this.buildInputs = requireNonNull(buildInputs, "buildInputs is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    // ------------------------------------------------------------------ build

    public void build(Server server) {
        claim(server.id());
        submitBuildEvent(server.id(), () -> runBuild(server.id(), null, null, false, null));
    }

    /**
     * Rebuilds an evacuated server (already reset to scheduling) away from the host it held. When
     * that host's instance storage is shared with others (Nova's on_shared_storage), the server is
     * rebuilt on one of them from the disk it left there, so the guest keeps what it wrote;
     * otherwise (or for a live-image clone, which restarts from its image) it is built anew.
     */
    public void evacuate(Server server, String fromHost, String forcedHost, String userId) {
        String sharedStorage = sharedStorageFor(fromHost, forcedHost);
        ServerMigration migration = migrations.insert(server, ServerMigration.EVACUATION, "accepted", fromHost, forcedHost, server.flavor(),
                server.flavor(), false, userId, now());
        scheduler.release(fromHost, server.flavor());
        claim(server.id());
        submitEvent(server.id(), "compute_rebuild_instance",
                () -> runEvacuation(server.id(), migration.uuid(), fromHost, forcedHost, sharedStorage),
                () -> migrationEndedAs(migration.uuid(), "done"));
    }

    private void runEvacuation(String id, String migrationUuid, String fromHost, String forcedHost, String sharedStorage) {
        // A host forced down may still run the old VM: remove it if its agent answers; a host
        // that is really gone has it removed by the reconciliation when it returns. On shared
        // storage that waits until the new host owns the disk, or the old host would remove
        // the disk with its VM; a VM still running there holds the disk's lock meanwhile, so
        // the rebuild fails rather than run the guest twice.
        if (sharedStorage == null) {
            hosts.findAgent(fromHost).ifPresent(agent -> destroyQuietly(agent, id));
        }
        migrations.update(migrationUuid, "pre-migrating", forcedHost, now());
        try {
            runBuild(id, null, forcedHost, true, sharedStorage);
        } catch (DiskNotShared e) {
            returnToFailedHost(id, fromHost, e.getMessage());
            migrations.update(migrationUuid, "failed", null, now());
            return;
        }
        Server after = servers.find(id).orElse(null);
        boolean done = after != null && after.vmState() == VmState.ACTIVE && after.host() != null;
        if (sharedStorage != null && done) {
            hosts.findAgent(fromHost).ifPresent(agent -> destroyQuietly(agent, id));
        }
        migrations.update(migrationUuid, done ? "done" : "failed", done ? after.host() : null, now());
    }

    /** A host on the failed host's shared storage does not find the server's disk there (it came by a migration, say). */
    private static final class DiskNotShared extends RuntimeException {
        DiskNotShared(String message) {
            super(message);
        }
    }

    /**
     * The server's disk is on its failed host's own storage, not on the shared one: rebuilding it
     * from its image would lose it, so the server goes back to that host with a fault and comes
     * back with it (or an admin evacuates it to a host off the shared storage, from its image).
     */
    private void returnToFailedHost(String id, String fromHost, String why) {
        Server server = servers.find(id).orElse(null);
        if (server == null || !servers.place(id, fromHost, server.availabilityZone(), now())) {
            return;     // deleted meanwhile
        }
        scheduler.refresh(servers.usageOf(fromHost));
        servers.fail(id, new Fault(500, "Compute host " + fromHost + " is down and the server's disk is not on its shared instance storage.",
                why + "; the server stays on " + fromHost + " until it returns.", now()), io.strata.compute.PowerState.NOSTATE, now());
        log.warn("server {}: not evacuated from {}: its disk is not on the shared instance storage ({})", id, fromHost, why);
    }

    /**
     * The instance storage an evacuated server's disk is on, if the destination can see it: the
     * failed host's shared storage, when an admin named no host or named one on the same storage.
     */
    private String sharedStorageFor(String fromHost, String forcedHost) {
        Host from = hosts.find(fromHost).orElse(null);
        if (from == null || from.sharedStorage() == null) {
            return null;
        }
        if (forcedHost != null && !hosts.find(forcedHost).map(from::sharesStorageWith).orElse(false)) {
            log.info("evacuation from {} to {}: no shared instance storage between them; the server is built anew", fromHost, forcedHost);
            return null;
        }
        return from.sharedStorage();
    }

    /**
     * Builds the servers of one request (a multiple create, a live image's clones) together, as
     * Nova's conductor schedules a request's instances at once: one scheduling pass chooses their
     * hosts and one write places them all, then each is spawned as by {@link #build}. A request's
     * servers used to be scheduled and placed one by one, fifty choices and fifty writes racing
     * for the controller's two cores, so that all of a burst's servers finished together at its
     * end (bench/RESULTS.md). Servers of a server group, or of requests that differ in flavor or
     * zone, or under several controllers (placement is checked against the shared store then),
     * are built one by one.
     */
    public void buildAll(List<Server> batch, BuildInputs inputs, boolean inServerGroup) {
        Server first = batch.get(0);
        boolean alike = batch.stream().allMatch(s -> s.flavor().equals(first.flavor())
                && java.util.Objects.equals(s.requestedZone(), first.requestedZone()));
        if (batch.size() == 1 || inServerGroup || owners != null || !alike) {
            batch.forEach(server -> build(server, inputs));
            return;
        }
        submit(() -> placeTogether(batch, inputs));
    }

    private void placeTogether(List<Server> batch, BuildInputs inputs) {
        Server first = batch.get(0);
        List<Host> chosen;
        try {
            chosen = scheduler.selectAll(new Scheduler.Request(first.flavor(), zoneOf(first), forcedHostOf(first), Set.of(),
                    first.projectId(), null), batch.size());
        } catch (RuntimeException e) {
            // The filters could not read what they need: each server tries on its own (and fails as it would have).
            log.warn("servers of request {} could not be scheduled together: {}", first.reservationId(), e.getMessage());
            chosen = List.of();
        }
        List<ServerStore.Placing> placings = new ArrayList<>();
        for (int i = 0; i < chosen.size(); i++) {
            placings.add(new ServerStore.Placing(batch.get(i).id(), chosen.get(i).name(), chosen.get(i).zone()));
        }
        Set<String> placed;
        try {
            placed = servers.placeAll(placings, now());
        } catch (RuntimeException e) {
            for (int i = 0; i < chosen.size(); i++) {
                scheduler.release(chosen.get(i).name(), batch.get(i).flavor());
            }
            log.warn("servers of request {} could not be placed together: {}", first.reservationId(), e.getMessage());
            batch.forEach(server -> build(server, inputs));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            Server server = batch.get(i);
            if (i >= chosen.size()) {
                // No room left for it: its own build tries again and fails with NoValidHost as Nova's would.
                build(server, inputs);
            } else if (!placed.contains(server.id())) {
                scheduler.release(chosen.get(i).name(), server.flavor());     // deleted meanwhile
            } else {
                Host host = chosen.get(i);
                submitBuildEvent(server.id(), () -> runBuild(server.id(), inputs, null, false, null, server, host));
            }
        }
    }

    /** Builds with inputs the caller already resolved (every server of one create request shares them). */
    public void build(Server server, BuildInputs inputs) {
        claim(server.id());
        submitBuildEvent(server.id(), () -> runBuild(server, inputs));
    }

    /**
     * Builds a server whose row was just written: the first attempt starts from {@code inserted}
     * instead of reading it again (one read less per server of a burst). A delete in between is
     * still seen: placing is conditional on the row being undeleted and still scheduling.
     */
    private String runBuild(Server inserted, BuildInputs resolved) {
        return runBuild(inserted.id(), resolved, null, false, null, inserted, null);
    }

    private String runBuild(String id, BuildInputs resolved, String hostOverride, boolean evacuating, String sharedStorage) {
        return runBuild(id, resolved, hostOverride, evacuating, sharedStorage, null, null);
    }

    /**
     * @param hostOverride the host an admin named (evacuate to a host), over the one the server's zone may force
     * @param evacuating a host the server was forced onto (az:host) is the dead one: let the scheduler choose
     * @param sharedStorage evacuation on shared storage: only hosts on this storage are chosen, and they
     *        rebuild the VM from its disk there (a live-image clone is launched anew all the same)
     * @param inserted the row as just written, for the first attempt (null: read it)
     * @param placedOn the host the first attempt was already placed on (see {@link #buildAll}), or null
     */
    private String runBuild(String id, BuildInputs resolved, String hostOverride, boolean evacuating, String sharedStorage, Server inserted,
            Host placedOn) {
        Set<String> tried = new HashSet<>();
        Set<String> elsewhere = new HashSet<>();
        if (sharedStorage != null) {
            // Hosts that do not see the disk are out of the choice, as if tried already.
            hosts.hosts().stream().filter(h -> !sharedStorage.equals(h.sharedStorage())).forEach(h -> elsewhere.add(h.name()));
        }
        String lastError = null;
        long buildBegan = System.nanoTime();
        for (int attempt = 1; attempt <= MAX_BUILD_ATTEMPTS; attempt++) {
            Server server = attempt == 1 && inserted != null ? inserted : servers.find(id).orElse(null);
            if (server == null || server.deleted() || server.taskState() == TaskState.DELETING) {
                return null;
            }
            BuildInputs inputs;
            try {
                inputs = resolved != null ? resolved : buildInputs.apply(server);
            } catch (RuntimeException e) {
                servers.fail(id, new Fault(400, e.getMessage(), null, now()), io.strata.compute.PowerState.NOSTATE, now());
                return null;
            }
            // Clones go wherever the scheduler puts them: hosts of this process read the image's
            // files where its host wrote them, remote agents copy them first (see LaunchSource).
            String forcedHost = hostOverride != null ? hostOverride : evacuating ? null : forcedHostOf(server);
            boolean fromSharedDisk = sharedStorage != null && inputs.launch() == null;
            Set<String> excluded = tried;
            if (fromSharedDisk) {
                excluded = new HashSet<>(tried);
                excluded.addAll(elsewhere);
            }
            Host host;
            long chosenAt;
            if (attempt == 1 && placedOn != null) {
                // Chosen and placed with the other servers of its request (see buildAll).
                host = placedOn;
                tried.add(host.name());
                chosenAt = System.nanoTime();
            } else {
                try {
                    host = scheduler.select(new Scheduler.Request(server.flavor(), zoneOf(server), forcedHost, excluded, server.projectId(),
                            server.id()));
                } catch (CloudException e) {
                    String message = attempt == 1 ? Scheduler.NO_VALID_HOST
                            : Scheduler.NO_VALID_HOST + " Exceeded max scheduling attempts " + (attempt - 1) + " for instance " + id
                                    + ". Last exception: " + lastError;
                    servers.fail(id, new Fault(500, Scheduler.NO_VALID_HOST, message, now()), io.strata.compute.PowerState.NOSTATE, now());
                    log.warn("server {} could not be placed: {}", id, message);
                    return null;
                }
                tried.add(host.name());
                chosenAt = System.nanoTime();
                ServerStore.Placement placement = owners == null
                        ? (servers.place(id, host.name(), host.zone(), now()) ? ServerStore.Placement.PLACED : ServerStore.Placement.GONE)
                        // Other controllers place onto the same hosts: the store has the last word on room.
                        : servers.placeWithin(id, host.name(), host.zone(), server.flavor(), scheduler.capacityOf(host), now());
                if (placement == ServerStore.Placement.GONE) {
                    // Deleted while we were choosing: give the claim back and stop.
                    scheduler.release(host.name(), server.flavor());
                    return null;
                }
                if (placement == ServerStore.Placement.FULL) {
                    // Another controller filled it meanwhile: learn what it holds and choose again
                    // (not a failed attempt: nothing was tried on the host).
                    scheduler.release(host.name(), server.flavor());
                    scheduler.refresh(servers.usageOf(host.name()));
                    log.info("server {}: host {} was filled by another controller meanwhile; choosing again", id, host.name());
                    attempt--;
                    continue;
                }
            }
            long placedAt = System.nanoTime();
            try {
                AgentApi agent = hosts.agent(host.name());
                LaunchSource launch = inputs.launch();
                VmInfo vm = fromSharedDisk
                        ? agent.rebuildFromSharedDisk(specOf(server, inputs.publicKeys(), Map.of(), 0), inputs.images())
                        : launch == null
                        ? agent.spawn(specOf(server, inputs.publicKeys(), Map.of(), 0), inputs.images())
                        : launchClone(agent, id, launch, specOf(server, inputs.publicKeys(), launch.guestParams(), launch.targetMemoryMb()));
                long spawnedAt = System.nanoTime();
                boolean built = servers.finishTask(id, TaskState.SPAWNING, VmState.ACTIVE, vm.powerState(), sshPortOf(vm), now());
                if (!built) {
                    // Deleted while spawning: the delete could not see the VM yet, so remove it here.
                    destroyQuietly(agent, id);
                    scheduler.release(host.name(), server.flavor());
                }
                log.debug("server {} built on {}: chosen after {} ms, placed {} ms, spawned {} ms, recorded {} ms", id, host.name(),
                        (chosenAt - buildBegan) / 1_000_000,
                        (placedAt - chosenAt) / 1_000_000, (spawnedAt - placedAt) / 1_000_000, (System.nanoTime() - spawnedAt) / 1_000_000);
                return built ? host.name() : null;
            } catch (RuntimeException e) {
                if (closing) {
                    log.info("build of server {} interrupted by shutdown; it resumes at the next start", id);
                    return null;
                }
                if (fromSharedDisk && e instanceof CloudException cloud && cloud.code() == io.strata.core.ErrorCode.NOT_FOUND) {
                    // No host of the storage will find the disk: stop here (nothing was made on this one).
                    scheduler.release(host.name(), server.flavor());
                    servers.advanceTask(id, TaskState.SPAWNING, TaskState.SCHEDULING, now());
                    throw new DiskNotShared(e.getMessage());
                }
                lastError = e.getMessage();
                log.warn("server {} failed to spawn on {} (attempt {}): {}", id, host.name(), attempt, e.getMessage());
                hosts.findAgent(host.name()).ifPresent(agent -> destroyQuietly(agent, id));
                scheduler.release(host.name(), server.flavor());
                if (!servers.advanceTask(id, TaskState.SPAWNING, TaskState.SCHEDULING, now())) {
                    return null;
                }
                if (e instanceof CloudException cloud && cloud.code().isClientError() && !(e instanceof HypervisorException)) {
                    // Bad input (an image gone inactive, say) fails the same on every host.
                    servers.fail(id, new Fault(400, e.getMessage(), null, now()), io.strata.compute.PowerState.NOSTATE, now());
                    return null;
                }
            }
        }
        servers.fail(id, new Fault(500, "Build of instance " + id + " aborted: " + lastError,
                "Exceeded max scheduling attempts " + MAX_BUILD_ATTEMPTS + " for instance " + id, now()),
                io.strata.compute.PowerState.NOSTATE, now());
        return null;
    }

    /**
     * Starts a clone on {@code agent}'s host. When the live image was blessed on another host, the
     * target is told where (that host's agent URL) so that it copies the files it lacks; while it
     * copies, the clone's progress shows how far the copy has come.
     */
    private VmInfo launchClone(AgentApi agent, String serverId, LaunchSource launch, VmSpec spec) {
        if (launch.host().equals(agent.hostName())) {
            return agent.launch(launch.image(), spec);
        }
        String originUrl = hosts.findAgent(launch.host()).map(AgentApi::agentUrl).orElse(null);
        if (originUrl == null && agent.agentUrl() == null) {
            // Both hosts run in this process: they share the image's files.
            return agent.launch(launch.image(), spec);
        }
        io.strata.agent.LiveImageOrigin origin = new io.strata.agent.LiveImageOrigin(launch.host(), originUrl);
        Thread watcher = Thread.ofVirtual().name("clone-progress-" + serverId).start(() -> reportFetch(agent, serverId, launch.image().id()));
        try {
            return agent.launch(launch.image(), spec, origin);
        } finally {
            watcher.interrupt();
            try {
                watcher.join(java.time.Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Copies the target host's fetch progress (0..100 of the bytes) into the clone's progress until interrupted. */
    private void reportFetch(AgentApi agent, String serverId, String liveImageId) {
        int last = -1;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(FETCH_PROGRESS_PERIOD);
                Optional<io.strata.agent.liveimage.LiveImageCache.FetchProgress> fetch = agent.liveImageFetch(liveImageId);
                if (fetch.isPresent() && fetch.get().percent() != last && !Thread.currentThread().isInterrupted()) {
                    last = fetch.get().percent();
                    servers.setProgress(serverId, last);
                    log.info("server {}: copying live image {} from {}: {}%", serverId, liveImageId, fetch.get().fromHost(), last);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.debug("server {}: no fetch progress from {}: {}", serverId, agent.hostName(), e.getMessage());
            }
        }
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
        return specOf(server, server.flavor(), publicKeys, guestParams, targetMemoryMb);
    }

    private VmSpec specOf(Server server, Flavor flavor, Map<String, String> publicKeys, Map<String, String> guestParams, int targetMemoryMb) {
        byte[] userData = server.userData() == null ? null : Base64.getMimeDecoder().decode(server.userData());
        NetworkSpec network = new NetworkSpec(server.macAddress(), server.ipAddress(), addresses.prefixLength(), addresses.gateway(),
                List.of("10.0.2.3"), server.sshPort() > 0 ? server.sshPort() : NetworkSpec.ANY_PORT);
        return new VmSpec(server.id(), server.name(), server.hostname(), flavor.vcpus(), flavor.ramMb(), flavor.diskGb(),
                io.strata.hypervisor.BootSource.none(), userData, server.metadata(), publicKeys, network,
                guestParams, targetMemoryMb);
    }

    private void recordDetails(String id, VmInfo vm) {
        Integer port = sshPortOf(vm);
        if (port != null) {
            servers.setSshPort(id, port);
        }
    }

    private static Integer sshPortOf(VmInfo vm) {
        String port = vm.details().get("ssh_port");
        return port == null ? null : Integer.valueOf(port);
    }

    // ------------------------------------------------------------------ actions

    /**
     * Runs a power action whose task state the caller has already set. On success the server
     * takes {@code onSuccess}; on failure it keeps its state, with the power state the host
     * reports, and the task is cleared.
     */
    public void act(Server server, TaskState task, VmAction action, VmState onSuccess) {
        claim(server.id());
        String event = switch (action) {
            case STOP -> "compute_stop_instance";
            case START -> "compute_start_instance";
            case REBOOT_SOFT, REBOOT_HARD -> "compute_reboot_instance";
            case PAUSE -> "compute_pause_instance";
            case UNPAUSE -> "compute_unpause_instance";
            case SUSPEND -> "compute_suspend_instance";
            case RESUME -> "compute_resume_instance";
        };
        boolean[] succeeded = new boolean[1];
        submitEvent(server.id(), event, () -> {
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
                succeeded[0] = true;
            } catch (RuntimeException e) {
                if (closing) {
                    return;
                }
                log.warn("{} of server {} failed: {}", action, server.id(), e.getMessage());
                Optional<VmInfo> actual = findQuietly(agent, server.id());
                servers.finishTask(server.id(), task, actual.map(vm -> vmStateFor(vm.powerState(), server.vmState())).orElse(server.vmState()),
                        actual.map(VmInfo::powerState).orElse(server.powerState()), now());
            }
        }, () -> succeeded[0]);
    }

    /** The vm_state that matches what a hypervisor reports. */
    static VmState vmStateFor(io.strata.compute.PowerState power, VmState current) {
        if (current == VmState.RESIZED) {
            return current;   // waiting for confirm or revert whatever the guest does meanwhile
        }
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
    public void liveMigrate(Server server, String destination, String userId) {
        ServerMigration migration = migrations.insert(server, ServerMigration.LIVE, "queued", server.host(), destination, server.flavor(),
                server.flavor(), true, userId, now());
        claim(server.id());
        submitEvent(server.id(), "compute_live_migration", () -> {
            runLiveMigration(server.id(), destination, migration);
            // The outcome, as Nova's statuses for live migrations say it.
            Server after = servers.find(server.id()).orElse(null);
            boolean moved = after != null && after.host() != null && !after.host().equals(server.host());
            if (!closing) {
                migrations.update(migration.uuid(), moved ? "completed" : "failed", moved ? after.host() : null, now());
            }
        }, () -> migrationEndedAs(migration.uuid(), "completed"));
    }

    private void runLiveMigration(String id, String destination, ServerMigration migration) {
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
        migrations.update(migration.uuid(), "running", claimed.name(), now());
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
            MigrationTarget target = launch == null ? to.prepareIncoming(spec, described, inputs.images())
                    : to.prepareIncomingClone(spec, described, launch.image().id(), cloneOrigin(launch, to));
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

    /**
     * Where a clone's live image is, for a host receiving the clone: null when that host and the
     * image's host both run in this process (they share the files).
     */
    private io.strata.agent.LiveImageOrigin cloneOrigin(LaunchSource launch, AgentApi to) {
        String originUrl = hosts.findAgent(launch.host()).map(AgentApi::agentUrl).orElse(null);
        if (originUrl == null && to.agentUrl() == null) {
            return null;
        }
        return new io.strata.agent.LiveImageOrigin(launch.host(), originUrl);
    }

    /**
     * Where a cold move's disk comes from, for a destination that may not see the source's files:
     * null when both hosts run in this process (they share them); otherwise the source host and
     * its agent URL (null when it runs here: the controller then serves its files).
     */
    private static io.strata.agent.LiveImageOrigin diskOrigin(String source, AgentApi from, AgentApi to) {
        if (from.agentUrl() == null && to.agentUrl() == null) {
            return null;
        }
        return new io.strata.agent.LiveImageOrigin(source, from.agentUrl());
    }

    /** A migration that did not happen leaves the server where it runs, in the state its host reports. */
    private void abortMigration(Server server, String reason) {
        Optional<VmInfo> vm = hosts.findAgent(server.host()).flatMap(agent -> findQuietly(agent, server.id()));
        VmState state = vm.map(v -> vmStateFor(v.powerState(), VmState.ACTIVE)).orElse(VmState.ACTIVE);
        servers.finishTask(server.id(), TaskState.MIGRATING, state, vm.map(VmInfo::powerState).orElse(server.powerState()), now());
        log.warn("server {} stays on {}: {}", server.id(), server.host(), reason);
    }

    // ------------------------------------------------------------------ cold migration and resize

    /**
     * Nova's cold migrate and resize: the caller has set task RESIZE_PREP and recorded
     * {@code migration}. The guest is powered off on its host, its disk is carried to a host
     * the scheduler picks (or {@code forcedHost}) and the VM is created there with the new flavor,
     * running again if it ran before. The server then waits in VERIFY_RESIZE with the source VM
     * kept, powered off, until {@link #confirmResize} removes it or {@link #revertResize} goes back
     * to it. Any failure on the way puts the server back on its source as it was.
     */
    public void coldMove(Server server, ServerMigration migration, String forcedHost) {
        submitEvent(server.id(), "compute_resize_instance", () -> runColdMove(server.id(), migration.uuid(), forcedHost),
                () -> migrationEndedAs(migration.uuid(), "finished"));
    }

    private void runColdMove(String id, String migrationUuid, String forcedHost) {
        Server server = servers.find(id).orElse(null);
        ServerMigration migration = migrations.findByUuid(migrationUuid).orElse(null);
        if (server == null || server.deleted() || server.taskState() != TaskState.RESIZE_PREP || migration == null) {
            return;
        }
        String source = server.host();
        Host destination;
        try {
            // Nova's allow_resize_to_same_host = False: the move always goes to another host.
            destination = scheduler.select(new Scheduler.Request(migration.newFlavor(), zoneOf(server), forcedHost, Set.of(source),
                    server.projectId(), server.id()));
        } catch (CloudException e) {
            rollBackColdMove(id, migration, false, Scheduler.NO_VALID_HOST + " " + e.getMessage());
            return;
        }
        migrations.update(migrationUuid, "migrating", destination.name(), now());
        migration = migrations.findByUuid(migrationUuid).orElseThrow();
        if (!servers.advanceTask(id, TaskState.RESIZE_PREP, TaskState.RESIZE_MIGRATING, now())) {
            scheduler.release(destination.name(), migration.newFlavor());
            return;
        }
        try {
            AgentApi from = hosts.agent(source);
            AgentApi to = hosts.agent(destination.name());
            VmInfo before = from.find(id).orElseThrow(() -> CloudException.conflict("The VM of server %s is not on %s", id, source));
            if (before.powerState() != io.strata.compute.PowerState.SHUTDOWN) {
                from.act(id, VmAction.STOP);
            }
            ColdDisk disk = from.coldDisk(id);
            advance(id, TaskState.RESIZE_MIGRATING, TaskState.RESIZE_MIGRATED);
            migrations.update(migrationUuid, "post-migrating", null, now());
            BuildInputs inputs = buildInputs.apply(server);
            if (inputs.launch() != null) {
                throw CloudException.conflict("Server %s is a live-image clone; move it with co_migrate instead", id);
            }
            VmSpec spec = specOf(server, migration.newFlavor(), inputs.publicKeys(), Map.of(), 0);
            spec = spec.withNetwork(spec.network().withSshHostPort(NetworkSpec.ANY_PORT));
            // Written before the destination VM exists: a restart that finds this step looks for it there.
            advance(id, TaskState.RESIZE_MIGRATED, TaskState.RESIZE_FINISH);
            VmInfo vm = to.createFrom(spec, inputs.images(), disk, migration.wasRunning(), diskOrigin(source, from, to));
            recordDetails(id, vm);
            if (!servers.settleColdMove(id, TaskState.RESIZE_FINISH, destination.name(), migration.newFlavor(), VmState.RESIZED,
                    vm.powerState(), migrationUuid, "finished", now())) {
                log.info("server {} was deleted during its move; removing the new VM on {}", id, destination.name());
                destroyQuietly(to, id);
                scheduler.release(destination.name(), migration.newFlavor());
                return;
            }
            log.info("server {} moved from {} to {} as {}: VERIFY_RESIZE", id, source, destination.name(), migration.newFlavor().name());
        } catch (RuntimeException e) {
            if (closing) {
                log.info("move of server {} interrupted by shutdown; it is settled at the next start", id);
                return;
            }
            log.warn("move of server {} from {} to {} failed: {}", id, source, destination.name(), e.getMessage());
            rollBackColdMove(id, migration, true, e.getMessage());
        }
    }

    private void advance(String id, TaskState from, TaskState to) {
        if (!servers.advanceTask(id, from, to, now())) {
            throw CloudException.conflict("server %s left task %s (deleted meanwhile?)", id, from.wireName());
        }
    }

    /**
     * Puts a server whose move did not finish back on its source: removes any VM made on the
     * destination, starts the source VM again if the guest ran, and ends the migration in error.
     * {@code claimed}: the destination's resources were claimed by this process (not after a restart).
     */
    private void rollBackColdMove(String id, ServerMigration migration, boolean claimed, String reason) {
        Server server = servers.find(id).orElse(null);
        if (migration.destCompute() != null) {
            hosts.findAgent(migration.destCompute()).ifPresent(agent -> destroyQuietly(agent, id));
            if (claimed) {
                scheduler.release(migration.destCompute(), migration.newFlavor());
            }
        }
        if (server == null || server.deleted() || server.taskState() == null || server.taskState() == TaskState.DELETING) {
            migrations.update(migration.uuid(), "error", null, now());
            return;
        }
        Optional<VmInfo> vm = startSourceIfItRan(id, migration);
        io.strata.compute.PowerState power = vm.map(VmInfo::powerState).orElse(io.strata.compute.PowerState.SHUTDOWN);
        VmState state = vm.isEmpty() ? VmState.ERROR : vmStateFor(power, VmState.ACTIVE);
        servers.settleColdMove(id, server.taskState(), migration.sourceCompute(), migration.oldFlavor(), state, power, migration.uuid(),
                "error", now());
        log.warn("server {} stays on {}: {}", id, migration.sourceCompute(), reason);
    }

    /** The source VM of a cold move, running again if the guest ran before the move. */
    private Optional<VmInfo> startSourceIfItRan(String id, ServerMigration migration) {
        Optional<AgentApi> source = hosts.findAgent(migration.sourceCompute());
        Optional<VmInfo> vm = source.flatMap(agent -> findQuietly(agent, id));
        if (source.isPresent() && vm.isPresent() && migration.wasRunning() && vm.get().powerState() == io.strata.compute.PowerState.SHUTDOWN) {
            try {
                vm = Optional.of(source.get().act(id, VmAction.START));
            } catch (RuntimeException e) {
                log.warn("could not start server {} again on {}: {}", id, migration.sourceCompute(), e.getMessage());
            }
        }
        return vm;
    }

    /** Confirms a move (the caller set task RESIZE_CONFIRMING): the source VM goes, the server stays where it now runs. */
    public void confirmResize(Server server, ServerMigration migration) {
        submitEvent(server.id(), "compute_confirm_resize", () -> runConfirm(server.id(), migration, true),
                () -> migrationEndedAs(migration.uuid(), "confirmed"));
    }

    private void runConfirm(String id, ServerMigration migration, boolean claimed) {
        Server server = servers.find(id).orElse(null);
        if (server == null || server.deleted() || server.taskState() != TaskState.RESIZE_CONFIRMING) {
            return;
        }
        migrations.update(migration.uuid(), "confirming", null, now());
        // A source host that is gone keeps its VM until its reconciliation removes it (no live server owns it there).
        hosts.findAgent(migration.sourceCompute()).ifPresent(agent -> destroyQuietly(agent, id));
        if (claimed) {
            scheduler.release(migration.sourceCompute(), migration.oldFlavor());
        }
        Optional<VmInfo> vm = hosts.findAgent(server.host()).flatMap(agent -> findQuietly(agent, id));
        io.strata.compute.PowerState power = vm.map(VmInfo::powerState).orElse(server.powerState());
        servers.settleColdMove(id, TaskState.RESIZE_CONFIRMING, server.host(), server.flavor(), vmStateFor(power, VmState.ACTIVE), power,
                migration.uuid(), "confirmed", now());
        log.info("server {}: move to {} confirmed", id, server.host());
    }

    /** Reverts a move (the caller set task RESIZE_REVERTING): the new VM goes, the source VM runs again with the old flavor. */
    public void revertResize(Server server, ServerMigration migration) {
        submitEvent(server.id(), "compute_revert_resize", () -> runRevert(server.id(), migration, true),
                () -> migrationEndedAs(migration.uuid(), "reverted"));
    }

    private void runRevert(String id, ServerMigration migration, boolean claimed) {
        Server server = servers.find(id).orElse(null);
        if (server == null || server.deleted() || server.taskState() != TaskState.RESIZE_REVERTING) {
            return;
        }
        migrations.update(migration.uuid(), "reverting", null, now());
        hosts.findAgent(migration.destCompute()).ifPresent(agent -> destroyQuietly(agent, id));
        if (claimed) {
            scheduler.release(migration.destCompute(), migration.newFlavor());
        }
        Optional<VmInfo> vm = startSourceIfItRan(id, migration);
        io.strata.compute.PowerState power = vm.map(VmInfo::powerState).orElse(io.strata.compute.PowerState.SHUTDOWN);
        VmState state = vm.isEmpty() ? VmState.ERROR : vmStateFor(power, VmState.ACTIVE);
        servers.settleColdMove(id, TaskState.RESIZE_REVERTING, migration.sourceCompute(), migration.oldFlavor(), state, power,
                migration.uuid(), "reverted", now());
        log.info("server {}: move reverted to {}", id, migration.sourceCompute());
    }

    /**
     * A cold move the controller did not see finish. Before the destination VM was asked for,
     * the move is undone; at its last step the destination VM decides: there, the move is kept
     * (VERIFY_RESIZE), absent, undone. An interrupted confirm or revert is run again. Either way
     * one VM runs the server and the other half is removed or kept powered off for a revert.
     */
    private void settleColdMove(Server server) {
        String id = server.id();
        ServerMigration migration = migrations.inFlight(id).filter(ServerMigration::isColdMove).orElse(null);
        if (migration == null) {
            Optional<VmInfo> vm = hosts.findAgent(server.host()).flatMap(agent -> findQuietly(agent, id));
            servers.finishTask(id, server.taskState(), vm.map(v -> vmStateFor(v.powerState(), VmState.ACTIVE)).orElse(VmState.ERROR),
                    vm.map(VmInfo::powerState).orElse(io.strata.compute.PowerState.SHUTDOWN), now());
            return;
        }
        switch (server.taskState()) {
            case RESIZE_CONFIRMING -> runConfirm(id, migration, false);
            case RESIZE_REVERTING -> runRevert(id, migration, false);
            case RESIZE_FINISH -> {
                Optional<VmInfo> moved = migration.destCompute() == null ? Optional.empty()
                        : hosts.findAgent(migration.destCompute()).flatMap(agent -> findQuietly(agent, id));
                if (moved.isPresent()) {
                    servers.settleColdMove(id, TaskState.RESIZE_FINISH, migration.destCompute(), migration.newFlavor(), VmState.RESIZED,
                            moved.get().powerState(), migration.uuid(), "finished", now());
                    log.info("server {}: its move to {} finished while the controller was down: VERIFY_RESIZE", id, migration.destCompute());
                } else {
                    rollBackColdMove(id, migration, false, "interrupted before the destination VM existed");
                }
            }
            default -> rollBackColdMove(id, migration, false, "interrupted at " + server.taskState().wireName());
        }
    }

    /**
     * The source host of a move waiting in VERIFY_RESIZE keeps its VM (powered off, for a revert)
     * and so its resources, though the server's row names the destination. The scheduler's usage,
     * rebuilt from the rows at start, learns those claims here.
     */
    public void claimKeptSources() {
        for (ServerMigration migration : migrations.coldMovesInFlight()) {
            Server server = servers.find(migration.serverId()).orElse(null);
            if (server != null && !server.deleted() && server.vmState() == VmState.RESIZED && migration.status().equals("finished")) {
                scheduler.claim(migration.sourceCompute(), migration.oldFlavor());
            }
        }
    }

    /** A VM that belongs to a server whose host is elsewhere because a move is in flight or unconfirmed. */
    private static boolean isOneHalfOfAMove(Server server) {
        TaskState task = server.taskState();
        return server.vmState() == VmState.RESIZED || task == TaskState.MIGRATING
                || (task != null && (task.isColdMoveStep() || task == TaskState.RESIZE_CONFIRMING || task == TaskState.RESIZE_REVERTING));
    }

    // ------------------------------------------------------------------ delete

    public void delete(Server server) {
        claim(server.id());
        submitEvent(server.id(), "compute_terminate_instance", () -> runDelete(server.id()),
                after -> after.map(Server::deleted).orElse(true));
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
        migrations.inFlight(id).filter(ServerMigration::isColdMove).ifPresent(m -> {
            // The other half of a cold move (the kept source, or a destination being built) goes too.
            for (String other : new String[] {m.sourceCompute(), m.destCompute()}) {
                if (other != null && !other.equals(server.host())) {
                    hosts.findAgent(other).ifPresent(agent -> destroyQuietly(agent, id));
                }
            }
            migrations.update(m.uuid(), "error", null, now());
        });
        if (servers.markDeleted(id, now())) {
            addresses.release(server.ipAddress());
            scheduler.release(server.host(), server.flavor());
        }
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
     * vanished, or whose process died while the host's agent was down (CRASHED), are marked
     * stopped with a fault.
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
            } else if (vm.isPresent() && vm.get().powerState() == io.strata.compute.PowerState.CRASHED
                    && server.powerState() != io.strata.compute.PowerState.CRASHED && server.vmState() != VmState.ERROR) {
                // The VM's process died while nobody watched (the host agent was down): stopped, with a fault saying so.
                String why = vm.get().details().getOrDefault("fault", "its process ended");
                servers.fail(server.id(), new Fault(500, "The VM of this server stopped on host " + host + " while no agent watched it: " + why,
                        null, now()), io.strata.compute.PowerState.CRASHED, now());
                servers.syncPowerStateForced(server.id(), VmState.STOPPED, io.strata.compute.PowerState.CRASHED, now());
                log.warn("server {}: its VM stopped on host {} while no agent watched it ({})", server.id(), host, why);
            } else if (vm.isPresent() && vm.get().powerState() != server.powerState()) {
                servers.syncPowerState(server.id(), vmStateFor(vm.get().powerState(), server.vmState()), vm.get().powerState(), now());
            }
        }
        for (VmInfo vm : onHost) {
            if (!known.contains(vm.id())) {
                Optional<Server> server = servers.find(vm.id());
                if (server.isPresent() && !server.get().deleted() && isOneHalfOfAMove(server.get())) {
                    continue;   // one half of a move: recoverInFlight (or confirm / revert) decides which half lives
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
        if (task != null && (task.isColdMoveStep() || task == TaskState.RESIZE_CONFIRMING || task == TaskState.RESIZE_REVERTING)) {
            settleColdMove(server);
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
            // On shared storage the attempt's host only removes the disk if it took it over, and a
            // failed take-over hands it back first.
            agent.ifPresent(a -> destroyQuietly(a, server.id()));
            scheduler.release(server.host(), server.flavor());
            if (server.taskState() == TaskState.SPAWNING) {
                servers.advanceTask(server.id(), TaskState.SPAWNING, TaskState.SCHEDULING, now());
            }
        }
        // An evacuation on shared storage goes on from the disk the dead host left, not from the image.
        Optional<ServerMigration> evacuation = migrations.inFlight(server.id()).filter(m -> ServerMigration.EVACUATION.equals(m.type()));
        String sharedStorage = evacuation.map(m -> sharedStorageFor(m.sourceCompute(), m.destCompute())).orElse(null);
        if (sharedStorage != null) {
            log.info("server {}: restarting an interrupted evacuation from {} on shared storage", server.id(), evacuation.get().sourceCompute());
            claim(server.id());
            ServerMigration m = evacuation.get();
            tasks.submit(() -> runEvacuation(server.id(), m.uuid(), m.sourceCompute(), m.destCompute(), sharedStorage));
            return;
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

    /**
     * Runs {@code task} as one event of the instance action the current request recorded (Nova's
     * instance action events): started before, finished after with Success when {@code succeeded}
     * says so, Error with the exception's trace otherwise. Work without a request (recovery at
     * start-up) records no event; work a stop interrupts keeps its event unfinished.
     *
     * <p>A step that ends within {@link #EVENT_START_DELAY} is written once, start and finish
     * together: two commits per step were a third of a create-and-delete cycle's database work on
     * the embedded store. A longer step shows as started (no finish time) once the delay passed.
     */
    private void submitEvent(String serverId, String event, Runnable task, java.util.function.BooleanSupplier succeeded) {
        submitEvent(serverId, event, task, after -> succeeded.getAsBoolean());
    }

    /**
     * @param succeeded whether the task did its work, judged from the server row as it read after
     *        the task: the same read gives the event's host, one query instead of two per step
     */
    private void submitEvent(String serverId, String event, Runnable task, java.util.function.Predicate<Optional<Server>> succeeded) {
        submitEvent(serverId, event, task, () -> {
            Optional<Server> after = servers.find(serverId);
            return new EventOutcome(succeeded.test(after), after.map(Server::host).orElse(null));
        });
    }

    /** A build's event: the build answers the host it built on (null: it did not), so no read of the row after it. */
    private void submitBuildEvent(String serverId, java.util.function.Supplier<String> build) {
        String[] builtOn = new String[1];
        submitEvent(serverId, "compute__do_build_and_run_instance", () -> builtOn[0] = build.get(),
                () -> new EventOutcome(builtOn[0] != null, builtOn[0] != null ? builtOn[0] : hostOf(serverId)));
    }

    /** How a step ended, as its event records it. */
    private record EventOutcome(boolean succeeded, String host) {}

    /**
     * @param outcomeOf how the task ended, asked after it returned only when an event is recorded
     *        (work without a request records none, and reads nothing for it)
     */
    private void submitEvent(String serverId, String event, Runnable task, java.util.function.Supplier<EventOutcome> outcomeOf) {
        submit(() -> {
            String requestId = org.slf4j.MDC.get("request_id");
            if (requestId == null) {
                task.run();
                return;
            }
            Instant start = now();
            Object lock = new Object();
            Long[] eventId = new Long[1];
            boolean[] ended = new boolean[1];
            java.util.concurrent.ScheduledFuture<?> early = eventTimer.schedule(() -> {
                synchronized (lock) {
                    if (!ended[0]) {
                        eventId[0] = recordQuietly(serverId, event, () -> actions.startEvent(serverId, requestId, event, hostOf(serverId), start));
                    }
                }
            }, EVENT_START_DELAY.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            String traceback = null;
            EventOutcome outcome = null;
            try {
                task.run();
                outcome = outcomeOf.get();
            } catch (RuntimeException e) {
                java.io.StringWriter trace = new java.io.StringWriter();
                e.printStackTrace(new java.io.PrintWriter(trace));
                traceback = trace.toString();
                throw e;
            } finally {
                early.cancel(false);
                if (!closing) {
                    String result = outcome != null && outcome.succeeded() ? "Success" : "Error";
                    String trace = traceback;
                    String host = outcome != null ? outcome.host() : hostOf(serverId);
                    Long started;
                    synchronized (lock) {
                        // From here on the timer writes nothing; if it wrote the start, we finish that row.
                        ended[0] = true;
                        started = eventId[0];
                    }
                    if (started != null) {
                        recordQuietly(serverId, event, () -> {
                            actions.finishEvent(started, result, trace, now());
                            return 0L;
                        });
                    } else {
                        recordQuietly(serverId, event, () -> {
                            actions.recordEvent(serverId, requestId, event, host, start, now(), result, trace);
                            return 0L;
                        });
                    }
                }
            }
        });
    }

    private boolean migrationEndedAs(String uuid, String status) {
        return migrations.findByUuid(uuid).map(m -> m.status().equals(status)).orElse(false);
    }

    private String hostOf(String serverId) {
        return servers.find(serverId).map(Server::host).orElse(null);
    }

    private static Long recordQuietly(String serverId, String event, java.util.function.Supplier<Long> write) {
        try {
            return write.get();
        } catch (RuntimeException e) {
            log.warn("could not record event {} of server {}: {}", event, serverId, e.getMessage());
            return null;
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
        eventTimer.shutdownNow();
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
