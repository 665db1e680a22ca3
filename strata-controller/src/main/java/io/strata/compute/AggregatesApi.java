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
import io.strata.identity.Policy;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * os-aggregates: admin-only host aggregates. As in Nova, create, update, delete and the actions
 * answer 200 (not 201/202/204) and an aggregate's uuid appears from microversion 2.41.
 */
public final class AggregatesApi implements ApiArea {
    private final AggregateService aggregates;
    private final Policy policy;

    public AggregatesApi(AggregateService aggregates, Policy policy) {
        this.aggregates = requireNonNull(aggregates, "aggregates is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/os-aggregates", this::list);
            r.post(p + "/os-aggregates", this::create);
            r.get(p + "/os-aggregates/{id}", ctx -> {
                admin(ctx);
                ctx.json(wrap(aggregates.get(ctx.pathParam("id")), ctx, true));
            });
            r.put(p + "/os-aggregates/{id}", this::update);
            r.delete(p + "/os-aggregates/{id}", ctx -> {
                admin(ctx);
                aggregates.delete(ctx.pathParam("id"));
                ctx.status(200);
            });
            r.post(p + "/os-aggregates/{id}/action", this::action);
        });
    }

    private void list(Context ctx) {
        admin(ctx);
        ArrayNode list = Json.array();
        aggregates.list().forEach(a -> list.add(view(a, ctx, true)));
        ctx.json(Json.object().set("aggregates", list));
    }

    private void create(Context ctx) {
        admin(ctx);
        ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "aggregate");
        RequestBody.onlyKeys(body, Set.of("name", "availability_zone"), "aggregate");
        String name = RequestBody.requiredString(body, "name", 1, 255).strip();
        String zone = RequestBody.optionalString(body, "availability_zone", 1, 255);
        ctx.json(wrap(aggregates.create(name, zone == null ? null : zone.strip()), ctx, false));
    }

    private void update(Context ctx) {
        admin(ctx);
        ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "aggregate");
        RequestBody.onlyKeys(body, Set.of("name", "availability_zone"), "aggregate");
        if (body.isEmpty()) {
            throw CloudException.badRequest("Invalid input for field/attribute aggregate. Value: {}. {} does not have enough properties");
        }
        String name = RequestBody.optionalString(body, "name", 1, 255);
        String zone = RequestBody.optionalString(body, "availability_zone", 1, 255);
        Aggregate updated = aggregates.update(ctx.pathParam("id"), name == null ? null : name.strip(), zone,
                body.has("availability_zone"));
        ctx.json(wrap(updated, ctx, true));
    }

    private void action(Context ctx) {
        admin(ctx);
        ObjectNode body = RequestBody.parse(ctx);
        String id = ctx.pathParam("id");
        Aggregate result;
        if (body.has("add_host")) {
            result = aggregates.addHost(id, host(body, "add_host"));
        } else if (body.has("remove_host")) {
            result = aggregates.removeHost(id, host(body, "remove_host"));
        } else if (body.has("set_metadata")) {
            result = aggregates.setMetadata(id, metadata(RequestBody.member(body, "set_metadata")));
        } else {
            throw CloudException.badRequest("Invalid aggregate action: %s", body.fieldNames().hasNext() ? body.fieldNames().next() : "");
        }
        ctx.json(wrap(result, ctx, true));
    }

    private static String host(ObjectNode body, String action) {
        ObjectNode args = RequestBody.member(body, action);
        RequestBody.onlyKeys(args, Set.of("host"), action);
        return RequestBody.requiredString(args, "host", 1, 255);
    }

    /** set_metadata's map allows null values, which remove their keys. */
    private static Map<String, String> metadata(ObjectNode args) {
        RequestBody.onlyKeys(args, Set.of("metadata"), "set_metadata");
        ObjectNode metadata = RequestBody.member(args, "metadata");
        Map<String, String> changes = new HashMap<>();
        for (Map.Entry<String, JsonNode> entry : metadata.properties()) {
            String key = entry.getKey();
            JsonNode value = entry.getValue();
            if (key.isEmpty() || key.length() > 255) {
                throw CloudException.badRequest("Invalid input for field/attribute metadata. Key '%s' must be 1 to 255 characters long", key);
            }
            if (value.isNull()) {
                changes.put(key, null);
            } else if (value.isTextual() && value.textValue().length() <= 255) {
                changes.put(key, value.textValue());
            } else {
                throw RequestBody.invalid("metadata." + key, value, "is not of type 'string', 'null'");
            }
        }
        return changes;
    }

    private static ObjectNode wrap(Aggregate aggregate, Context ctx, boolean withMembers) {
        return Json.object().set("aggregate", view(aggregate, ctx, withMembers));
    }

    private static ObjectNode view(Aggregate a, Context ctx, boolean withMembers) {
        ObjectNode n = Json.object();
        n.put("availability_zone", a.zone());
        n.put("created_at", Json.isoMicrosNoZone(a.createdAt()));
        n.put("deleted", false);
        n.putNull("deleted_at");
        if (withMembers) {
            ArrayNode hosts = n.putArray("hosts");
            a.hosts().forEach(hosts::add);
        }
        n.put("id", a.id());
        if (withMembers) {
            ObjectNode metadata = n.putObject("metadata");
            a.metadata().forEach(metadata::put);
        }
        n.put("name", a.name());
        n.put("updated_at", Json.isoMicrosNoZone(a.updatedAt()));
        if (ComputeRoutes.version(ctx).atLeast(2, 41)) {
            n.put("uuid", a.uuid());
        }
        return n;
    }

    private void admin(Context ctx) {
        policy.enforce(Requests.auth(ctx), "os_compute_api:os-aggregates");
    }
}
