package io.strata.network;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.ApiStyle;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.compute.QuotaResource;
import io.strata.compute.QuotaService;
import io.strata.compute.SecurityGroup;
import io.strata.compute.SecurityGroupService;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Neutron's security groups, security group rules and quotas over the groups compute already
 * keeps (as Nova's own security-group API proxies Neutron's in OpenStack). The openstack client
 * manages security groups through Neutron as soon as the catalog lists a network service, so
 * these must be here once the Networking API is. Rules are ingress rules, as nova-network's were:
 * egress and IPv6 rules are refused, and the rules are recorded and shown, not enforced.
 */
public final class SecurityGroupsApi implements ApiArea {
    private static final String GROUPS = NetworkApi.PREFIX + "/security-groups";
    private static final String RULES = NetworkApi.PREFIX + "/security-group-rules";
    private static final Set<String> GROUP_KEYS = Set.of("name", "description", "stateful", "tenant_id", "project_id", "tags");
    private static final Set<String> RULE_KEYS = Set.of("security_group_id", "direction", "ethertype", "protocol", "port_range_min",
            "port_range_max", "remote_ip_prefix", "remote_group_id", "remote_address_group_id", "description", "tenant_id", "project_id");

    private final SecurityGroupService groups;
    private final QuotaService quotas;
    private final Policy policy;

    public SecurityGroupsApi(SecurityGroupService groups, QuotaService quotas, Policy policy) {
        this.groups = requireNonNull(groups, "groups is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        routes.get(GROUPS, neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:list");
            list(ctx, "security_groups", groups.list(auth, false).stream().map(SecurityGroupsApi::groupView).toList());
        }));
        routes.get(GROUPS + "/{id}", neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:list");
            ctx.json(Json.object().set("security_group", NetworkApi.project(groupView(group(auth, ctx.pathParam("id"))),
                    ctx.queryParams("fields"))));
        }));
        routes.post(GROUPS, neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
            ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "security_group");
            RequestBody.onlyKeys(body, GROUP_KEYS, "security_group");
            checkStateful(body);
            SecurityGroup created = neutron(() -> groups.create(auth, RequestBody.requiredString(body, "name", 1, 255), description(body)));
            ctx.status(201).json(Json.object().set("security_group", groupView(created)));
        }));
        routes.put(GROUPS + "/{id}", neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
            SecurityGroup group = group(auth, ctx.pathParam("id"));
            ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "security_group");
            RequestBody.onlyKeys(body, Set.of("name", "description", "stateful"), "security_group");
            checkStateful(body);
            String name = body.hasNonNull("name") ? RequestBody.requiredString(body, "name", 1, 255) : group.name();
            String description = body.has("description") ? description(body) : group.description();
            SecurityGroup updated = neutron(() -> groups.update(auth, group.id(), name, description));
            ctx.json(Json.object().set("security_group", groupView(updated)));
        }));
        routes.delete(GROUPS + "/{id}", neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
            SecurityGroup group = group(auth, ctx.pathParam("id"));
            try {
                groups.delete(auth, group.id());
            } catch (CloudException e) {
                if (e.getMessage() != null && e.getMessage().contains("in use")) {
                    throw conflict("SecurityGroupInUse", "Security Group " + group.id() + " in use.");
                }
                throw e;
            }
            ctx.status(204);
        }));
        routes.get(RULES, neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:list");
            list(ctx, "security_group_rules", groups.list(auth, false).stream()
                    .flatMap(g -> g.rules().stream().map(rule -> ruleView(g, rule))).toList());
        }));
        routes.get(RULES + "/{id}", neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:list");
            ctx.json(Json.object().set("security_group_rule", NetworkApi.project(rule(auth, ctx.pathParam("id")), ctx.queryParams("fields"))));
        }));
        routes.post(RULES, neutronErrors(this::createRule));
        routes.delete(RULES + "/{id}", neutronErrors(ctx -> {
            AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
            rule(auth, ctx.pathParam("id"));
            groups.deleteRule(auth, ctx.pathParam("id"));
            ctx.status(204);
        }));
        // The quotas the openstack client reads for `quota show` once a network service is listed.
        routes.get(NetworkApi.PREFIX + "/quotas/{project}", neutronErrors(ctx -> quota(ctx, false)));
        routes.get(NetworkApi.PREFIX + "/quotas/{project}/default", neutronErrors(ctx -> quota(ctx, true)));
    }

    private void createRule(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:os-security-groups:manage");
        ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "security_group_rule");
        RequestBody.onlyKeys(body, RULE_KEYS, "security_group_rule");
        String groupId = text(body, "security_group_id");
        if (groupId == null) {
            throw CloudException.badRequest("Failed to parse request. Required attribute 'security_group_id' not specified");
        }
        String direction = text(body, "direction");
        if (!"ingress".equals(direction)) {
            throw CloudException.badRequest(direction == null || direction.equals("egress")
                    ? "Only ingress rules are supported: Strata's security groups filter what comes in, as nova-network's did."
                    : "Invalid input for direction. Reason: " + direction + " is not in [u'ingress', u'egress'].");
        }
        String ethertype = text(body, "ethertype");
        if (ethertype != null && !ethertype.equals("IPv4")) {
            throw CloudException.badRequest("Only IPv4 rules are supported: servers have IPv4 addresses only.");
        }
        if (text(body, "remote_address_group_id") != null) {
            throw CloudException.badRequest("Remote address groups are not supported.");
        }
        String protocol = text(body, "protocol");
        Integer from = port(body, "port_range_min");
        Integer to = port(body, "port_range_max");
        if (protocol != null) {
            protocol = protocolName(protocol);
            if ((protocol.equals("tcp") || protocol.equals("udp")) && from == null && to == null) {
                // Neutron: no range is every port.
                from = 1;
                to = 65535;
            } else if (protocol.equals("icmp")) {
                // Neutron: min is the ICMP type, max the code, either absent for any; Nova spells any as -1.
                from = from == null ? -1 : from;
                to = to == null ? -1 : to;
            } else if (to == null) {
                to = from;
            }
        }
        SecurityGroup group = group(auth, groupId);
        String cidr = text(body, "remote_ip_prefix");
        String remote = text(body, "remote_group_id");
        if (remote != null) {
            group(auth, remote);
        }
        String parsedProtocol = protocol;
        Integer fromPort = from;
        Integer toPort = to;
        SecurityGroup.Rule rule = neutron(() -> groups.addRule(auth, group.id(), parsedProtocol, fromPort, toPort, cidr, remote));
        SecurityGroup after = groups.get(auth, group.id());
        ctx.status(201).json(Json.object().set("security_group_rule", ruleView(after, rule)));
    }

    private void quota(Context ctx, boolean defaults) {
        AuthContext auth = Requests.auth(ctx);
        String project = ctx.pathParam("project");
        if (!auth.isAdmin() && !project.equals(auth.projectId())) {
            throw CloudException.forbidden("Only admin can view or configure quota");
        }
        java.util.Map<QuotaResource, Long> limits = defaults ? quotas.defaults().limits() : quotas.limits(project);
        ObjectNode quota = Json.object();
        // The one network and its subnet exist already and nothing more can be made: no limit to state.
        quota.put("network", -1);
        quota.put("subnet", -1);
        quota.put("port", -1);
        quota.put("router", 0);
        quota.put("floatingip", 0);
        quota.put("security_group", limits.get(QuotaResource.SECURITY_GROUPS));
        quota.put("security_group_rule", limits.get(QuotaResource.SECURITY_GROUP_RULES));
        ctx.json(Json.object().set("quota", quota));
    }

    private void list(Context ctx, String collection, List<ObjectNode> items) {
        ArrayNode listed = Json.array();
        for (ObjectNode item : items) {
            if (NetworkApi.matches(item, ctx.queryParamMap())) {
                listed.add(NetworkApi.project(item, ctx.queryParams("fields")));
            }
        }
        ctx.json(Json.object().set(collection, listed));
    }

    private SecurityGroup group(AuthContext auth, String id) {
        try {
            return groups.get(auth, id);
        } catch (CloudException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw notFound("SecurityGroupNotFound", "Security group " + id + " does not exist");
            }
            throw e;
        }
    }

    private ObjectNode rule(AuthContext auth, String id) {
        for (SecurityGroup group : groups.list(auth, false)) {
            for (SecurityGroup.Rule rule : group.rules()) {
                if (rule.id().equals(id)) {
                    return ruleView(group, rule);
                }
            }
        }
        throw notFound("SecurityGroupRuleNotFound", "Security group rule " + id + " does not exist");
    }

    private AuthContext auth(Context ctx, String operation) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, operation);
        return auth;
    }

    static ObjectNode groupView(SecurityGroup group) {
        ObjectNode n = Json.object();
        n.put("id", group.id());
        n.put("name", group.name());
        n.put("description", group.description());
        n.put("stateful", true);
        n.put("tenant_id", group.projectId());
        n.put("project_id", group.projectId());
        n.put("revision_number", 0);
        n.putArray("tags");
        ArrayNode rules = n.putArray("security_group_rules");
        group.rules().forEach(rule -> rules.add(ruleView(group, rule)));
        return n;
    }

    static ObjectNode ruleView(SecurityGroup group, SecurityGroup.Rule rule) {
        ObjectNode n = Json.object();
        n.put("id", rule.id());
        n.put("security_group_id", group.id());
        n.put("direction", "ingress");
        n.put("ethertype", "IPv4");
        n.put("protocol", rule.protocol());
        boolean anyPort = rule.protocol() == null || (rule.fromPort() != null && rule.fromPort() == -1)
                || ("tcp".equals(rule.protocol()) || "udp".equals(rule.protocol())) && Integer.valueOf(1).equals(rule.fromPort())
                && Integer.valueOf(65535).equals(rule.toPort());
        if (anyPort) {
            n.putNull("port_range_min");
            n.putNull("port_range_max");
        } else {
            n.put("port_range_min", rule.fromPort());
            n.put("port_range_max", "icmp".equals(rule.protocol()) && rule.toPort() != null && rule.toPort() == -1 ? null : rule.toPort());
        }
        n.put("remote_ip_prefix", rule.cidr());
        n.put("normalized_cidr", rule.cidr());
        n.put("remote_group_id", rule.remoteGroup() == null ? null : rule.remoteGroup().id());
        n.putNull("remote_address_group_id");
        n.put("description", "");
        n.put("tenant_id", group.projectId());
        n.put("project_id", group.projectId());
        n.put("revision_number", 0);
        n.putArray("tags");
        return n;
    }

    /** Neutron takes protocol names or IANA numbers; the rules keep the names nova-network knew. */
    private static String protocolName(String protocol) {
        return switch (protocol.toLowerCase(Locale.ROOT)) {
            case "6", "tcp" -> "tcp";
            case "17", "udp" -> "udp";
            case "1", "icmp" -> "icmp";
            default -> throw CloudException.badRequest("Security group rule protocol %s not supported. Only protocol values "
                    + "[None, 'tcp', 'udp', 'icmp'] and integer representations [1, 6, 17] are supported.", protocol);
        };
    }

    private static void checkStateful(ObjectNode body) {
        JsonNode stateful = body.get("stateful");
        if (stateful != null && !stateful.isNull() && !stateful.asBoolean(true)) {
            throw CloudException.badRequest("Stateless security groups are not supported.");
        }
    }

    private static String description(ObjectNode body) {
        String description = RequestBody.optionalString(body, "description", 0, 255);
        return description == null ? "" : description;
    }

    private static String text(ObjectNode body, String key) {
        return RequestBody.lenientText(body, key);
    }

    private static Integer port(ObjectNode body, String key) {
        return RequestBody.lenientInteger(body, key,
                (k, v) -> CloudException.badRequest("Invalid input for %s. Reason: '%s' is not an integer.", k, v));
    }

    /** Neutron answers a duplicate with 409 SecurityGroupRuleExists; other refusals of the service stay 400s. */
    private static <T> T neutron(Supplier<T> call) {
        try {
            return call.get();
        } catch (CloudException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("This rule already exists")) {
                throw conflict("SecurityGroupRuleExists", "Security group rule already exists. " + e.getMessage());
            }
            throw e;
        }
    }

    private static NeutronException notFound(String type, String message) {
        return new NeutronException(404, type, message);
    }

    private static NeutronException conflict(String type, String message) {
        return new NeutronException(409, type, message);
    }

    /** Renders the errors that carry Neutron's own type names in Neutron's shape; others go to the API's handler. */
    private static io.javalin.http.Handler neutronErrors(io.javalin.http.Handler handler) {
        return ctx -> {
            try {
                handler.handle(ctx);
            } catch (NeutronException e) {
                ctx.status(e.status).json(ApiStyle.neutronError(e.type, e.getMessage()));
            }
        };
    }

    /** An error with Neutron's own type name (e.g. SecurityGroupNotFound). */
    static final class NeutronException extends RuntimeException {
        final int status;
        final String type;

        NeutronException(int status, String type, String message) {
            super(message);
            this.status = status;
            this.type = type;
        }
    }
}
