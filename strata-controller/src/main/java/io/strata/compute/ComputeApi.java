package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.identity.Policy;
import java.util.Set;

/**
 * The compute API's root: version documents, microversion negotiation for every compute request,
 * and the (empty) extension list; limits are served with the quotas (QuotasApi).
 */
public final class ComputeApi implements ApiArea {
    private final Policy policy;
    private final String baseUrl;

    public ComputeApi(Policy policy, String baseUrl) {
        this.policy = requireNonNull(policy, "policy is null");
        this.baseUrl = requireNonNull(baseUrl, "baseUrl is null");
    }

    @Override
    public Set<String> publicRoutes() {
        return Set.of("GET /compute", "GET /compute/v2.1", "GET /compute/v2");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        routes.before("/compute/*", this::negotiate);
        routes.get("/compute", ctx -> {
            ObjectNode body = Json.object();
            ArrayNode versions = body.putArray("versions");
            versions.add(version("v2.0", "SUPPORTED", "", "", "2011-01-21T11:33:21Z", "/compute/v2/"));
            versions.add(version("v2.1", "CURRENT", ApiVersion.MAX.toString(), ApiVersion.MIN.toString(), "2013-07-23T11:33:21Z",
                    "/compute/v2.1/"));
            ctx.json(body);
        });
        routes.get("/compute/v2.1", ctx -> ctx.json(Json.object().set("version", document("v2.1", "CURRENT", ApiVersion.MAX.toString(),
                ApiVersion.MIN.toString(), "2013-07-23T11:33:21Z", "/compute/v2.1/"))));
        routes.get("/compute/v2", ctx -> ctx.json(Json.object().set("version", document("v2.0", "SUPPORTED", "", "",
                "2011-01-21T11:33:21Z", "/compute/v2/"))));
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/extensions", ctx -> ctx.json(Json.object().set("extensions", Json.array())));
        });
    }

    /** Reads the requested microversion, rejects unsupported ones, and echoes it as Nova does. */
    private void negotiate(Context ctx) {
        String path = ctx.path();
        if (path.startsWith("/compute/v2.1")) {
            ApiVersion version = ApiVersion.negotiate(ctx.header("OpenStack-API-Version"), ctx.header("X-OpenStack-Nova-API-Version"));
            ctx.attribute(ComputeRoutes.VERSION, version);
            ctx.header("OpenStack-API-Version", "compute " + version);
            ctx.header("X-OpenStack-Nova-API-Version", version.toString());
            ctx.header("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
        } else {
            ctx.attribute(ComputeRoutes.VERSION, ApiVersion.MIN);
        }
    }

    private ObjectNode version(String id, String status, String version, String minVersion, String updated, String path) {
        ObjectNode v = Json.object();
        v.put("id", id);
        v.put("status", status);
        v.put("version", version);
        v.put("min_version", minVersion);
        v.put("updated", updated);
        v.putArray("links").addObject().put("rel", "self").put("href", baseUrl + path);
        return v;
    }

    private ObjectNode document(String id, String status, String version, String minVersion, String updated, String path) {
        ObjectNode v = version(id, status, version, minVersion, updated, path);
        ((ArrayNode) v.get("links")).addObject().put("rel", "describedby").put("type", "text/html")
                .put("href", "http://docs.openstack.org/");
        v.putArray("media-types").addObject().put("base", "application/json")
                .put("type", "application/vnd.openstack.compute+json;version=2.1");
        return v;
    }
}
