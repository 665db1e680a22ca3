package io.strata.liveimage;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.compute.ComputeRoutes;
import io.strata.compute.Server;
import io.strata.compute.ServersApi;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Cobalt (Gridcentric VMS) extension of the Compute API: server actions {@code co_bless},
 * {@code co_launch}, {@code co_discard}, {@code co_list_launched}, {@code co_list_blessed},
 * {@code co_migrate}, each also under its older {@code gc_*} name, and {@code GET cobaltinfo}
 * (also {@code gcinfo}) with the capabilities clients check. Bodies and answers as Cobalt's:
 * bless, launch and the lists answer 200 with a JSON list of server details.
 */
public final class LiveImageApi implements ApiArea {
    /** What this cloud honours, in Cobalt's capability names (python-cobaltclient checks them). */
    static final List<String> CAPABILITIES = List.of("user-data", "launch-name", "availability-zone", "num-instances", "bless-name",
            "launch-key", "scheduler-hints", "security-groups");

    private final LiveImageService service;
    private final ServersApi servers;

    public LiveImageApi(LiveImageService service, ServersApi servers) {
        this.service = requireNonNull(service, "service is null");
        this.servers = requireNonNull(servers, "servers is null");
        for (String prefix : List.of("co_", "gc_")) {
            servers.registerAction(prefix + "bless", this::bless);
            servers.registerAction(prefix + "launch", this::launch);
            servers.registerAction(prefix + "discard", this::discard);
            servers.registerAction(prefix + "list_launched", (ctx, auth, id, body) -> list(ctx, auth, service.launchedFrom(auth, id)));
            servers.registerAction(prefix + "list_blessed", (ctx, auth, id, body) -> list(ctx, auth, service.blessedFrom(auth, id)));
            servers.registerAction(prefix + "migrate", this::migrate);
        }
    }

    /** co_migrate: live migration with memory streaming, to {@code dest} or a random other host; 200 with no body, as Cobalt. */
    private void migrate(Context ctx, AuthContext auth, String id, ObjectNode body) {
        RequestBody.onlyKeys(body, java.util.Set.of("dest"), "co_migrate");
        service.migrate(auth, id, RequestBody.optionalString(body, "dest", 1, 255));
        ctx.status(200);
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/cobaltinfo", this::info);
            r.get(p + "/gcinfo", this::info);
            r.get(p + "/{project}/cobaltinfo", this::info);
            r.get(p + "/{project}/gcinfo", this::info);
        });
    }

    private void info(Context ctx) {
        ArrayNode capabilities = Json.array();
        CAPABILITIES.forEach(capabilities::add);
        ctx.json(Json.object().set("capabilities", capabilities));
    }

    private void bless(Context ctx, AuthContext auth, String id, ObjectNode body) {
        RequestBody.onlyKeys(body, java.util.Set.of("name"), "co_bless");
        String name = RequestBody.optionalString(body, "name", 1, 255);
        list(ctx, auth, List.of(service.bless(auth, id, name)));
    }

    private void launch(Context ctx, AuthContext auth, String id, ObjectNode body) {
        Integer count = numInstances(body.get("num_instances"));
        LiveImageService.LaunchRequest request = new LiveImageService.LaunchRequest(
                RequestBody.optionalString(body, "name", 1, 255),
                RequestBody.optionalString(body, "user_data", 0, Integer.MAX_VALUE),
                RequestBody.optionalStringList(body, "security_groups", 100, 255),
                RequestBody.optionalString(body, "availability_zone", 0, 255),
                count == null ? 1 : count,
                RequestBody.optionalString(body, "key_name", 1, 255),
                guestParams(body),
                targetMemoryMb(body.get("target")),
                serverGroupHint(body));
        list(ctx, auth, service.launch(auth, id, request));
    }

    private void discard(Context ctx, AuthContext auth, String id, ObjectNode body) {
        service.discard(auth, id);
        // Cobalt answers json.dumps(None).
        ctx.status(200).contentType("application/json").result("null");
    }

    private void list(Context ctx, AuthContext auth, List<Server> found) {
        ArrayNode list = Json.array();
        servers.view().details(found, ComputeRoutes.version(ctx), auth).forEach(list::add);
        ctx.status(200).json(list);
    }

    /**
     * Cobalt hands {@code scheduler_hints} to Nova's scheduler; Strata's scheduler honours the
     * {@code group} hint (a server group's uuid) as its server create does, and ignores the others.
     */
    private static String serverGroupHint(ObjectNode body) {
        return io.strata.compute.ServersApi.groupHint(RequestBody.optionalObject(body, "scheduler_hints"));
    }

    /** Cobalt accepts an integer (the client sends one) and says so when it is not. */
    private static Integer numInstances(JsonNode value) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (value.isIntegralNumber() && value.canConvertToInt()) {
            return value.intValue();
        }
        if (value.isTextual() && value.textValue().trim().matches("-?\\d{1,9}")) {
            return Integer.parseInt(value.textValue().trim());
        }
        throw CloudException.badRequest("num_instances must be an integer");
    }

    /** The guest's key=value params: Cobalt's {@code guest} object (also accepted as {@code params}). */
    private static Map<String, String> guestParams(ObjectNode body) {
        JsonNode node = body.hasNonNull("guest") ? body.get("guest") : body.get("params");
        Map<String, String> params = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return params;
        }
        if (!node.isObject()) {
            throw RequestBody.invalid("guest", node, "is not of type 'object'");
        }
        node.fields().forEachRemaining(e -> {
            if (!e.getKey().matches("[A-Za-z0-9_.-]{1,64}")) {
                throw CloudException.badRequest("Guest parameter name '%s' must be 1-64 letters, digits, '_', '.' or '-'.", e.getKey());
            }
            if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                throw RequestBody.invalid("guest." + e.getKey(), e.getValue(), "is not a string");
            }
            String value = e.getValue().asText();
            if (value.contains("\n") || value.length() > 4096) {
                throw CloudException.badRequest("Guest parameter '%s' must be one line of at most 4096 characters.", e.getKey());
            }
            params.put(e.getKey(), value);
        });
        return params;
    }

    /** Cobalt's {@code target}: the clone's memory, in MB ("512", 512) or with a unit ("512M", "1G"); 0 or absent is all of it. */
    static int targetMemoryMb(JsonNode value) {
        if (value == null || value.isNull()) {
            return 0;
        }
        String text = value.asText().trim().toUpperCase(Locale.ROOT);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})\\s*(M|MB|MIB|G|GB|GIB)?").matcher(text);
        if (!value.isValueNode() || !m.matches()) {
            throw CloudException.badRequest("target must be a memory size such as 512, 512M or 1G, not %s", value.toString());
        }
        long mb = Long.parseLong(m.group(1));
        if (m.group(2) != null && m.group(2).startsWith("G")) {
            mb *= 1024;
        }
        if (mb > Integer.MAX_VALUE) {
            throw CloudException.badRequest("target %s is too large", value.toString());
        }
        return (int) mb;
    }
}
