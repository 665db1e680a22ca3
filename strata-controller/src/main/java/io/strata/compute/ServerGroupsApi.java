package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.List;
import java.util.Set;

/**
 * os-server-groups with the pre-2.64 body ({@code policies}: a list of one policy); the soft
 * policies need 2.15, project_id and user_id appear from 2.13.
 */
public final class ServerGroupsApi implements ApiArea {
    private final ServerGroupService groups;
    private final Policy policy;

    public ServerGroupsApi(ServerGroupService groups, Policy policy) {
        this.groups = requireNonNull(groups, "groups is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/os-server-groups", this::list);
            r.post(p + "/os-server-groups", this::create);
            r.get(p + "/os-server-groups/{id}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-server-groups:show");
                ctx.json(Json.object().set("server_group", view(groups.get(auth, ctx.pathParam("id")), ctx)));
            });
            r.delete(p + "/os-server-groups/{id}", ctx -> {
                groups.delete(auth(ctx, "os_compute_api:os-server-groups:delete"), ctx.pathParam("id"));
                ctx.status(204);
            });
        });
    }

    private void list(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:os-server-groups:index");
        String allProjects = ctx.queryParam("all_projects");
        boolean all = allProjects != null && !allProjects.equalsIgnoreCase("false") && !allProjects.equals("0")
                && policy.allows(auth, "os_compute_api:os-server-groups:index:all_projects");
        List<ServerGroup> found = groups.list(auth, all);
        Integer offset = Requests.intQuery(ctx, "offset", 0, Integer.MAX_VALUE);
        int from = offset == null ? 0 : Math.min(offset, found.size());
        int to = Math.min(found.size(), from + ComputeRoutes.pageLimit(ctx));
        ArrayNode list = Json.array();
        found.subList(from, to).forEach(g -> list.add(view(g, ctx)));
        ctx.json(Json.object().set("server_groups", list));
    }

    private void create(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:os-server-groups:create");
        ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "server_group");
        RequestBody.onlyKeys(body, Set.of("name", "policies"), "server_group");
        String name = RequestBody.requiredString(body, "name", 1, 255);
        JsonNode policies = body.get("policies");
        if (policies == null || policies.isNull()) {
            throw CloudException.badRequest("Invalid input for field/attribute server_group. Value: %s. 'policies' is a required property",
                    body);
        }
        if (!policies.isArray() || policies.size() != 1) {
            throw RequestBody.invalid("policies", policies, policies.isArray() ? "is not a list of exactly one policy" : "is not of type 'array'");
        }
        List<String> allowed = ComputeRoutes.version(ctx).atLeast(2, 15)
                ? List.of("anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity")
                : List.of("anti-affinity", "affinity");
        String wanted = policies.get(0).asText();
        if (!policies.get(0).isTextual() || !allowed.contains(wanted)) {
            throw CloudException.badRequest("Invalid input for field/attribute 0. Value: %s. '%s' is not one of %s", wanted, wanted,
                    allowed.stream().map(a -> "'" + a + "'").toList());
        }
        ServerGroup group = groups.create(auth, name, ServerGroup.Policy.fromWire(wanted));
        ctx.json(Json.object().set("server_group", view(group, ctx)));
    }

    private static ObjectNode view(ServerGroup group, Context ctx) {
        ObjectNode n = Json.object();
        n.put("id", group.id());
        n.put("name", group.name());
        n.putArray("policies").add(group.policy().wireName());
        ArrayNode members = n.putArray("members");
        group.members().forEach(members::add);
        n.putObject("metadata");
        if (ComputeRoutes.version(ctx).atLeast(2, 13)) {
            n.put("project_id", group.projectId());
            n.put("user_id", group.userId());
        }
        return n;
    }

    private AuthContext auth(Context ctx, String operation) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, operation);
        return auth;
    }
}
