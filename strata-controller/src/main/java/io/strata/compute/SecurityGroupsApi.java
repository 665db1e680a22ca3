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
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.Set;

/**
 * os-security-groups and os-security-group-rules (Nova's proxy APIs, gone from 2.36 on), a
 * server's groups, and the addSecurityGroup / removeSecurityGroup server actions.
 */
public final class SecurityGroupsApi implements ApiArea {
    private final SecurityGroupService groups;
    private final ServerService servers;
    private final Policy policy;

    public SecurityGroupsApi(SecurityGroupService groups, ServerService servers, ServersApi serversApi, Policy policy) {
        this.groups = requireNonNull(groups, "groups is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.policy = requireNonNull(policy, "policy is null");
        serversApi.registerAction("addSecurityGroup", (ctx, auth, id, body) -> {
            groups.addToServer(servers.get(auth, id), groupName(body));
            ctx.status(202);
        });
        serversApi.registerAction("removeSecurityGroup", (ctx, auth, id, body) -> {
            groups.removeFromServer(servers.get(auth, id), groupName(body));
            ctx.status(202);
        });
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/os-security-groups", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:list");
                ArrayNode list = Json.array();
                groups.list(auth, "1".equals(ctx.queryParam("all_tenants")) || "True".equalsIgnoreCase(ctx.queryParam("all_tenants")))
                        .forEach(g -> list.add(view(g)));
                ctx.json(Json.object().set("security_groups", list));
            });
            r.post(p + "/os-security-groups", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
                ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "security_group");
                SecurityGroup group = groups.create(auth, RequestBody.requiredString(body, "name", 1, 255),
                        description(body));
                ctx.json(Json.object().set("security_group", view(group)));
            });
            r.get(p + "/os-security-groups/{id}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:list");
                ctx.json(Json.object().set("security_group", view(groups.get(auth, ctx.pathParam("id")))));
            });
            r.put(p + "/os-security-groups/{id}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
                ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "security_group");
                SecurityGroup group = groups.update(auth, ctx.pathParam("id"), RequestBody.requiredString(body, "name", 1, 255),
                        description(body));
                ctx.json(Json.object().set("security_group", view(group)));
            });
            r.delete(p + "/os-security-groups/{id}", ctx -> {
                groups.delete(auth(ctx, "os_compute_api:os-security-groups:manage"), ctx.pathParam("id"));
                ctx.status(202);
            });
            r.post(p + "/os-security-group-rules", this::createRule);
            r.delete(p + "/os-security-group-rules/{id}", ctx -> {
                groups.deleteRule(auth(ctx, "os_compute_api:os-security-groups:manage"), ctx.pathParam("id"));
                ctx.status(202);
            });
            r.get(p + "/servers/{id}/os-security-groups", ctx -> {
                AuthContext auth = Requests.auth(ctx);
                policy.enforce(auth, "os_compute_api:os-security-groups:list");
                ArrayNode list = Json.array();
                groups.ofServer(servers.get(auth, ctx.pathParam("id"))).forEach(g -> list.add(view(g)));
                ctx.json(Json.object().set("security_groups", list));
            });
        });
    }

    private void createRule(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
        ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "security_group_rule");
        RequestBody.onlyKeys(body, Set.of("parent_group_id", "ip_protocol", "from_port", "to_port", "cidr", "group_id"),
                "security_group_rule");
        String parent = text(body, "parent_group_id");
        if (parent == null) {
            throw CloudException.badRequest("Invalid input for field/attribute security_group_rule. Value: %s. 'parent_group_id' is a "
                    + "required property", body);
        }
        SecurityGroup.Rule rule = groups.addRule(auth, parent, text(body, "ip_protocol"), port(body, "from_port"), port(body, "to_port"),
                text(body, "cidr"), text(body, "group_id"));
        ctx.json(Json.object().set("security_group_rule", ruleView(rule)));
    }

    private static String text(ObjectNode body, String key) {
        return RequestBody.lenientText(body, key);
    }

    /** Ports arrive as numbers or strings of numbers. */
    private static Integer port(ObjectNode body, String key) {
        return RequestBody.lenientInteger(body, key, (k, v) -> CloudException.badRequest("%s is not an integer: %s", k, v));
    }

    private static String description(ObjectNode body) {
        String description = RequestBody.optionalString(body, "description", 0, 255);
        return description == null ? "" : description;
    }

    private static String groupName(ObjectNode body) {
        return RequestBody.requiredString(body, "name", 1, 255);
    }

    private static ObjectNode view(SecurityGroup group) {
        ObjectNode n = Json.object();
        n.put("description", group.description());
        n.put("id", group.id());
        n.put("name", group.name());
        ArrayNode rules = n.putArray("rules");
        group.rules().forEach(rule -> rules.add(ruleView(rule)));
        n.put("tenant_id", group.projectId());
        return n;
    }

    private static ObjectNode ruleView(SecurityGroup.Rule rule) {
        ObjectNode n = Json.object();
        if (rule.fromPort() == null) {
            n.putNull("from_port");
        } else {
            n.put("from_port", rule.fromPort());
        }
        ObjectNode group = n.putObject("group");
        if (rule.remoteGroup() != null) {
            group.put("name", rule.remoteGroup().name()).put("tenant_id", rule.remoteGroup().projectId());
        }
        n.put("id", rule.id());
        n.put("ip_protocol", rule.protocol());
        ObjectNode range = n.putObject("ip_range");
        if (rule.cidr() != null) {
            range.put("cidr", rule.cidr());
        }
        n.put("parent_group_id", rule.groupId());
        if (rule.toPort() == null) {
            n.putNull("to_port");
        } else {
            n.put("to_port", rule.toPort());
        }
        return n;
    }

    /** The proxy APIs end at 2.36, as in Nova; the server's own group list and actions remain. */
    private AuthContext auth(Context ctx, String operation) {
        if (ComputeRoutes.version(ctx).atLeast(2, 36)) {
            throw CloudException.notFound("The resource could not be found.");
        }
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, operation);
        return auth;
    }
}
