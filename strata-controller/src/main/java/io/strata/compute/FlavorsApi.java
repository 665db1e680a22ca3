package io.strata.compute;

import static io.strata.api.RequestBody.member;
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
import java.util.Map;
import java.util.Set;

/** Nova's flavors with extra specs and access lists (os-flavor-manage, os-flavor-extra-specs, os-flavor-access). */
public final class FlavorsApi implements ApiArea {
    private final FlavorService flavors;
    private final Policy policy;
    private final String computeUrl;
    private final String bookmarkUrl;

    public FlavorsApi(FlavorService flavors, Policy policy, String baseUrl) {
        this.flavors = requireNonNull(flavors, "flavors is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.computeUrl = baseUrl + "/compute/v2.1";
        this.bookmarkUrl = baseUrl + "/compute";
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/flavors", ctx -> list(ctx, false));
            r.get(p + "/flavors/detail", ctx -> list(ctx, true));
            r.get(p + "/flavors/{id}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:flavors");
                ctx.json(Json.object().set("flavor", detail(flavors.get(auth, ctx.pathParam("id")), ComputeRoutes.version(ctx))));
            });
            r.post(p + "/flavors", this::create);
            r.put(p + "/flavors/{id}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-manage:update");
                if (!ComputeRoutes.version(ctx).atLeast(2, 55)) {
                    throw new CloudException(io.strata.core.ErrorCode.METHOD_NOT_ALLOWED, "Updating a flavor needs microversion 2.55.");
                }
                ObjectNode f = member(RequestBody.parse(ctx), "flavor");
                ctx.json(Json.object().set("flavor", detail(flavors.updateDescription(auth, ctx.pathParam("id"),
                        RequestBody.optionalString(f, "description", 0, 65535)), ComputeRoutes.version(ctx))));
            });
            r.delete(p + "/flavors/{id}", ctx -> {
                auth(ctx, "os_compute_api:os-flavor-manage:delete");
                flavors.delete(ctx.pathParam("id"));
                ctx.status(202);
            });
            r.get(p + "/flavors/{id}/os-extra_specs", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-extra-specs:index");
                ctx.json(Json.object().set("extra_specs", map(flavors.extraSpecs(auth, ctx.pathParam("id")))));
            });
            r.post(p + "/flavors/{id}/os-extra_specs", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-extra-specs:create");
                Map<String, String> specs = specs(RequestBody.parse(ctx), "extra_specs");
                flavors.putExtraSpecs(auth, ctx.pathParam("id"), specs);
                ctx.json(Json.object().set("extra_specs", map(specs)));
            });
            r.get(p + "/flavors/{id}/os-extra_specs/{key}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-extra-specs:index");
                Map<String, String> specs = flavors.extraSpecs(auth, ctx.pathParam("id"));
                String key = ctx.pathParam("key");
                if (!specs.containsKey(key)) {
                    throw CloudException.notFound("Flavor %s has no extra specs with key %s.", ctx.pathParam("id"), key);
                }
                ctx.json(Json.object().put(key, specs.get(key)));
            });
            r.put(p + "/flavors/{id}/os-extra_specs/{key}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-extra-specs:create");
                Map<String, String> specs = specsOf(RequestBody.parse(ctx));
                if (specs.size() != 1) {
                    throw CloudException.badRequest("Request body contains too many items");
                }
                if (!specs.containsKey(ctx.pathParam("key"))) {
                    throw CloudException.badRequest("Request body and URI mismatch");
                }
                flavors.putExtraSpecs(auth, ctx.pathParam("id"), specs);
                ctx.json(map(specs));
            });
            r.delete(p + "/flavors/{id}/os-extra_specs/{key}", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-extra-specs:create");
                flavors.deleteExtraSpec(auth, ctx.pathParam("id"), ctx.pathParam("key"));
                ctx.status(202);
            });
            r.get(p + "/flavors/{id}/os-flavor-access", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-access");
                ctx.json(access(ctx.pathParam("id"), flavors.access(auth, ctx.pathParam("id"))));
            });
            r.post(p + "/flavors/{id}/action", ctx -> {
                AuthContext auth = auth(ctx, "os_compute_api:os-flavor-access");
                ObjectNode body = RequestBody.parse(ctx);
                String id = ctx.pathParam("id");
                if (body.has("addTenantAccess")) {
                    flavors.addAccess(auth, id, RequestBody.requiredString(member(body, "addTenantAccess"), "tenant", 1, 255));
                } else if (body.has("removeTenantAccess")) {
                    flavors.removeAccess(auth, id, RequestBody.requiredString(member(body, "removeTenantAccess"), "tenant", 1, 255));
                } else {
                    throw CloudException.badRequest("Invalid action: expected addTenantAccess or removeTenantAccess");
                }
                ctx.json(access(id, flavors.access(auth, id)));
            });
        });
    }

    private void list(Context ctx, boolean detail) {
        AuthContext auth = auth(ctx, "os_compute_api:flavors");
        Boolean isPublic = isPublic(ctx, auth);
        String sortKey = ctx.queryParam("sort_key") == null ? "flavorid" : ctx.queryParam("sort_key");
        boolean ascending = ctx.queryParam("sort_dir") == null || ComputeRoutes.ascending(ctx);
        int limit = ComputeRoutes.pageLimit(ctx);
        List<Flavor> page = flavors.list(auth, isPublic, Requests.intQuery(ctx, "minRam", 0, Integer.MAX_VALUE),
                Requests.intQuery(ctx, "minDisk", 0, Integer.MAX_VALUE), sortKey, ascending, ctx.queryParam("marker"), limit);
        ObjectNode body = Json.object();
        ArrayNode items = body.putArray("flavors");
        ApiVersion v = ComputeRoutes.version(ctx);
        for (Flavor f : page) {
            items.add(detail ? detail(f, v) : summary(f, v));
        }
        if (!page.isEmpty() && page.size() == limit) {
            body.putArray("flavors_links").addObject().put("rel", "next")
                    .put("href", computeUrl + (detail ? "/flavors/detail" : "/flavors") + "?limit=" + limit + "&marker=" + page.get(page.size() - 1).id());
        }
        ctx.json(body);
    }

    /** Nova: is_public defaults to true; "none" (admins) means all. */
    private static Boolean isPublic(Context ctx, AuthContext auth) {
        String value = ctx.queryParam("is_public");
        if (value == null) {
            return true;
        }
        if (value.equalsIgnoreCase("none")) {
            return auth.isAdmin() ? null : true;
        }
        Boolean parsed = Requests.boolQuery(ctx, "is_public");
        return parsed == null ? Boolean.TRUE : parsed;
    }

    private void create(Context ctx) {
        auth(ctx, "os_compute_api:os-flavor-manage:create");
        ApiVersion v = ComputeRoutes.version(ctx);
        ObjectNode f = member(RequestBody.parse(ctx), "flavor");
        Set<String> allowed = new java.util.HashSet<>(Set.of("name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap",
                "rxtx_factor", "os-flavor-access:is_public"));
        if (v.atLeast(2, 55)) {
            allowed.add("description");
        }
        RequestBody.onlyKeys(f, allowed, "flavor");
        String name = RequestBody.requiredString(f, "name", 1, 255);
        JsonNode idNode = f.get("id");
        String id = idNode == null || idNode.isNull() ? null : idNode.isIntegralNumber() ? idNode.asText()
                : RequestBody.optionalString(f, "id", 1, 255);
        int ram = RequestBody.requiredInt(f, "ram", 1, 0x7FFFFFFF);
        int vcpus = RequestBody.requiredInt(f, "vcpus", 1, 0x7FFFFFFF);
        int disk = RequestBody.requiredInt(f, "disk", 0, 0x7FFFFFFF);
        Integer ephemeral = RequestBody.optionalInt(f, "OS-FLV-EXT-DATA:ephemeral", 0, 0x7FFFFFFF);
        Integer swap = f.has("swap") && f.get("swap").isTextual() && f.get("swap").textValue().isEmpty() ? Integer.valueOf(0)
                : RequestBody.optionalInt(f, "swap", 0, 0x7FFFFFFF);
        Double rxtx = RequestBody.optionalNumber(f, "rxtx_factor", 0.0001, 3.40282e38);
        Boolean isPublic = RequestBody.optionalBoolean(f, "os-flavor-access:is_public");
        Flavor flavor = flavors.create(id, name, vcpus, ram, disk, ephemeral == null ? 0 : ephemeral, swap == null ? 0 : swap,
                rxtx == null ? 1.0 : rxtx, isPublic == null || isPublic, RequestBody.optionalString(f, "description", 0, 65535));
        ctx.json(Json.object().set("flavor", detail(flavor, v)));
    }

    private ObjectNode summary(Flavor f, ApiVersion v) {
        ObjectNode n = Json.object();
        n.put("id", f.id());
        n.put("name", f.name());
        n.set("links", links(f.id()));
        if (v.atLeast(2, 55)) {
            n.put("description", f.description());
        }
        return n;
    }

    private ObjectNode detail(Flavor f, ApiVersion v) {
        ObjectNode n = summary(f, v);
        n.put("OS-FLV-DISABLED:disabled", f.disabled());
        n.put("disk", f.diskGb());
        n.put("OS-FLV-EXT-DATA:ephemeral", f.ephemeralGb());
        n.put("os-flavor-access:is_public", f.isPublic());
        n.put("ram", f.ramMb());
        if (f.swapMb() == 0) {
            n.put("swap", "");
        } else {
            n.put("swap", f.swapMb());
        }
        n.put("vcpus", f.vcpus());
        n.put("rxtx_factor", f.rxtxFactor());
        return n;
    }

    private ArrayNode links(String id) {
        ArrayNode links = Json.array();
        links.addObject().put("rel", "self").put("href", computeUrl + "/flavors/" + id);
        links.addObject().put("rel", "bookmark").put("href", bookmarkUrl + "/flavors/" + id);
        return links;
    }

    private static ObjectNode access(String id, List<String> projects) {
        ObjectNode body = Json.object();
        ArrayNode list = body.putArray("flavor_access");
        projects.forEach(p -> list.addObject().put("flavor_id", id).put("tenant_id", p));
        return body;
    }

    private static Map<String, String> specs(ObjectNode body, String key) {
        Map<String, String> specs = RequestBody.stringMap(body, key, 255, 255);
        if (specs == null) {
            throw CloudException.badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property", key, key);
        }
        return specs;
    }

    private static Map<String, String> specsOf(ObjectNode body) {
        Map<String, String> specs = new java.util.LinkedHashMap<>();
        body.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw RequestBody.invalid(e.getKey(), e.getValue(), "is not of type 'string'");
            }
            specs.put(e.getKey(), e.getValue().textValue());
        });
        return specs;
    }

    private static ObjectNode map(Map<String, String> map) {
        ObjectNode node = Json.object();
        map.forEach(node::put);
        return node;
    }

    private AuthContext auth(Context ctx, String operation) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, operation);
        return auth;
    }
}
