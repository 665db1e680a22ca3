package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.EnumMap;
import java.util.Map;

/**
 * os-quota-sets (show, detail, defaults, update, delete) and /limits, which reports the same
 * quotas with their usage. Which resources appear depends on the microversion, as in Nova.
 */
public final class QuotasApi implements ApiArea {
    private static final long MAX_LIMIT = 0x7FFFFFFF;

    private final QuotaService quotas;
    private final Policy policy;

    public QuotasApi(QuotaService quotas, Policy policy) {
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/os-quota-sets/{project}", ctx -> {
                String project = project(ctx, "os_compute_api:os-quota-sets:show");
                ctx.json(Json.object().set("quota_set", quotaSet(project, quotas.limits(project), ctx)));
            });
            r.get(p + "/os-quota-sets/{project}/detail", this::detail);
            r.get(p + "/os-quota-sets/{project}/defaults", ctx -> {
                policy.enforce(Requests.auth(ctx), "os_compute_api:os-quota-sets:defaults");
                ctx.json(Json.object().set("quota_set", quotaSet(ctx.pathParam("project"), quotas.defaults().limits(), ctx)));
            });
            r.put(p + "/os-quota-sets/{project}", this::update);
            r.delete(p + "/os-quota-sets/{project}", ctx -> {
                policy.enforce(Requests.auth(ctx), "os_compute_api:os-quota-sets:delete");
                quotas.reset(ctx.pathParam("project"));
                ctx.status(202);
            });
            r.get(p + "/limits", this::limits);
        });
    }

    private void detail(Context ctx) {
        String project = project(ctx, "os_compute_api:os-quota-sets:detail");
        Map<QuotaResource, Long> limits = quotas.limits(project);
        Map<QuotaResource, Long> usage = quotas.usage(project);
        ObjectNode set = Json.object();
        set.put("id", project);
        for (QuotaResource resource : QuotaResource.values()) {
            if (resource.visibleAt(ComputeRoutes.version(ctx))) {
                set.putObject(resource.wireName()).put("in_use", usage.get(resource)).put("limit", limits.get(resource)).put("reserved", 0);
            }
        }
        ctx.json(Json.object().set("quota_set", set));
    }

    private void update(Context ctx) {
        policy.enforce(Requests.auth(ctx), "os_compute_api:os-quota-sets:update");
        String project = ctx.pathParam("project");
        ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "quota_set");
        ApiVersion version = ComputeRoutes.version(ctx);
        Map<QuotaResource, Long> changes = new EnumMap<>(QuotaResource.class);
        boolean force = false;
        for (Map.Entry<String, JsonNode> field : body.properties()) {
            String key = field.getKey();
            if (key.equals("force")) {
                Boolean forced = RequestBody.optionalBoolean(body, "force");
                force = forced != null && forced;
                continue;
            }
            QuotaResource resource = QuotaResource.fromWire(key).filter(r -> r.visibleAt(version)).orElseThrow(() ->
                    CloudException.badRequest("Invalid input for field/attribute quota_set. Value: %s. Additional properties are not allowed "
                            + "('%s' was unexpected)", body, key));
            changes.put(resource, limitValue(key, field.getValue()));
        }
        quotas.update(project, changes, force);
        ctx.json(Json.object().set("quota_set", quotaSet(null, quotas.limits(project), ctx)));
    }

    /** Nova accepts an integer or a string holding one, from -1 (unlimited) up. */
    private static long limitValue(String key, JsonNode value) {
        long limit;
        if (value.isIntegralNumber()) {
            limit = value.longValue();
        } else if (value.isTextual() && value.textValue().strip().matches("-?\\d+")) {
            limit = Long.parseLong(value.textValue().strip());
        } else {
            throw RequestBody.invalid(key, value, "is not of type 'integer', 'string'");
        }
        if (limit < -1 || limit > MAX_LIMIT) {
            throw RequestBody.invalid(key, value, "is less than the minimum of -1");
        }
        return limit;
    }

    private void limits(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:limits");
        String project = auth.projectId();
        if (auth.isAdmin() && ctx.queryParam("tenant_id") != null) {
            project = ctx.queryParam("tenant_id");
        }
        Map<QuotaResource, Long> limits = project == null ? quotas.defaults().limits() : quotas.limits(project);
        Map<QuotaResource, Long> used = project == null ? Map.of() : quotas.usage(project);
        ApiVersion version = ComputeRoutes.version(ctx);
        ObjectNode absolute = Json.object();
        absolute.put("maxServerMeta", limits.get(QuotaResource.METADATA_ITEMS));
        absolute.put("maxImageMeta", 128);
        if (QuotaResource.INJECTED_FILES.visibleAt(version)) {
            absolute.put("maxPersonality", limits.get(QuotaResource.INJECTED_FILES));
            absolute.put("maxPersonalitySize", limits.get(QuotaResource.INJECTED_FILE_CONTENT_BYTES));
        }
        absolute.put("maxTotalKeypairs", limits.get(QuotaResource.KEY_PAIRS));
        absolute.put("maxServerGroups", limits.get(QuotaResource.SERVER_GROUPS));
        absolute.put("maxServerGroupMembers", limits.get(QuotaResource.SERVER_GROUP_MEMBERS));
        absolute.put("maxTotalCores", limits.get(QuotaResource.CORES));
        absolute.put("maxTotalInstances", limits.get(QuotaResource.INSTANCES));
        absolute.put("maxTotalRAMSize", limits.get(QuotaResource.RAM));
        boolean network = QuotaResource.SECURITY_GROUPS.visibleAt(version);
        if (network) {
            absolute.put("maxSecurityGroups", limits.get(QuotaResource.SECURITY_GROUPS));
            absolute.put("maxSecurityGroupRules", limits.get(QuotaResource.SECURITY_GROUP_RULES));
            absolute.put("maxTotalFloatingIps", limits.get(QuotaResource.FLOATING_IPS));
        }
        absolute.put("totalCoresUsed", used.getOrDefault(QuotaResource.CORES, 0L));
        absolute.put("totalInstancesUsed", used.getOrDefault(QuotaResource.INSTANCES, 0L));
        absolute.put("totalRAMUsed", used.getOrDefault(QuotaResource.RAM, 0L));
        absolute.put("totalServerGroupsUsed", used.getOrDefault(QuotaResource.SERVER_GROUPS, 0L));
        if (network) {
            absolute.put("totalSecurityGroupsUsed", used.getOrDefault(QuotaResource.SECURITY_GROUPS, 0L));
            absolute.put("totalFloatingIpsUsed", 0);
        }
        ObjectNode body = Json.object();
        body.putArray("rate");
        body.set("absolute", absolute);
        ctx.json(Json.object().set("limits", body));
    }

    /** The project of the path, if the caller may read it: its own, or any for admins. */
    private String project(Context ctx, String operation) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, operation);
        String project = ctx.pathParam("project");
        if (!project.equals(auth.projectId())) {
            policy.enforce(auth, "os_compute_api:os-quota-sets:other_project");
        }
        return project;
    }

    private static ObjectNode quotaSet(String id, Map<QuotaResource, Long> limits, Context ctx) {
        ObjectNode set = Json.object();
        if (id != null) {
            set.put("id", id);
        }
        for (QuotaResource resource : QuotaResource.values()) {
            if (resource.visibleAt(ComputeRoutes.version(ctx))) {
                set.put(resource.wireName(), limits.get(resource));
            }
        }
        return set;
    }
}
