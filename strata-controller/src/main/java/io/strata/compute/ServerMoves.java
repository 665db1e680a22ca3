package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.api.RequestBody;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;

/**
 * Nova's cold moves as server actions: {@code migrate} (admins; same flavor, another host),
 * {@code resize} (owners; a new flavor, on another host), then {@code confirmResize} or
 * {@code revertResize} from VERIFY_RESIZE. The API checks what Nova's API checks, writes task
 * RESIZE_PREP and the migration row, and leaves the move to {@link ComputeManager#coldMove}.
 * They register themselves with the servers API.
 */
public final class ServerMoves {
    private static final Set<VmState> MOVABLE = Set.of(VmState.ACTIVE, VmState.STOPPED);

    private final ServerService servers;
    private final ServerStore store;
    private final ServerMigrationStore migrations;
    private final FlavorService flavors;
    private final QuotaService quotas;
    private final HostRegistry hosts;
    private final ComputeManager manager;
    private final Clock clock;

    public ServerMoves(ServerService servers, ServerStore store, ServerMigrationStore migrations, FlavorService flavors, QuotaService quotas,
            HostRegistry hosts, ComputeManager manager, Policy policy, Clock clock, ServersApi serversApi) {
        this.servers = requireNonNull(servers, "servers is null");
        this.store = requireNonNull(store, "store is null");
        this.migrations = requireNonNull(migrations, "migrations is null");
        this.flavors = requireNonNull(flavors, "flavors is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.manager = requireNonNull(manager, "manager is null");
        this.clock = requireNonNull(clock, "clock is null");
        requireNonNull(policy, "policy is null");
        serversApi.registerAction("migrate", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-migrate-server:migrate");
            // Nova's body is {"migrate": null} until 2.56 lets it name a host (the handler sees null as {}: look at the request).
            JsonNode given = RequestBody.parse(ctx).get("migrate");
            if (!ComputeRoutes.version(ctx).atLeast(2, 56) && given != null && !given.isNull()) {
                throw RequestBody.invalid("migrate", given, "is not of type 'null'");
            }
            String host = null;
            if (body != null && !body.isNull()) {
                RequestBody.onlyKeys(body, Set.of("host"), "migrate");
                host = RequestBody.optionalString(body, "host", 1, 255);
            }
            migrate(auth, id, host);
            ctx.status(202);
        });
        serversApi.registerAction("resize", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:servers:resize");
            if (body == null || !body.isObject()) {
                throw CloudException.badRequest("Invalid input for field/attribute resize. Value: %s. %s is not of type 'object'", body, body);
            }
            RequestBody.onlyKeys(body, Set.of("flavorRef", "OS-DCF:diskConfig"), "resize");
            JsonNode ref = body.get("flavorRef");
            if (ref == null || ref.isNull() || ref.asText().isEmpty()) {
                throw CloudException.badRequest("Invalid input for field/attribute resize. Value: %s. 'flavorRef' is a required property", body);
            }
            resize(auth, id, ref.asText());
            ctx.status(202);
        });
        serversApi.registerAction("confirmResize", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:servers:confirm_resize");
            confirm(auth, id);
            ctx.status(204);
        });
        serversApi.registerAction("revertResize", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:servers:revert_resize");
            revert(auth, id);
            ctx.status(202);
        });
    }

    private void migrate(AuthContext auth, String id, String host) {
        Server server = movable(auth, id, "migrate");
        if (host != null) {
            Host target = hosts.find(host).orElseThrow(() -> CloudException.notFound("Compute host %s could not be found.", host));
            if (target.name().equals(server.host())) {
                throw CloudException.badRequest("Unable to migrate instance (%s) to current host (%s).", id, host);
            }
        } else {
            requireAnotherHost(server);
        }
        begin(auth, server, ServerMigration.COLD, server.flavor(), host, "migrate");
    }

    private void resize(AuthContext auth, String id, String flavorRef) {
        Server server = movable(auth, id, "resize");
        Flavor flavor;
        try {
            flavor = flavors.get(auth, flavorRef);
        } catch (CloudException e) {
            throw CloudException.badRequest("Flavor %s could not be found.", flavorRef);
        }
        Flavor current = server.flavor();
        if (flavor.id().equals(current.id())) {
            throw CloudException.badRequest("When resizing, instances must change flavor!");
        }
        if (flavor.diskGb() == 0 && current.diskGb() != 0) {
            throw CloudException.badRequest("Resize to zero disk flavor is not allowed.");
        }
        if (flavor.diskGb() < current.diskGb()) {
            throw CloudException.badRequest("Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.",
                    flavor.diskGb() * 1024L * 1024 * 1024, current.diskGb() * 1024L * 1024 * 1024);
        }
        checkQuota(server, QuotaResource.CORES, flavor.vcpus() - current.vcpus());
        checkQuota(server, QuotaResource.RAM, flavor.ramMb() - current.ramMb());
        requireAnotherHost(server);
        begin(auth, server, ServerMigration.RESIZE, flavor, null, "resize");
    }

    private void confirm(AuthContext auth, String id) {
        Server server = servers.get(auth, id);
        servers.checkNotLocked(auth, server);
        ServerMigration migration = finishedMove(server, "confirmResize");
        if (!store.beginTask(id, TaskState.RESIZE_CONFIRMING, Set.of(VmState.RESIZED), now())) {
            throw conflict(store.find(id).orElse(server), "confirmResize");
        }
        manager.confirmResize(server, migration);
    }

    private void revert(AuthContext auth, String id) {
        Server server = servers.get(auth, id);
        servers.checkNotLocked(auth, server);
        ServerMigration migration = finishedMove(server, "revertResize");
        if (!store.beginTask(id, TaskState.RESIZE_REVERTING, Set.of(VmState.RESIZED), now())) {
            throw conflict(store.find(id).orElse(server), "revertResize");
        }
        manager.revertResize(server, migration);
    }

    private ServerMigration finishedMove(Server server, String action) {
        if (server.vmState() != VmState.RESIZED || server.taskState() != null) {
            throw conflict(server, action);
        }
        return migrations.inFlight(server.id()).filter(m -> m.isColdMove() && m.status().equals("finished"))
                .orElseThrow(() -> CloudException.badRequest("Instance has not been resized."));
    }

    private Server movable(AuthContext auth, String id, String action) {
        Server server = servers.get(auth, id);
        servers.checkNotLocked(auth, server);
        if (!MOVABLE.contains(server.vmState()) || server.taskState() != null || server.host() == null) {
            throw conflict(server, action);
        }
        if (server.metadata().containsKey("launched_from")) {
            throw CloudException.conflict("Instance %s is a live-image clone; move it with co_migrate instead", id);
        }
        return server;
    }

    /** Nova's conductor answers NoValidHost at once when no other host could take the server; the API turns it into 400. */
    private void requireAnotherHost(Server server) {
        boolean any = hosts.hosts().stream().anyMatch(h -> !h.name().equals(server.host()) && hosts.isUp(h) && h.serviceEnabled());
        if (!any) {
            throw CloudException.badRequest("No valid host was found. No valid host found for cold migrate");
        }
    }

    private void checkQuota(Server server, QuotaResource resource, long delta) {
        if (delta <= 0) {
            return;
        }
        Long limit = quotas.limits(server.projectId()).get(resource);
        long used = quotas.usage(server.projectId()).getOrDefault(resource, 0L);
        if (limit != null && limit >= 0 && used + delta > limit) {
            throw CloudException.forbidden("Quota exceeded for %s: Requested %d, but already used %d of %d %s", resource.wireName(), delta,
                    used, limit, resource.wireName());
        }
    }

    private void begin(AuthContext auth, Server server, String type, Flavor newFlavor, String host, String action) {
        if (!store.beginTask(server.id(), TaskState.RESIZE_PREP, MOVABLE, now())) {
            throw conflict(store.find(server.id()).orElse(server), action);
        }
        // Written after the task: a crash between the two leaves a RESIZE_PREP without a migration,
        // which recovery simply clears.
        ServerMigration migration = migrations.insert(server, type, "pre-migrating", server.host(), null, server.flavor(), newFlavor,
                server.vmState() == VmState.ACTIVE, auth.userId(), now());
        manager.coldMove(server, migration, host);
    }

    private static CloudException conflict(Server server, String action) {
        if (server.taskState() != null) {
            return CloudException.conflict("Cannot '%s' instance %s while it is in task_state %s", action, server.id(),
                    server.taskState().wireName());
        }
        return CloudException.conflict("Cannot '%s' instance %s while it is in vm_state %s", action, server.id(), server.vmState().wireName());
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
