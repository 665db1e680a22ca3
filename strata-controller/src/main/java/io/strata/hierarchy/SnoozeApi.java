package io.strata.hierarchy;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.core.CloudException;
import io.strata.hierarchy.zk.DistributedLeadership;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Snooze's REST API on the main port: {@code /bootstrap} and {@code /groupmanager}, the method
 * named by the query string ({@code GET /bootstrap?getLocalControllerList}), JSON bodies as
 * Snooze's Restlet resources read and write them, bare strings (task and VM ids) sent raw.
 * Snooze had no authentication, and neither has this API (see the README).
 */
public final class SnoozeApi implements ApiArea {
    private static final Set<String> GET_METHODS = Set.of("getGroupLeaderDescription", "getCompleteHierarchy", "getLocalControllerList");
    private static final Map<String, SnoozeService.Command> COMMANDS = Map.of(
            "suspendVirtualMachine", SnoozeService.Command.SUSPEND,
            "resumeVirtualMachine", SnoozeService.Command.RESUME,
            "shutdownVirtualMachine", SnoozeService.Command.SHUTDOWN,
            "destroyVirtualMachine", SnoozeService.Command.DESTROY,
            "rebootVirtualMachine", SnoozeService.Command.REBOOT);
    private static final Set<String> POST_METHODS;

    static {
        POST_METHODS = new java.util.TreeSet<>(COMMANDS.keySet());
        POST_METHODS.addAll(List.of("startVirtualCluster", "getVirtualClusterResponse", "migrateVirtualMachine"));
    }

    private final SnoozeService snooze;
    private final SnoozeJson json;

    public SnoozeApi(SnoozeService snooze, String baseUrl) {
        this(snooze, baseUrl, Optional::empty);
    }

    /** {@code leader}: the elected group leader when the hierarchy is distributed over ZooKeeper, else empty. */
    public SnoozeApi(SnoozeService snooze, String baseUrl, java.util.function.Supplier<Optional<DistributedLeadership.Leader>> leader) {
        this.snooze = requireNonNull(snooze, "snooze is null");
        URI base = URI.create(requireNonNull(baseUrl, "baseUrl is null"));
        this.json = new SnoozeJson(base.getHost(), base.getPort() < 0 ? 80 : base.getPort(), snooze.wakeupDriver(), snooze::timeOff, leader);
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        for (String resource : List.of("/bootstrap", "/groupmanager")) {
            routes.get(resource, this::get);
            routes.post(resource, this::post);
        }
    }

    @Override
    public Set<String> publicRoutes() {
        return Set.of("GET /bootstrap", "POST /bootstrap", "GET /groupmanager", "POST /groupmanager");
    }

    private void get(Context ctx) {
        String method = method(ctx);
        if (POST_METHODS.contains(method)) {
            throw new CloudException(io.strata.core.ErrorCode.METHOD_NOT_ALLOWED, method + " is called with POST");
        }
        switch (method) {
            case "getGroupLeaderDescription" -> ctx.json(json.groupLeader(snooze.hierarchy()));
            case "getCompleteHierarchy" -> ctx.json(json.completeHierarchy(snooze.hierarchy()));
            case "getLocalControllerList" -> ctx.json(json.localControllerList(snooze.hierarchy()));
            default -> throw unknown(method);
        }
    }

    private void post(Context ctx) throws JsonProcessingException {
        String method = method(ctx);
        if (GET_METHODS.contains(method)) {
            throw new CloudException(io.strata.core.ErrorCode.METHOD_NOT_ALLOWED, method + " is called with GET");
        }
        SnoozeService.Command command = COMMANDS.get(method);
        if (command != null) {
            snooze.command(bareString(ctx), command);
            ctx.contentType("application/json").result("true");
            return;
        }
        switch (method) {
            case "startVirtualCluster" -> {
                List<VmTemplate> templates = SnoozeTemplates.read(jsonBody(ctx));
                ctx.contentType("application/json").result(snooze.startVirtualCluster(templates));
            }
            case "getVirtualClusterResponse" -> {
                Optional<SnoozeService.ClusterResponse> response = snooze.virtualClusterResponse(bareString(ctx));
                ctx.contentType("application/json");
                if (response.isPresent()) {
                    ctx.json(json.clusterResponse(response.get(), snooze));
                } else {
                    ctx.result("");     // Snooze answers null until the cluster is settled
                }
            }
            case "migrateVirtualMachine" -> {
                JsonNode body = jsonBody(ctx);
                String vm;
                String destination;
                if (body.has("sourceVirtualMachineLocation")) {
                    vm = text(body.path("sourceVirtualMachineLocation"), "virtualMachineId", "sourceVirtualMachineLocation");
                    destination = text(body.path("destinationVirtualMachineLocation"), "localControllerId",
                            "destinationVirtualMachineLocation");
                } else {
                    vm = text(body, "virtualMachineId", "the request");
                    destination = text(body, "localControllerId", "the request");
                }
                snooze.migrate(vm, destination);
                ctx.contentType("application/json").result("true");
            }
            default -> throw unknown(method);
        }
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual() || value.asText().isBlank()) {
            throw CloudException.badRequest("%s needs a string %s", where, field);
        }
        return value.asText();
    }

    /** The Snooze method: the query string's first parameter name ({@code ?getLocalControllerList}). */
    private static String method(Context ctx) {
        String query = ctx.queryString();
        if (query == null || query.isBlank()) {
            throw CloudException.badRequest("name the method in the query string, e.g. %s?getLocalControllerList", ctx.path());
        }
        int end = query.length();
        for (char stop : new char[] {'&', '='}) {
            int at = query.indexOf(stop);
            if (at >= 0) {
                end = Math.min(end, at);
            }
        }
        return query.substring(0, end);
    }

    private static CloudException unknown(String method) {
        List<String> known = new ArrayList<>(GET_METHODS);
        known.addAll(POST_METHODS);
        return CloudException.badRequest("unknown Snooze method '%s' (known: %s)", method, String.join(", ", known.stream().sorted().toList()));
    }

    private static JsonNode jsonBody(Context ctx) throws JsonProcessingException {
        String body = ctx.body();
        if (body.isBlank()) {
            throw CloudException.badRequest("the request needs a JSON body");
        }
        return Json.MAPPER.readTree(body);
    }

    /** A bare-string body: raw ({@code -d a4fb…}) as curl sends it, or a JSON string as Snooze's Java client does. */
    private static String bareString(Context ctx) throws JsonProcessingException {
        String body = ctx.body().strip();
        if (body.startsWith("\"")) {
            JsonNode node = Json.MAPPER.readTree(body);
            body = node.asText();
        }
        if (body.isEmpty()) {
            throw CloudException.badRequest("the request body must be the id as a string");
        }
        return body;
    }
}
