package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.Requests;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;

/**
 * GET /os-migrations (admins): every move of a server between hosts, cold migrations, resizes,
 * live migrations and evacuations, newest first, filtered as Nova filters (host, status,
 * instance_uuid, migration_type, source_compute). migration_type and links appear from 2.23 as
 * in Nova; uuid, user_id and project_id (Nova: 2.59 / 2.80, above the 2.47 this API serves) are
 * shown at every version, as the operator's notebook wants them and clients ignore extra keys.
 */
public final class MigrationsApi implements ApiArea {
    private final ServerMigrationStore store;
    private final HostRegistry hosts;
    private final Policy policy;

    public MigrationsApi(ServerMigrationStore store, HostRegistry hosts, Policy policy) {
        this.store = requireNonNull(store, "store is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> r.get(p + "/os-migrations", this::list));
    }

    private void list(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:os-migrations:index");
        ServerMigrationStore.Query query = new ServerMigrationStore.Query(ctx.queryParam("host"), ctx.queryParam("status"),
                ctx.queryParam("instance_uuid"), ctx.queryParam("migration_type"), ctx.queryParam("source_compute"), null);
        boolean v223 = ComputeRoutes.version(ctx).atLeast(2, 23);
        ArrayNode list = Json.array();
        for (ServerMigration m : store.list(query, ComputeRoutes.pageLimit(ctx))) {
            list.add(view(m, v223));
        }
        ctx.json(Json.object().set("migrations", list));
    }

    private ObjectNode view(ServerMigration m, boolean v223) {
        ObjectNode n = Json.object();
        n.put("created_at", Json.isoMicrosNoZone(m.createdAt()));
        n.put("dest_compute", m.destCompute());
        n.put("dest_host", m.destCompute() == null ? null : hosts.find(m.destCompute()).map(Host::hostIp).orElse(null));
        n.put("dest_node", m.destCompute());
        n.put("id", m.id());
        n.put("instance_uuid", m.serverId());
        flavorId(n, "new_instance_type_id", m.newFlavor());
        flavorId(n, "old_instance_type_id", m.oldFlavor());
        n.put("source_compute", m.sourceCompute());
        n.put("source_node", m.sourceCompute());
        n.put("status", m.status());
        n.put("updated_at", Json.isoMicrosNoZone(m.updatedAt()));
        if (v223) {
            n.put("migration_type", m.type());
            n.putArray("links");
        }
        n.put("uuid", m.uuid());
        n.put("user_id", m.userId());
        n.put("project_id", m.projectId());
        return n;
    }

    /** Nova shows the flavor's internal integer id; ours are the flavor ids, numeric for the default flavors. */
    private static void flavorId(ObjectNode n, String key, Flavor flavor) {
        if (flavor == null) {
            n.putNull(key);
            return;
        }
        try {
            n.put(key, Integer.parseInt(flavor.id()));
        } catch (NumberFormatException e) {
            n.put(key, flavor.id());
        }
    }
}
