package io.strata.liveimage;

import static java.util.Objects.requireNonNull;

import io.strata.agent.AgentApi;
import io.strata.compute.AddressPool;
import io.strata.compute.BootInputsResolver;
import io.strata.compute.ComputeManager;
import io.strata.compute.Fault;
import io.strata.compute.HostRegistry;
import io.strata.compute.PowerState;
import io.strata.compute.Server;
import io.strata.compute.ServerService;
import io.strata.compute.ServerStore;
import io.strata.compute.TaskState;
import io.strata.compute.VmState;
import io.strata.core.CloudException;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.VmInfo;
import io.strata.identity.AuthContext;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cobalt's live images on top of compute: bless a running server into a live image (a server row
 * with status BLESSED, metadata {@code blessed_from}), launch clones that resume its memory
 * (metadata {@code launched_from}), list both ways, and discard. Blesses run in the background
 * like Cobalt's casts; the API answers with the new rows at once.
 */
public final class LiveImageService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LiveImageService.class);
    public static final String BLESSED_FROM = "blessed_from";
    public static final String LAUNCHED_FROM = "launched_from";
    public static final String TARGET_MEMORY = "target_memory_mb";

    private final ServerService servers;
    private final ServerStore serverStore;
    private final LiveImageStore store;
    private final HostRegistry hosts;
    private final AddressPool addresses;
    private final ComputeManager manager;
    private final BootInputsResolver bootInputs;
    private final Clock clock;
    private final ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService collector = Executors.newSingleThreadScheduledExecutor(
            Thread.ofVirtual().name("live-image-gc").factory());
    /** Launch and discard of one image exclude each other, so no clone starts from an image being discarded. */
    private final Map<String, Object> imageLocks = new ConcurrentHashMap<>();

    public LiveImageService(ServerService servers, ServerStore serverStore, LiveImageStore store, HostRegistry hosts, AddressPool addresses,
            ComputeManager manager, BootInputsResolver bootInputs, Clock clock) {
        this.servers = requireNonNull(servers, "servers is null");
        this.serverStore = requireNonNull(serverStore, "serverStore is null");
        this.store = requireNonNull(store, "store is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.addresses = requireNonNull(addresses, "addresses is null");
        this.manager = requireNonNull(manager, "manager is null");
        this.bootInputs = requireNonNull(bootInputs, "bootInputs is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Settles what a restart interrupted, then collects discarded images in the background. */
    public void start() {
        recover();
        collector.scheduleWithFixedDelay(this::collectQuietly, 10, 10, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------ bless

    /** co_bless: freezes a running server into a new live image; answers with the live image's row. */
    public Server bless(AuthContext auth, String serverId, String name) {
        Server source = servers.get(auth, serverId);
        if (source.metadata().containsKey(BLESSED_FROM) || source.vmState() == VmState.BLESSED) {
            throw CloudException.badRequest("Instance %s is already a live image.", serverId);
        }
        if (source.vmState() != VmState.ACTIVE || source.host() == null) {
            throw CloudException.badRequest("Instance %s is not active. Cannot create a live image from a non-active instance.", serverId);
        }
        // A clone, or a source that resumed from its own image, maps its memory from a live image:
        // freezing it again would need that image's pages too (not supported by the QEMU driver).
        store.imageRunBy(serverId).ifPresent(liveImageId -> {
            throw CloudException.badRequest("Instance %s runs from live image %s and cannot be blessed again.", serverId, liveImageId);
        });
        if (!serverStore.beginTask(serverId, TaskState.BLESSING, Set.of(VmState.ACTIVE), now())) {
            throw CloudException.conflict("Cannot 'co_bless' instance %s while it is in task_state %s", serverId,
                    serverStore.find(serverId).map(s -> s.taskState() == null ? s.vmState().wireName() : s.taskState().wireName())
                            .orElse("deleted"));
        }
        Server image;
        try {
            String imageName = name != null ? name : source.name() + "-" + store.blessedCount(serverId);
            // The image's row and its live-image record in one transaction: a failure leaves neither.
            Instant blessedAt = now();
            image = insertCopies(auth, source, List.of(new ServerService.Copy(imageName, null, source.keyName(), null, source.host(),
                    TaskState.BLESSING, Map.of(BLESSED_FROM, serverId))), List.of(), null,
                    (h, inserted) -> store.insertBlessing(h, inserted.get(0).id(), serverId, auth.projectId(), source.host(), blessedAt)).get(0);
        } catch (RuntimeException e) {
            serverStore.finishTask(serverId, TaskState.BLESSING, VmState.ACTIVE, source.powerState(), now());
            throw e;
        }
        String imageId = image.id();
        tasks.submit(() -> runBless(source, imageId));
        return image;
    }

    private void runBless(Server source, String imageId) {
        AgentApi agent;
        try {
            agent = hosts.agent(source.host());
            LiveImageRef ref = agent.bless(source.id(), imageId);
            store.markBlessed(imageId, ref, now());
            // The source is free again before the image shows BLESSED: a client that waits for
            // the image may act on the source at once.
            PowerState power = agent.find(source.id()).map(VmInfo::powerState).orElse(PowerState.NOSTATE);
            serverStore.finishTask(source.id(), TaskState.BLESSING, VmState.ACTIVE, power, now());
            serverStore.finishTask(imageId, TaskState.BLESSING, VmState.BLESSED, PowerState.NOSTATE, now());
            log.info("server {} blessed into live image {} on {}", source.id(), imageId, source.host());
        } catch (RuntimeException e) {
            log.warn("bless of server {} into {} failed: {}", source.id(), imageId, e.getMessage());
            failBless(source, imageId, "Failed to create the live image: " + e.getMessage());
        }
    }

    /** A failed bless leaves the live image in ERROR (discard removes it) and the source as its host reports it. */
    private void failBless(Server source, String imageId, String message) {
        store.setStatus(imageId, LiveImage.Status.ERROR, now());
        serverStore.fail(imageId, new Fault(500, message, null, now()), PowerState.NOSTATE, now());
        Optional<VmInfo> vm = hosts.findAgent(source.host()).flatMap(a -> {
            try {
                return a.find(source.id());
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        });
        PowerState power = vm.map(VmInfo::powerState).orElse(PowerState.SHUTDOWN);
        VmState state = power == PowerState.RUNNING ? VmState.ACTIVE : power == PowerState.PAUSED ? VmState.PAUSED : VmState.STOPPED;
        serverStore.finishTask(source.id(), TaskState.BLESSING, state, power, now());
        if (vm.isPresent() && imageId.equals(vm.get().details().get("live_image"))) {
            // The host finished the freeze: the source now runs from the image's files.
            store.linkSource(imageId, source.id(), now());
        }
    }

    /** Cobalt answers a quota error with 413 (Nova's create answers 403). */
    private List<Server> insertCopies(AuthContext auth, Server template, List<ServerService.Copy> copies, List<String> securityGroupIds,
            io.strata.compute.ServerGroup group, java.util.function.BiConsumer<org.jdbi.v3.core.Handle, List<Server>> alsoInserting) {
        try {
            return servers.insertCopies(auth, template, copies, securityGroupIds, group, alsoInserting);
        } catch (CloudException e) {
            if (e.code() == io.strata.core.ErrorCode.FORBIDDEN && e.getMessage() != null && e.getMessage().startsWith("Quota exceeded")) {
                throw new CloudException(io.strata.core.ErrorCode.OVER_LIMIT, e.getMessage());
            }
            throw e;
        }
    }

    // ------------------------------------------------------------------ launch

    /** What co_launch asks for, after the API has checked the shapes of its fields. */
    public record LaunchRequest(String name, String userData, List<String> securityGroups, String availabilityZone, int numInstances,
            String keyName, Map<String, String> guestParams, int targetMemoryMb, String serverGroup) {
        public LaunchRequest {
            securityGroups = securityGroups == null ? List.of("default") : List.copyOf(securityGroups);
            guestParams = guestParams == null ? Map.of() : Map.copyOf(guestParams);
        }
    }

    /** co_launch: starts clones of a live image; answers with their rows (BUILD until they run). */
    public List<Server> launch(AuthContext auth, String liveImageId, LaunchRequest request) {
        Server imageRow = servers.get(auth, liveImageId);
        LiveImage image = store.find(liveImageId).orElse(null);
        if (image == null || !imageRow.metadata().containsKey(BLESSED_FROM)) {
            throw CloudException.badRequest("Instance %s is not a live image. Please create a live image to launch from it.", liveImageId);
        }
        if (image.status() != LiveImage.Status.BLESSED) {
            throw CloudException.conflict("Live image %s is %s and cannot be launched.", liveImageId, image.status().wireName());
        }
        if (request.numInstances() < 1) {
            throw CloudException.badRequest("num_instances must be at least 1");
        }
        if (request.numInstances() > ServerService.MAX_SERVERS_PER_REQUEST) {
            throw CloudException.badRequest("num_instances %d is larger than the %d servers one request may launch", request.numInstances(),
                    ServerService.MAX_SERVERS_PER_REQUEST);
        }
        if (request.userData() != null) {
            ServerService.checkUserData(request.userData());
        }
        // Checked before anything is written: params that do not fit their column failed the
        // whole launch with a database error (500) after the clones' rows were in.
        int paramsSize = LiveImageStore.storedSize(request.guestParams());
        if (paramsSize > LiveImageStore.MAX_GUEST_PARAMS_JSON) {
            throw CloudException.badRequest("Guest parameters take %d characters as JSON; at most %d are allowed.", paramsSize,
                    LiveImageStore.MAX_GUEST_PARAMS_JSON);
        }
        String keyName = request.keyName() != null ? request.keyName() : imageRow.keyName();
        if (request.keyName() != null) {
            servers.checkKeyName(auth, request.keyName());
        }
        String zone = servers.checkZone(auth, request.availabilityZone());
        // Cobalt's launch puts each clone in the named groups (["default"] when none are named).
        List<String> securityGroupIds = servers.securityGroupIds(auth, request.securityGroups());
        // The one scheduler hint Strata's create honours too: the clones join a server group, whose policy places them.
        io.strata.compute.ServerGroup group = servers.checkServerGroup(auth, request.serverGroup(), request.numInstances());
        if (request.targetMemoryMb() < 0 || request.targetMemoryMb() > imageRow.flavor().ramMb()) {
            throw CloudException.badRequest("target memory must be between 0 and the live image's %d MB", imageRow.flavor().ramMb());
        }
        String name = request.name() != null ? request.name() : imageRow.name() + "-clone";
        List<Server> clones;
        synchronized (lockOf(liveImageId)) {
            if (store.find(liveImageId).map(LiveImage::status).orElse(null) != LiveImage.Status.BLESSED) {
                throw CloudException.conflict("Live image %s is being discarded.", liveImageId);
            }
            // Like Cobalt's launched_from, the clone's memory target is shown in its metadata.
            Map<String, String> metadata = request.targetMemoryMb() > 0
                    ? Map.of(LAUNCHED_FROM, liveImageId, TARGET_MEMORY, Integer.toString(request.targetMemoryMb()))
                    : Map.of(LAUNCHED_FROM, liveImageId);
            List<ServerService.Copy> copies = new ArrayList<>();
            for (int i = 0; i < request.numInstances(); i++) {
                copies.add(new ServerService.Copy(name, request.userData(), keyName, zone, null, TaskState.SCHEDULING, metadata));
            }
            // The clones join the group with their rows, within its member quota, before they are built: the scheduler reads it.
            // Their links to the live image go in the same transaction: a clone's build (also one
            // resumed after a crash) finds what to launch from there, never a row without it.
            Instant linkedAt = now();
            clones = insertCopies(auth, imageRow, copies, securityGroupIds, group, (h, inserted) -> store.insertLaunches(h, inserted.stream()
                    .map(c -> new LiveImageStore.Launch(c.id(), liveImageId, false, request.guestParams(), request.targetMemoryMb()))
                    .toList(), linkedAt));
        }
        ComputeManager.BuildInputs inputs = bootInputs.resolve(clones.get(0));
        manager.buildAll(clones, inputs, group != null);
        return clones;
    }

    // ------------------------------------------------------------------ discard and lists

    /** co_discard: removes a live image that no clone runs from any more. */
    public void discard(AuthContext auth, String liveImageId) {
        Server imageRow = servers.get(auth, liveImageId);
        LiveImage image = store.find(liveImageId).orElse(null);
        if (image == null || !imageRow.metadata().containsKey(BLESSED_FROM)) {
            throw CloudException.badRequest("Instance %s is not a live image. Cannot discard a regular instance.", liveImageId);
        }
        synchronized (lockOf(liveImageId)) {
            if (image.status() == LiveImage.Status.BLESSING) {
                throw CloudException.conflict("Live image %s is still being created. Please try again later.", liveImageId);
            }
            List<String> clones = store.liveClones(liveImageId);
            if (!clones.isEmpty()) {
                throw CloudException.conflict("Live image %s still has launched instances: %s. Delete them before discarding it.", liveImageId,
                        String.join(", ", clones));
            }
            store.setStatus(liveImageId, LiveImage.Status.DISCARDED, now());
            serverStore.markDeleted(liveImageId, now());
            addresses.release(imageRow.ipAddress());
        }
        tasks.submit(() -> collect(liveImageId));
    }

    /** co_list_launched: the live servers started from a live image. */
    public List<Server> launchedFrom(AuthContext auth, String liveImageId) {
        servers.get(auth, liveImageId);
        return visible(auth, store.liveClones(liveImageId));
    }

    /** co_list_blessed: the live images of a server. */
    public List<Server> blessedFrom(AuthContext auth, String serverId) {
        servers.get(auth, serverId);
        return visible(auth, store.blessedFrom(serverId).stream().map(LiveImage::id).toList());
    }

    private List<Server> visible(AuthContext auth, List<String> ids) {
        List<Server> found = new ArrayList<>();
        for (String id : ids) {
            try {
                found.add(servers.get(auth, id));
            } catch (CloudException e) {
                // deleted meanwhile, or another project's: not listed
            }
        }
        return found;
    }

    /** co_migrate: Cobalt's live migration of a running server (a clone or any other). */
    public void migrate(AuthContext auth, String serverId, String dest) {
        servers.liveMigrate(auth, serverId, dest, ServerService.MigrationRules.COBALT);
    }

    // ------------------------------------------------------------------ recovery and garbage collection

    /** After a restart: blesses that were in flight failed; discarded images whose files remain are collected. */
    void recover() {
        for (LiveImage image : store.withStatus(LiveImage.Status.BLESSING)) {
            Server source = serverStore.find(image.sourceId()).orElse(null);
            log.warn("bless of live image {} was interrupted by a restart", image.id());
            if (source != null) {
                failBless(source, image.id(), "The live image was being created when the controller stopped.");
            } else {
                store.setStatus(image.id(), LiveImage.Status.ERROR, now());
                serverStore.fail(image.id(), new Fault(500, "The live image's source vanished while it was being created.", null, now()),
                        PowerState.NOSTATE, now());
            }
        }
        collectQuietly();
    }

    private void collectQuietly() {
        try {
            for (LiveImage image : store.withStatus(LiveImage.Status.DISCARDED)) {
                collect(image.id());
            }
        } catch (RuntimeException e) {
            log.warn("live image collection failed: {}", e.getMessage());
        }
    }

    /** Removes a discarded image's files once nothing runs from them (a blessed source may outlive its image). */
    private void collect(String liveImageId) {
        LiveImage image = store.find(liveImageId).orElse(null);
        if (image == null || image.status() != LiveImage.Status.DISCARDED || store.liveUsers(liveImageId) > 0) {
            return;
        }
        Optional<AgentApi> agent = hosts.findAgent(image.host());
        if (agent.isEmpty()) {
            return;     // its host is away: try again later
        }
        try {
            agent.get().discardLiveImage(liveImageId);
            // Hosts that started clones from their own copy of the image remove the copy; a host
            // without one answers at once. One that is away now keeps its copy (see production.md).
            for (AgentApi other : hosts.agents()) {
                if (!other.hostName().equals(image.host()) && hosts.find(other.hostName()).map(hosts::isUp).orElse(true)) {
                    try {
                        other.discardLiveImage(liveImageId);
                    } catch (RuntimeException e) {
                        log.warn("cannot remove the copy of live image {} on {}: {}", liveImageId, other.hostName(), e.getMessage());
                    }
                }
            }
            store.delete(liveImageId);
            log.info("live image {} removed from {}", liveImageId, image.host());
        } catch (RuntimeException e) {
            log.warn("cannot remove live image {} from {} yet: {}", liveImageId, image.host(), e.getMessage());
        }
    }

    private Object lockOf(String liveImageId) {
        return imageLocks.computeIfAbsent(liveImageId, id -> new Object());
    }

    private Instant now() {
        return clock.instant();
    }

    @Override
    public void close() {
        collector.shutdownNow();
        tasks.shutdownNow();
    }
}
