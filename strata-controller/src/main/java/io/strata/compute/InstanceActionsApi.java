package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.Requests;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.time.Clock;
import java.util.Iterator;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * os-instance-actions: the history of what was asked of a server. Each accepted server action is
 * recorded after its handler answered (with the request id clients saw; creates and deletes are
 * recorded by ServerService in their own transactions),
 * named as Nova names them; read-only actions (console output) are not recorded, as in Nova.
 * Admins also see each action's {@code events}: the compute steps it ran (named as Nova names
 * them, e.g. compute_resize_instance), when they started and finished, and their result.
 */
public final class InstanceActionsApi implements ApiArea {
    private static final Logger log = LoggerFactory.getLogger(InstanceActionsApi.class);
    private static final Map<String, String> ACTION_NAMES = Map.ofEntries(
            Map.entry("os-start", "start"), Map.entry("os-stop", "stop"), Map.entry("reboot", "reboot"), Map.entry("pause", "pause"),
            Map.entry("unpause", "unpause"), Map.entry("suspend", "suspend"), Map.entry("resume", "resume"), Map.entry("lock", "lock"),
            Map.entry("unlock", "unlock"), Map.entry("createImage", "createImage"), Map.entry("createBackup", "createBackup"),
            Map.entry("os-migrateLive", "live-migration"), Map.entry("migrate", "migrate"), Map.entry("evacuate", "evacuate"),
            Map.entry("rebuild", "rebuild"), Map.entry("resize", "resize"),
            Map.entry("confirmResize", "confirmResize"), Map.entry("revertResize", "revertResize"));

    private final InstanceActionStore store;
    private final ServerService servers;
    private final Policy policy;
    private final Clock clock;

    public InstanceActionsApi(InstanceActionStore store, ServerService servers, Policy policy, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/servers/{id}/os-instance-actions", this::list);
            r.get(p + "/servers/{id}/os-instance-actions/{request}", this::show);
            // "create" and "delete" are written by ServerService in the transactions that insert
            // and begin deleting the servers (one commit fewer each on the hot path).
            r.after(p + "/servers/{id}/action", ctx -> {
                int status = ctx.status().getCode();
                if (ctx.method().name().equals("POST") && status >= 200 && status < 300) {
                    String action = ACTION_NAMES.get(actionKey(ctx));
                    if (action != null) {
                        record(ctx, ctx.pathParam("id"), action);
                    }
                }
            });
        });
    }

    private void list(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:os-instance-actions:list");
        Server server = servers.get(auth, ctx.pathParam("id"));
        ArrayNode actions = Json.array();
        store.list(server.id()).forEach(a -> actions.add(view(a)));
        ctx.json(Json.object().set("instanceActions", actions));
    }

    private void show(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:os-instance-actions:show");
        Server server = servers.get(auth, ctx.pathParam("id"));
        InstanceActionStore.InstanceAction action = store.find(server.id(), ctx.pathParam("request"))
                .orElseThrow(() -> io.strata.core.CloudException.notFound("Action %s not found", ctx.pathParam("request")));
        ObjectNode n = view(action);
        if (policy.allows(auth, "os_compute_api:os-instance-actions:events")) {
            ArrayNode events = n.putArray("events");
            for (InstanceActionStore.Event e : store.events(server.id(), action.requestId())) {
                ObjectNode event = events.addObject();
                event.put("event", e.event());
                event.put("start_time", Json.isoMicrosNoZone(e.startTime()));
                event.put("finish_time", e.finishTime() == null ? null : Json.isoMicrosNoZone(e.finishTime()));
                event.put("result", e.result());
                event.put("traceback", e.traceback());
            }
        }
        ctx.json(Json.object().set("instanceAction", n));
    }

    private void record(Context ctx, String serverId, String action) {
        try {
            // Only answered (2xx) requests get here, so they were authenticated.
            AuthContext auth = Requests.auth(ctx);
            store.insert(new InstanceActionStore.InstanceAction(serverId, action, Requests.requestId(ctx), auth.userId(), auth.projectId(),
                    clock.instant(), null));
        } catch (RuntimeException e) {
            // The action itself succeeded; losing its history line must not turn it into an error.
            log.warn("could not record action {} of server {}: {}", action, serverId, e.getMessage());
        }
    }

    private static String actionKey(Context ctx) {
        try {
            JsonNode body = Json.MAPPER.readTree(ctx.body());
            Iterator<String> names = body == null ? null : body.fieldNames();
            return names != null && names.hasNext() ? names.next() : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    private static ObjectNode view(InstanceActionStore.InstanceAction a) {
        ObjectNode n = Json.object();
        n.put("action", a.action());
        n.put("instance_uuid", a.serverId());
        n.put("message", a.message());
        n.put("project_id", a.projectId());
        n.put("request_id", a.requestId());
        n.put("start_time", Json.isoMicrosNoZone(a.startTime()));
        n.put("user_id", a.userId());
        return n;
    }
}
