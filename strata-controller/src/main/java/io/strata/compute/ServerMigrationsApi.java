package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.Optional;

/**
 * Nova's server migrations sub-resource (admins): the live migrations of one server still under
 * way ({@code GET /servers/{id}/migrations[/{migration_id}]}, 2.23), forcing one to complete
 * ({@code POST .../migrations/{id}/action {"force_complete": null}}, 2.22) and aborting one
 * ({@code DELETE .../migrations/{id}}, 2.24).
 *
 * <p>The checks and their answers are Nova's: the server must be live-migrating (409), the
 * migration must belong to it (404, or 400 for force_complete) and be {@code running} (400).
 * What Nova then asks of libvirt, pausing the guest so the copy converges or cancelling the
 * copy, Strata's hypervisor drivers cannot do to a migration in flight: such a request answers
 * 409 rather than Nova's 202 for an order that would be dropped. Memory and disk progress are
 * not reported by the drivers and are null, as Nova shows them for drivers without them.
 */
public final class ServerMigrationsApi implements ApiArea {
    private final ServerService servers;
    private final ServerMigrationStore migrations;
    private final HostRegistry hosts;
    private final Policy policy;

    public ServerMigrationsApi(ServerService servers, ServerMigrationStore migrations, HostRegistry hosts, Policy policy) {
        this.servers = requireNonNull(servers, "servers is null");
        this.migrations = requireNonNull(migrations, "migrations is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/servers/{server_id}/migrations", this::list);
            r.get(p + "/servers/{server_id}/migrations/{id}", this::show);
            r.delete(p + "/servers/{server_id}/migrations/{id}", this::abort);
            r.post(p + "/servers/{server_id}/migrations/{id}/action", this::action);
        });
    }

    private void list(Context ctx) {
        requireVersion(ctx, 2, 23);
        AuthContext auth = auth(ctx, "index");
        Server server = servers.get(auth, ctx.pathParam("server_id"));
        ArrayNode list = Json.array();
        for (ServerMigration m : migrations.liveInProgress(server.id())) {
            list.add(view(m));
        }
        ctx.json(Json.object().set("migrations", list));
    }

    private void show(Context ctx) {
        requireVersion(ctx, 2, 23);
        AuthContext auth = auth(ctx, "show");
        Server server = servers.get(auth, ctx.pathParam("server_id"));
        String id = ctx.pathParam("id");
        ServerMigration m = find(server, id)
                .orElseThrow(() -> CloudException.notFound("In-progress live migration %s is not found for server %s.", id, server.id()));
        if (!m.type().equals(ServerMigration.LIVE)) {
            throw CloudException.notFound("Migration %s for server %s is not live-migration.", id, server.id());
        }
        if (!ServerMigrationStore.LIVE_IN_PROGRESS.contains(m.status())) {
            throw CloudException.notFound("Live migration %s for server %s is not in progress.", id, server.id());
        }
        ctx.json(Json.object().set("migration", view(m)));
    }

    private void action(Context ctx) {
        requireVersion(ctx, 2, 22);
        ObjectNode body = RequestBody.parse(ctx);
        if (!body.has("force_complete")) {
            throw CloudException.badRequest("There is no such action: %s", body.size() > 0 ? body.fieldNames().next() : body);
        }
        RequestBody.onlyKeys(body, java.util.Set.of("force_complete"), "force_complete");
        if (!body.get("force_complete").isNull()) {
            throw RequestBody.invalid("force_complete", body.get("force_complete"), "is not of type 'null'");
        }
        AuthContext auth = auth(ctx, "force_complete");
        Server server = servers.get(auth, ctx.pathParam("server_id"));
        servers.checkNotLocked(auth, server);
        if (server.vmState() != VmState.ACTIVE) {
            throw conflict("force_complete", server, "vm_state", server.vmState().wireName());
        }
        ServerMigration m = running(server, ctx.pathParam("id"), "force complete", ErrorCode.BAD_REQUEST);
        throw CloudException.conflict("Forcing live migration %d of server %s to complete is not supported: Strata's hypervisor drivers "
                + "copy the guest until the copy converges or fails, and cannot pause it mid-flight.", m.id(), server.id());
    }

    private void abort(Context ctx) {
        requireVersion(ctx, 2, 24);
        AuthContext auth = auth(ctx, "delete");
        Server server = servers.get(auth, ctx.pathParam("server_id"));
        servers.checkNotLocked(auth, server);
        ServerMigration m = running(server, ctx.pathParam("id"), "abort live migration", ErrorCode.NOT_FOUND);
        throw CloudException.conflict("Aborting live migration %d with status %s is not supported: Strata's hypervisor drivers cannot "
                + "cancel a copy in flight; it completes or fails and leaves the server on its source.", m.id(), m.status());
    }

    /**
     * Nova's checks before it forces or aborts: the server is live-migrating, the migration is
     * one of its own ({@code notFound} says how a missing one is answered) and is running.
     */
    private ServerMigration running(Server server, String id, String method, ErrorCode notFound) {
        String action = method.equals("force complete") ? "force_complete" : method;
        if (server.taskState() != TaskState.MIGRATING) {
            throw conflict(action, server, "task_state", server.taskState() == null ? "None" : server.taskState().wireName());
        }
        ServerMigration m = find(server, id).orElseThrow(() -> new CloudException(notFound,
                "Migration " + id + " not found for instance " + server.id()));
        if (!m.status().equals("running")) {
            throw CloudException.badRequest("Migration %d state of instance %s is %s. Cannot %s while the migration is in this state.",
                    m.id(), server.id(), m.status(), method);
        }
        return m;
    }

    private Optional<ServerMigration> find(Server server, String id) {
        int number;
        try {
            number = Integer.parseInt(id);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        return migrations.find(server.id(), number);
    }

    private ObjectNode view(ServerMigration m) {
        ObjectNode n = Json.object();
        n.put("created_at", Json.isoMicrosNoZone(m.createdAt()));
        n.put("dest_compute", m.destCompute());
        n.put("dest_host", m.destCompute() == null ? null : hosts.find(m.destCompute()).map(Host::hostIp).orElse(null));
        n.put("dest_node", m.destCompute());
        // Progress of the copy: the drivers do not report it.
        n.putNull("disk_processed_bytes");
        n.putNull("disk_remaining_bytes");
        n.putNull("disk_total_bytes");
        n.put("id", m.id());
        n.putNull("memory_processed_bytes");
        n.putNull("memory_remaining_bytes");
        n.putNull("memory_total_bytes");
        n.put("server_uuid", m.serverId());
        n.put("source_compute", m.sourceCompute());
        n.put("source_node", m.sourceCompute());
        n.put("status", m.status());
        n.put("updated_at", Json.isoMicrosNoZone(m.updatedAt()));
        return n;
    }

    private AuthContext auth(Context ctx, String operation) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:servers:migrations:" + operation);
        return auth;
    }

    private static CloudException conflict(String action, Server server, String attribute, String state) {
        return CloudException.conflict("Cannot '%s' instance %s while it is in %s %s", action, server.id(), attribute, state);
    }

    /** Nova answers a method the requested microversion does not have with 404. */
    private static void requireVersion(Context ctx, int major, int minor) {
        if (!ComputeRoutes.version(ctx).atLeast(major, minor)) {
            throw new CloudException(ErrorCode.NOT_FOUND, "The resource could not be found.");
        }
    }
}
