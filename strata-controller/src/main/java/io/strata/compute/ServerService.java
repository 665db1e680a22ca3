package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.VmAction;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compute service behind the API: checks requests against the store and the rules Nova
 * users rely on (which states allow which action, who sees which server), records the intent,
 * and hands the work to the {@link ComputeManager}.
 */
public final class ServerService {
    /** Tries at fresh addresses when other controllers took the proposed ones meanwhile. */
    private static final int ADDRESS_ATTEMPTS = 5;
    private static final Logger log = LoggerFactory.getLogger(ServerService.class);
    public static final int MAX_SERVERS_PER_REQUEST = 1000;
    public static final int MAX_METADATA_ITEMS = 128;
    public static final String DEFAULT_ZONE = "nova";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ServerStore servers;
    private final FlavorService flavors;
    private final KeypairService keypairs;
    private final ImageCatalog images;
    private final HostRegistry hosts;
    private final AddressPool addresses;
    private final ComputeManager manager;
    private final BootInputsResolver bootInputs;
    private final Policy policy;
    private final Path scratchDir;
    private final Clock clock;
    private final QuotaService quotas;
    private final ServerGroupService serverGroups;
    private final SecurityGroupService securityGroups;
    private final InstanceActionStore actions;

    public ServerService(ServerStore servers, FlavorService flavors, KeypairService keypairs, ImageCatalog images, HostRegistry hosts,
            AddressPool addresses, ComputeManager manager, BootInputsResolver bootInputs, Policy policy, Path scratchDir, Clock clock,
            QuotaService quotas, ServerGroupService serverGroups, SecurityGroupService securityGroups, InstanceActionStore actions) {
        this.servers = requireNonNull(servers, "servers is null");
        this.actions = requireNonNull(actions, "actions is null");
        this.flavors = requireNonNull(flavors, "flavors is null");
        this.keypairs = requireNonNull(keypairs, "keypairs is null");
        this.images = requireNonNull(images, "images is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.addresses = requireNonNull(addresses, "addresses is null");
        this.manager = requireNonNull(manager, "manager is null");
        this.bootInputs = requireNonNull(bootInputs, "bootInputs is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.scratchDir = requireNonNull(scratchDir, "scratchDir is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.serverGroups = requireNonNull(serverGroups, "serverGroups is null");
        this.securityGroups = requireNonNull(securityGroups, "securityGroups is null");
    }

    /** The owner's view, for work done on a server's behalf after the request (image lookups). */
    static AuthContext systemContext(Server server) {
        return new AuthContext(server.userId(), null, null, null, server.projectId(), null, null, null, null, null,
                Set.of("member", "reader"), List.of("internal"), "internal", Instant.EPOCH, Instant.MAX);
    }

    // ------------------------------------------------------------------ create

    public List<Server> create(AuthContext auth, CreateServerRequest request) {
        return create(auth, request, null);
    }

    /** Name and zone ("zone", "zone:host") of one server of a create that names and places each server itself. */
    public record Slot(String name, String availabilityZone) {}

    /**
     * As {@link #create(AuthContext, CreateServerRequest)}, with one server per slot (all or
     * none: min_count is the number of slots) named and placed as the slot says: a Snooze
     * virtual cluster's VMs of one shape are inserted, counted and attached in one go instead
     * of one transaction set per VM. Null slots: the request's own name, zone and counts.
     */
    public List<Server> create(AuthContext auth, CreateServerRequest request, List<Slot> slots) {
        if (slots != null) {
            if (slots.isEmpty()) {
                throw CloudException.badRequest("no servers to create");
            }
            request = new CreateServerRequest(request.name(), request.imageRef(), request.flavorRef(), request.keyName(), request.userData(),
                    request.metadata(), null, slots.size(), slots.size(), request.description(), request.tags(), request.adminPass(),
                    request.accessIpv4(), request.accessIpv6(), request.configDrive(), request.attachNetwork(), request.serverGroup(),
                    request.securityGroups());
        }
        if (request.minCount() > request.maxCount()) {
            throw CloudException.badRequest("min_count must be <= max_count");
        }
        if (request.maxCount() > MAX_SERVERS_PER_REQUEST) {
            throw CloudException.badRequest("max_count %d is larger than the %d servers one request may create", request.maxCount(),
                    MAX_SERVERS_PER_REQUEST);
        }
        Flavor flavor;
        try {
            flavor = flavors.get(auth, request.flavorRef());
        } catch (CloudException e) {
            throw CloudException.badRequest("Flavor %s could not be found.", request.flavorRef());
        }
        if (flavor.disabled()) {
            throw CloudException.badRequest("Flavor %s is disabled.", flavor.id());
        }
        String imageId = null;
        ImageCatalog.BootableImage image = null;
        if (request.imageRef() != null) {
            try {
                image = images.find(auth, request.imageRef());
            } catch (CloudException e) {
                if (e.code() != ErrorCode.NOT_FOUND) {
                    throw e;
                }
                throw CloudException.badRequest("Image %s could not be found.", request.imageRef());
            }
            if (!image.isActive()) {
                throw CloudException.badRequest("Image %s is not active.", image.id());
            }
            if (image.minRamMb() > flavor.ramMb()) {
                throw CloudException.badRequest("Flavor's memory is too small for requested image.");
            }
            if (flavor.diskGb() > 0 && image.minDiskGb() > flavor.diskGb()) {
                throw CloudException.badRequest("Flavor's disk is too small for requested image.");
            }
            imageId = image.id();
        }
        if (request.keyName() != null) {
            try {
                keypairs.get(auth.userId(), request.keyName());
            } catch (CloudException e) {
                throw CloudException.badRequest("Invalid key_name provided.");
            }
        }
        if (request.userData() != null) {
            checkUserData(request.userData());
        }
        quotas.checkMetadataItems(auth.projectId(), request.metadata().size());
        String requestedZone = checkZone(auth, request.availabilityZone());
        ServerGroup group = request.serverGroup() == null ? null : serverGroups.checkJoin(auth, request.serverGroup(), request.minCount());
        List<String> securityGroupIds = securityGroups.resolve(auth.projectId(), request.securityGroups());

        int count = request.maxCount();
        List<Server> created = null;
        Map<String, String> checkedZones = new HashMap<>();
        for (int attempt = 1; created == null; attempt++) {
            List<String> ips = addresses.allocate(count);
            Instant now = now();
            String reservationId = "r-" + randomToken(8).toLowerCase(Locale.ROOT);
            List<Server> candidates = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                String id = UUID.randomUUID().toString();
                String name = slots != null ? slots.get(i).name() : count > 1 ? request.name() + "-" + (i + 1) : request.name();
                String zone = requestedZone;
                if (slots != null && slots.get(i).availabilityZone() != null) {
                    zone = checkedZones.computeIfAbsent(slots.get(i).availabilityZone(), z -> checkZone(auth, z));
                }
                String ip = ips.get(i);
                candidates.add(new Server(id, name, auth.projectId(), auth.userId(), flavor, imageId, request.keyName(), null,
                        zoneName(zone), zone, VmState.BUILDING, TaskState.SCHEDULING, io.strata.compute.PowerState.NOSTATE,
                        0, request.userData(), request.accessIpv4() == null ? "" : request.accessIpv4(),
                        request.accessIpv6() == null ? "" : request.accessIpv6(), request.configDrive() ? "True" : "",
                        false, request.description(), hostnameOf(name, id), reservationId, i, AddressPool.macFor(ip), ip, 0, null, now, now,
                        null, null, false, request.metadata(), request.tags()));
            }
            try {
                // As many as the project's quota allows (at least min_count), counted and inserted atomically,
                // and members of their server group, counted against its quota, in the same transaction.
                // Their security groups go in the same transaction: a crash cannot leave a server without them.
                // So does each one's "create" instance action: a commit of its own per request was a
                // tenth of a create-and-delete cycle's database work on the embedded store.
                // The insert may run on the shared committer's thread: the request id is taken here.
                String requestId = org.slf4j.MDC.get("request_id");
                created = quotas.insertWithinQuota(candidates, request.minCount(), group, (h, inserted) -> {
                    securityGroups.attach(h, inserted, securityGroupIds);
                    recordActions(h, requestId, auth, inserted, "create", now);
                });
                ips.subList(created.size(), ips.size()).forEach(addresses::release);
            } catch (RuntimeException e) {
                ips.forEach(addresses::release);
                if (isUniqueViolation(e)) {
                    // Another controller took one of the addresses: remember them all and try fresh ones.
                    servers.takenAddresses().forEach(addresses::markTaken);
                    if (attempt < ADDRESS_ATTEMPTS) {
                        continue;
                    }
                    throw new CloudException(ErrorCode.CONFLICT, "Fixed IP addresses were taken concurrently; please retry the request.");
                }
                throw e;
            }
            break;
        }
        ComputeManager.BuildInputs inputs = bootInputs.resolve(created.get(0), image);
        manager.buildAll(created, inputs, group != null);
        return created;
    }

    /**
     * One server row copied from another, for live images: the image itself (a copy of the
     * blessed server) and its clones. Everything not named here comes from the template.
     */
    public record Copy(String name, String userData, String keyName, String requestedZone, String host, TaskState task,
            Map<String, String> metadata) {}

    /**
     * Inserts copies of {@code template} owned by the caller, each with a fresh id and fixed
     * address, in BUILDING with the copy's task; nothing is started (the caller decides how).
     */
    public List<Server> insertCopies(AuthContext auth, Server template, List<Copy> copies) {
        return insertCopies(auth, template, copies, List.of(), null);
    }

    /**
     * As above, and each copy joins the security groups {@code securityGroupIds} (see
     * {@link #securityGroupIds}) and the server group {@code group} (none when null; see
     * {@link #checkServerGroup}) in the same transaction as its row, as a created server does,
     * within the group's member quota.
     */
    public List<Server> insertCopies(AuthContext auth, Server template, List<Copy> copies, List<String> securityGroupIds, ServerGroup group) {
        return insertCopies(auth, template, copies, securityGroupIds, group, (h, inserted) -> {});
    }

    /**
     * As above, and {@code alsoInserting} writes what else belongs with the inserted copies (a
     * clone's link to its live image) in the same transaction: a crash never leaves a row without it.
     */
    public List<Server> insertCopies(AuthContext auth, Server template, List<Copy> copies, List<String> securityGroupIds, ServerGroup group,
            java.util.function.BiConsumer<org.jdbi.v3.core.Handle, List<Server>> alsoInserting) {
        requireNonNull(securityGroupIds, "securityGroupIds is null");
        requireNonNull(alsoInserting, "alsoInserting is null");
        if (copies.isEmpty()) {
            return List.of();
        }
        List<String> ips = addresses.allocate(copies.size());
        Instant now = now();
        String reservationId = "r-" + randomToken(8).toLowerCase(Locale.ROOT);
        List<Server> created = new ArrayList<>(copies.size());
        for (int i = 0; i < copies.size(); i++) {
            Copy copy = copies.get(i);
            String id = UUID.randomUUID().toString();
            String ip = ips.get(i);
            String zone = copy.requestedZone() != null ? zoneName(copy.requestedZone()) : template.availabilityZone();
            created.add(new Server(id, copy.name(), auth.projectId(), auth.userId(), template.flavor(), template.imageId(), copy.keyName(),
                    copy.host(), zone, copy.requestedZone(), VmState.BUILDING, copy.task(), io.strata.compute.PowerState.NOSTATE, 0,
                    copy.userData(), "", "", template.configDrive(), false, template.description(), hostnameOf(copy.name(), id),
                    reservationId, i, AddressPool.macFor(ip), ip, 0, null, now, now, null, null, false, copy.metadata(), List.of()));
        }
        try {
            // Live images and their clones count against the project's quotas like any server (all or none).
            quotas.insertWithinQuota(created, created.size(), group, (h, inserted) -> {
                if (!securityGroupIds.isEmpty()) {
                    securityGroups.attach(h, inserted, securityGroupIds);
                }
                alsoInserting.accept(h, inserted);
            });
        } catch (RuntimeException e) {
            ips.forEach(addresses::release);
            if (isUniqueViolation(e)) {
                servers.takenAddresses().forEach(addresses::markTaken);
                throw new CloudException(ErrorCode.CONFLICT, "Fixed IP addresses were taken concurrently; please retry the request.");
            }
            throw e;
        }
        return created;
    }

    /** The ids of the caller's project's security groups named (the default group when none is); 400 for an unknown name. */
    public List<String> securityGroupIds(AuthContext auth, List<String> names) {
        return securityGroups.resolve(auth.projectId(), names);
    }

    /** The server group a {@code group} scheduler hint names, with room for {@code count} more members (400 when unknown); null without a hint. */
    public ServerGroup checkServerGroup(AuthContext auth, String groupId, int count) {
        return groupId == null ? null : serverGroups.checkJoin(auth, groupId, count);
    }

    /** Checks that the caller has the keypair (400 as Nova answers a bad key_name). */
    public void checkKeyName(AuthContext auth, String keyName) {
        try {
            keypairs.get(auth.userId(), keyName);
        } catch (CloudException e) {
            throw CloudException.badRequest("Invalid key_name provided.");
        }
    }

    static boolean isUniqueViolation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException sql && "23505".equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** Base64 and at most 64 KiB, as Nova checks a server's user data. */
    public static void checkUserData(String userData) {
        byte[] decoded;
        try {
            decoded = Base64.getMimeDecoder().decode(userData);
        } catch (IllegalArgumentException e) {
            throw CloudException.badRequest("User data needs to be valid base 64.");
        }
        if (decoded.length > 65535) {
            throw CloudException.badRequest("User data too large. User data must be no larger than 65535 bytes once base64 encoded.");
        }
    }

    /** Checks a requested availability zone ("zone", "zone:host"; a forced host is for admins). */
    public String checkZone(AuthContext auth, String requested) {
        if (requested == null || requested.isEmpty()) {
            return null;
        }
        String zone = requested;
        String host = null;
        int colon = requested.indexOf(':');
        if (colon >= 0) {
            zone = requested.substring(0, colon);
            String rest = requested.substring(colon + 1);
            int second = rest.indexOf(':');
            host = second < 0 ? rest : rest.substring(0, second);
            if (!host.isEmpty()) {
                policy.enforce(auth, "os_compute_api:servers:create:forced_host");
            }
        }
        String wantedZone = zone;
        List<Host> known = hosts.hosts();
        if (!zone.isEmpty() && known.stream().noneMatch(h -> h.zone().equals(wantedZone))) {
            throw CloudException.badRequest("The requested availability zone is not available");
        }
        if (host != null && !host.isEmpty()) {
            String wantedHost = host;
            if (known.stream().noneMatch(h -> h.name().equals(wantedHost))) {
                throw CloudException.badRequest("Compute host %s could not be found.", host);
            }
        }
        return requested;
    }

    private static String zoneName(String requestedZone) {
        if (requestedZone == null) {
            return null;
        }
        int colon = requestedZone.indexOf(':');
        String zone = colon < 0 ? requestedZone : requestedZone.substring(0, colon);
        return zone.isEmpty() ? null : zone;
    }

    /** Nova's sanitize_hostname: what cloud-init will name the guest. */
    static String hostnameOf(String name, String id) {
        String hostname = name.replaceAll("[ _.]", "-").replaceAll("[^\\w.-]+", "").toLowerCase(Locale.ROOT);
        hostname = hostname.replaceAll("^[.-]+", "").replaceAll("[.-]+$", "");
        if (hostname.length() > 63) {
            hostname = hostname.substring(0, 63).replaceAll("[.-]+$", "");
        }
        return hostname.isEmpty() ? "server-" + id : hostname;
    }

    public static String generatePassword() {
        return randomToken(12);
    }

    private static String randomToken(int length) {
        String alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        StringBuilder token = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            token.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return token.toString();
    }

    // ------------------------------------------------------------------ read

    /** The server if the caller may see it; 404 for other projects' servers, as Nova answers. */
    public Server get(AuthContext auth, String id) {
        Server server = servers.find(id).orElse(null);
        if (server == null || server.deleted() || (!auth.isAdmin() && !server.projectId().equals(auth.projectId()))) {
            throw CloudException.notFound("Instance %s could not be found.", id);
        }
        return server;
    }

    public List<Server> list(ServerQuery query) {
        return servers.list(query);
    }

    // ------------------------------------------------------------------ update and delete

    public Server update(AuthContext auth, String id, String name, String accessIpv4, String accessIpv6, String description,
            boolean clearDescription) {
        Server server = get(auth, id);
        checkLocked(auth, server);
        servers.update(id, name, accessIpv4, accessIpv6, description, clearDescription, now());
        return get(auth, id);
    }

    public void delete(AuthContext auth, String id) {
        delete(auth, id, false);
    }

    /**
     * Nova's forceDelete (os-deferred-delete:force): deletes in any vm_state and task_state. A
     * plain DELETE of a server whose delete already began does nothing more; this one drives the
     * delete again (a delete stuck because its host's agent never answered, say). Deletes are
     * immediate here (nothing is soft-deleted), so otherwise it is a DELETE: locked servers refuse
     * it from non-admins, live images go through their own discard.
     */
    public void forceDelete(AuthContext auth, String id) {
        delete(auth, id, true);
    }

    private void delete(AuthContext auth, String id, boolean force) {
        Server server = get(auth, id);
        checkLocked(auth, server);
        // Cobalt's rules: a live image goes through its own discard, and a server being blessed
        // stays until the bless is over.
        if (server.vmState() == VmState.BLESSED) {
            throw CloudException.badRequest("Cannot delete a live image. Please discard it instead.");
        }
        if (server.taskState() == TaskState.BLESSING) {
            throw CloudException.conflict("Cannot delete while blessing. Please try again later.");
        }
        Instant now = now();
        String requestId = org.slf4j.MDC.get("request_id");
        if (!servers.beginDelete(id, now, h -> recordActions(h, requestId, auth, List.of(server), "delete", now)) && !force) {
            return;     // already being deleted: DELETE is idempotent
        }
        manager.delete(server);
    }

    /**
     * Writes the instance action ({@code os-instance-actions}) of the current request for each
     * server, in the caller's transaction. Work outside a request (recovery, the leader's own
     * submissions) has no request id and records none, as before.
     */
    private void recordActions(org.jdbi.v3.core.Handle h, String requestId, AuthContext auth, List<Server> affected, String action,
            Instant now) {
        if (requestId == null) {
            return;
        }
        actions.insertAll(h, affected.stream()
                .map(s -> new InstanceActionStore.InstanceAction(s.id(), action, requestId, auth.userId(), auth.projectId(), now, null))
                .toList());
    }

    /** 409 when a non-admin acts on a locked server. */
    public void checkNotLocked(AuthContext auth, Server server) {
        checkLocked(auth, server);
    }

    private static void checkLocked(AuthContext auth, Server server) {
        if (server.locked() && !auth.isAdmin()) {
            throw CloudException.conflict("Instance %s is locked", server.id());
        }
    }

    // ------------------------------------------------------------------ actions

    /** The power actions: which states allow them, which task they run as, what state they lead to. */
    public enum PowerAction {
        START("start", VmAction.START, TaskState.POWERING_ON, VmState.ACTIVE, Set.of(VmState.STOPPED)),
        STOP("stop", VmAction.STOP, TaskState.POWERING_OFF, VmState.STOPPED, Set.of(VmState.ACTIVE, VmState.ERROR, VmState.PAUSED,
                VmState.SUSPENDED)),
        REBOOT_SOFT("reboot", VmAction.REBOOT_SOFT, TaskState.REBOOTING, VmState.ACTIVE, Set.of(VmState.ACTIVE)),
        REBOOT_HARD("reboot", VmAction.REBOOT_HARD, TaskState.REBOOTING_HARD, VmState.ACTIVE,
                Set.of(VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR)),
        PAUSE("pause", VmAction.PAUSE, TaskState.PAUSING, VmState.PAUSED, Set.of(VmState.ACTIVE)),
        UNPAUSE("unpause", VmAction.UNPAUSE, TaskState.UNPAUSING, VmState.ACTIVE, Set.of(VmState.PAUSED)),
        SUSPEND("suspend", VmAction.SUSPEND, TaskState.SUSPENDING, VmState.SUSPENDED, Set.of(VmState.ACTIVE)),
        RESUME("resume", VmAction.RESUME, TaskState.RESUMING, VmState.ACTIVE, Set.of(VmState.SUSPENDED));

        final String novaName;
        final VmAction action;
        final TaskState task;
        final VmState result;
        final Set<VmState> allowed;

        PowerAction(String novaName, VmAction action, TaskState task, VmState result, Set<VmState> allowed) {
            this.novaName = novaName;
            this.action = action;
            this.task = task;
            this.result = result;
            this.allowed = allowed;
        }
    }

    public void act(AuthContext auth, String id, PowerAction action) {
        Server server = get(auth, id);
        checkLocked(auth, server);
        if (server.host() == null) {
            throw conflictState(server, action.novaName);
        }
        if (!servers.beginTask(id, action.task, action.allowed, now())) {
            throw conflictState(servers.find(id).orElse(server), action.novaName);
        }
        manager.act(server, action.task, action.action, action.result);
    }

    /** Nova's InstanceInvalidState message, which clients show verbatim. */
    private static CloudException conflictState(Server server, String action) {
        if (server.taskState() != null) {
            return CloudException.conflict("Cannot '%s' instance %s while it is in task_state %s", action, server.id(),
                    server.taskState().wireName());
        }
        return CloudException.conflict("Cannot '%s' instance %s while it is in vm_state %s", action, server.id(),
                server.vmState().wireName());
    }

    /** Which API asks for a live migration: their rules and messages differ. */
    public enum MigrationRules { NOVA, COBALT }

    /**
     * Live-migrates a running server to {@code host}, or to another host the scheduler picks
     * when null. Answers once the move is under way (task MIGRATING); a move that fails leaves
     * the server running where it was.
     */
    public void liveMigrate(AuthContext auth, String id, String host, MigrationRules rules) {
        Server server = get(auth, id);
        checkLocked(auth, server);
        boolean cobalt = rules == MigrationRules.COBALT;
        if (server.taskState() == TaskState.MIGRATING) {
            throw cobalt ? CloudException.badRequest("Unable to migrate instance %s because it is already migrating.", id)
                    : conflictState(server, "os-migrateLive");
        }
        if (server.vmState() != VmState.ACTIVE || server.host() == null) {
            throw cobalt ? CloudException.badRequest("Unable to migrate instance %s because it is not active", id)
                    : conflictState(server, "os-migrateLive");
        }
        List<Host> others = hosts.hosts().stream().filter(h -> !h.name().equals(server.host())).filter(hosts::isUp).toList();
        if (host != null) {
            if (host.equals(server.host())) {
                throw cobalt ? CloudException.badRequest("Unable to migrate to the same host.")
                        : CloudException.badRequest("Unable to migrate instance (%s) to current host (%s).", id, host);
            }
            if (hosts.find(host).isEmpty()) {
                throw cobalt ? CloudException.badRequest("Cannot migrate to host %s because it is not running the cobalt service.", host)
                        : CloudException.badRequest("Compute host %s could not be found.", host);
            }
        } else if (others.isEmpty()) {
            throw cobalt ? CloudException.badRequest("There are no available hosts for the migration target.")
                    : CloudException.badRequest("No valid host was found. There are not enough hosts available.");
        }
        // Cobalt picks a random other host; Nova lets the scheduler weigh them.
        String destination = host != null || !cobalt ? host : others.get(RANDOM.nextInt(others.size())).name();
        if (!servers.beginTask(id, TaskState.MIGRATING, Set.of(VmState.ACTIVE), now())) {
            throw conflictState(servers.find(id).orElse(server), cobalt ? "co_migrate" : "os-migrateLive");
        }
        manager.liveMigrate(server, destination, auth.userId());
    }

    public String consoleOutput(AuthContext auth, String id, int length) {
        Server server = get(auth, id);
        if (server.host() == null || server.vmState() == VmState.BUILDING) {
            throw CloudException.conflict("Cannot 'get_console_output' instance %s while it is in vm_state %s", id,
                    server.vmState().wireName());
        }
        try {
            return hosts.agent(server.host()).consoleLog(id, length);
        } catch (CloudException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw CloudException.notFound("Guest does not have a console available.");
            }
            throw e;
        }
    }

    /**
     * Nova's createImage: reserve the image at once (its id is the answer), then copy the disk
     * and upload it in the background while the server shows task_state image_snapshot.
     */
    public String createImage(AuthContext auth, String id, String name, Map<String, String> metadata) {
        return createImage(auth, id, name, metadata, () -> {});
    }

    /** createImage that runs {@code uploaded} once the image is active (createBackup rotates then). */
    public String createImage(AuthContext auth, String id, String name, Map<String, String> metadata, Runnable uploaded) {
        Server server = get(auth, id);
        Set<VmState> allowed = Set.of(VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED);
        if (server.host() == null) {
            throw conflictState(server, "createImage");
        }
        if (!servers.beginTask(id, TaskState.IMAGE_SNAPSHOT, allowed, now())) {
            throw conflictState(servers.find(id).orElse(server), "createImage");
        }
        Map<String, String> properties = new HashMap<>(metadata);
        properties.put("instance_uuid", server.id());
        properties.putIfAbsent("image_type", "snapshot");
        if (server.imageId() != null) {
            properties.put("base_image_ref", server.imageId());
            try {
                ImageCatalog.BootableImage base = images.find(systemContext(server), server.imageId());
                for (String key : List.of("kernel_id", "ramdisk_id", "os_command_line")) {
                    if (base.properties().containsKey(key) && !properties.containsKey(key)) {
                        properties.put(key, base.properties().get(key));
                    }
                }
            } catch (CloudException e) {
                log.info("base image {} of server {} is gone; the snapshot will not inherit its boot properties", server.imageId(), id);
            }
        }
        String imageId;
        try {
            imageId = images.reserveSnapshot(auth, name, properties, "qcow2");
        } catch (RuntimeException e) {
            servers.finishTask(id, TaskState.IMAGE_SNAPSHOT, server.vmState(), server.powerState(), now());
            throw e;
        }
        Thread.ofVirtual().name("snapshot-" + imageId).start(() -> takeSnapshot(auth, server, imageId, uploaded));
        return imageId;
    }

    private void takeSnapshot(AuthContext auth, Server server, String imageId, Runnable uploaded) {
        Path file = scratchDir.resolve("snapshot-" + imageId);
        try {
            Files.createDirectories(scratchDir);
            servers.advanceTask(server.id(), TaskState.IMAGE_SNAPSHOT, TaskState.IMAGE_UPLOADING, now());
            String format = hosts.agent(server.host()).snapshotDisk(server.id(), file);
            images.uploadSnapshot(auth, imageId, file, format);
            uploaded.run();
        } catch (Exception e) {
            log.warn("snapshot of server {} failed: {}", server.id(), e.getMessage());
            try {
                images.abandonSnapshot(auth, imageId);
            } catch (RuntimeException cleanup) {
                log.warn("could not remove failed snapshot image {}: {}", imageId, cleanup.getMessage());
            }
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (java.io.IOException e) {
                log.warn("could not remove {}", file);
            }
            Server now = servers.find(server.id()).orElse(server);
            TaskState task = now.taskState() == TaskState.IMAGE_UPLOADING ? TaskState.IMAGE_UPLOADING : TaskState.IMAGE_SNAPSHOT;
            servers.finishTask(server.id(), task, now.vmState(), now.powerState(), now());
        }
    }

    // ------------------------------------------------------------------ metadata and tags

    public Map<String, String> metadata(AuthContext auth, String id) {
        return get(auth, id).metadata();
    }

    public Map<String, String> setMetadata(AuthContext auth, String id, Map<String, String> metadata, boolean replace) {
        Server server = get(auth, id);
        checkLocked(auth, server);
        Map<String, String> result = new LinkedHashMap<>(replace ? Map.of() : server.metadata());
        result.putAll(metadata);
        quotas.checkMetadataItems(server.projectId(), result.size());
        if (replace) {
            servers.replaceMetadata(id, metadata, now());
        } else {
            servers.mergeMetadata(id, metadata, now());
        }
        return get(auth, id).metadata();
    }

    public void deleteMetadata(AuthContext auth, String id, String key) {
        Server server = get(auth, id);
        checkLocked(auth, server);
        if (!server.metadata().containsKey(key)) {
            throw CloudException.notFound("Metadata item was not found");
        }
        servers.deleteMetadataKey(id, key, now());
    }

    public List<String> tags(AuthContext auth, String id) {
        return get(auth, id).tags();
    }

    public void replaceTags(AuthContext auth, String id, List<String> tags) {
        get(auth, id);
        if (tags.size() > 50) {
            throw CloudException.badRequest("The number of tags exceeded the per-server limit 50");
        }
        servers.replaceTags(id, tags);
    }

    public boolean addTag(AuthContext auth, String id, String tag) {
        Server server = get(auth, id);
        if (server.tags().contains(tag)) {
            return false;
        }
        if (server.tags().size() >= 50) {
            throw CloudException.badRequest("The number of tags exceeded the per-server limit 50");
        }
        servers.addTag(id, tag);
        return true;
    }

    public void removeTag(AuthContext auth, String id, String tag) {
        get(auth, id);
        if (!servers.removeTag(id, tag)) {
            throw CloudException.notFound("Tag %s could not be found.", tag);
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
