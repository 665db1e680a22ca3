package io.strata.compute;

import static io.strata.api.RequestBody.member;
import static io.strata.api.RequestBody.onlyKeys;
import static io.strata.api.RequestBody.optionalBoolean;
import static io.strata.api.RequestBody.optionalInt;
import static io.strata.api.RequestBody.optionalString;
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
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import io.strata.network.Network;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Nova's servers resource: create, list, show, update, delete, actions, metadata, tags, ips. */
public final class ServersApi implements ApiArea {
    private static final Set<String> CREATE_KEYS = Set.of("name", "imageRef", "flavorRef", "adminPass", "metadata", "networks",
            "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "personality", "key_name", "user_data", "availability_zone",
            "block_device_mapping", "block_device_mapping_v2", "min_count", "max_count", "return_reservation_id", "security_groups",
            "config_drive");
    private static final Pattern NAME = Pattern.compile("^(?!\\s)[\\S\\s]*(?<!\\s)$");
    private static final Pattern TAG = Pattern.compile("^[^,/]{1,60}$");

    private final ServerService service;
    private final ServerView view;
    private final Policy policy;
    /** The one network servers join: the only one a create may name. */
    private final Network network;
    private final Map<String, ServerAction> actions = new ConcurrentHashMap<>();

    public ServersApi(ServerService service, ServerView view, Policy policy, Network network) {
        this.service = requireNonNull(service, "service is null");
        this.view = requireNonNull(view, "view is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.network = requireNonNull(network, "network is null");
        registerPowerActions();
    }

    /** Adds a server action (extensions such as live images register theirs here). */
    public void registerAction(String name, ServerAction action) {
        if (actions.putIfAbsent(name, action) != null) {
            throw new IllegalStateException("server action " + name + " is registered twice");
        }
    }

    public ServerView view() {
        return view;
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/servers", ctx -> list(ctx, false));
            r.get(p + "/servers/detail", ctx -> list(ctx, true));
            r.post(p + "/servers", this::create);
            r.get(p + "/servers/{id}", this::show);
            r.put(p + "/servers/{id}", this::update);
            r.delete(p + "/servers/{id}", this::delete);
            r.post(p + "/servers/{id}/action", this::action);
            r.get(p + "/servers/{id}/ips", ctx -> {
                Server s = service.get(auth(ctx, "os_compute_api:servers:show"), ctx.pathParam("id"));
                ctx.json(Json.object().set("addresses", addresses(s)));
            });
            r.get(p + "/servers/{id}/ips/{network}", ctx -> {
                Server s = service.get(auth(ctx, "os_compute_api:servers:show"), ctx.pathParam("id"));
                ObjectNode addresses = addresses(s);
                if (!addresses.has(ctx.pathParam("network"))) {
                    throw CloudException.notFound("Instance is not a member of specified network");
                }
                ctx.json(Json.object().set(ctx.pathParam("network"), addresses.get(ctx.pathParam("network"))));
            });
            r.get(p + "/servers/{id}/metadata", ctx -> ctx.json(Json.object().set("metadata",
                    map(service.metadata(auth(ctx, "os_compute_api:server-metadata:index"), ctx.pathParam("id"))))));
            r.post(p + "/servers/{id}/metadata", ctx -> setMetadata(ctx, false));
            r.put(p + "/servers/{id}/metadata", ctx -> setMetadata(ctx, true));
            r.get(p + "/servers/{id}/metadata/{key}", ctx -> {
                Map<String, String> metadata = service.metadata(auth(ctx, "os_compute_api:server-metadata:index"), ctx.pathParam("id"));
                String key = ctx.pathParam("key");
                if (!metadata.containsKey(key)) {
                    throw CloudException.notFound("Metadata item was not found");
                }
                ctx.json(Json.object().set("meta", Json.object().put(key, metadata.get(key))));
            });
            r.put(p + "/servers/{id}/metadata/{key}", this::putMetadataItem);
            r.delete(p + "/servers/{id}/metadata/{key}", ctx -> {
                service.deleteMetadata(auth(ctx, "os_compute_api:server-metadata"), ctx.pathParam("id"), ctx.pathParam("key"));
                ctx.status(204);
            });
            r.get(p + "/servers/{id}/tags", ctx -> {
                requireVersion(ctx, 2, 26);
                ctx.json(Json.object().set("tags", strings(service.tags(auth(ctx, "os_compute_api:servers:show"), ctx.pathParam("id")))));
            });
            r.put(p + "/servers/{id}/tags", ctx -> {
                requireVersion(ctx, 2, 26);
                ObjectNode body = RequestBody.parse(ctx);
                List<String> tags = RequestBody.optionalStringList(body, "tags", 50, 60);
                if (tags == null) {
                    throw CloudException.badRequest("Invalid input for field/attribute tags. Value: None. 'tags' is a required property");
                }
                tags.forEach(ServersApi::checkTag);
                service.replaceTags(auth(ctx, "os_compute_api:servers:update"), ctx.pathParam("id"), tags);
                ctx.json(Json.object().set("tags", strings(tags)));
            });
            r.delete(p + "/servers/{id}/tags", ctx -> {
                requireVersion(ctx, 2, 26);
                service.replaceTags(auth(ctx, "os_compute_api:servers:update"), ctx.pathParam("id"), List.of());
                ctx.status(204);
            });
            r.get(p + "/servers/{id}/tags/{tag}", ctx -> {
                requireVersion(ctx, 2, 26);
                if (!service.tags(auth(ctx, "os_compute_api:servers:show"), ctx.pathParam("id")).contains(ctx.pathParam("tag"))) {
                    throw CloudException.notFound("Tag %s could not be found.", ctx.pathParam("tag"));
                }
                ctx.status(204);
            });
            r.put(p + "/servers/{id}/tags/{tag}", ctx -> {
                requireVersion(ctx, 2, 26);
                String tag = ctx.pathParam("tag");
                checkTag(tag);
                boolean added = service.addTag(auth(ctx, "os_compute_api:servers:update"), ctx.pathParam("id"), tag);
                ctx.header("Location", view.computeUrl() + "/servers/" + ctx.pathParam("id") + "/tags/" + tag);
                ctx.status(added ? 201 : 204);
            });
            r.delete(p + "/servers/{id}/tags/{tag}", ctx -> {
                requireVersion(ctx, 2, 26);
                service.removeTag(auth(ctx, "os_compute_api:servers:update"), ctx.pathParam("id"), ctx.pathParam("tag"));
                ctx.status(204);
            });
        });
    }

    // ------------------------------------------------------------------ list and show

    private void list(Context ctx, boolean detail) {
        AuthContext auth = auth(ctx, detail ? "os_compute_api:servers:detail" : "os_compute_api:servers:index");
        ApiVersion v = ComputeRoutes.version(ctx);
        boolean allTenants = Boolean.TRUE.equals(allTenants(ctx));
        if (allTenants) {
            policy.enforce(auth, "os_compute_api:servers:index:get_all_tenants");
        }
        String projectId = auth.projectId();
        if (auth.isAdmin()) {
            String requested = first(ctx, "project_id", "tenant_id");
            if (requested != null) {
                projectId = requested;
            } else if (allTenants) {
                projectId = null;
            }
        }
        Set<VmState> states = null;
        String status = ctx.queryParam("status");
        if (status != null) {
            VmState state = ServerStatus.vmStateFor(status);
            if (state == null) {
                if (v.atLeast(2, 38)) {
                    throw CloudException.badRequest("Invalid status value");
                }
                ctx.json(listBody(List.of(), detail, auth, v, ctx, 1000));
                return;
            }
            states = Set.of(state);
        }
        boolean includeDeleted = auth.isAdmin() && Boolean.TRUE.equals(Requests.boolQuery(ctx, "deleted"));
        if (states != null && states.contains(VmState.DELETED) && !includeDeleted) {
            includeDeleted = auth.isAdmin();
        }
        String sortKey = ctx.queryParam("sort_key") == null ? "created_at" : ctx.queryParam("sort_key");
        if (!ServerStore.isSortKey(sortKey)) {
            throw CloudException.badRequest("Invalid input for query parameters sort_key. Value: %s.", sortKey);
        }
        int limit = ComputeRoutes.pageLimit(ctx);
        ServerQuery query = new ServerQuery(projectId, regex(ctx.queryParam("name"), "name"), states,
                auth.isAdmin() ? ctx.queryParam("host") : null, ctx.queryParam("flavor"), lastSegment(ctx.queryParam("image")),
                regex(ctx.queryParam("ip"), "ip"), changesSince(ctx), includeDeleted, null, sortKey, ComputeRoutes.ascending(ctx),
                ctx.queryParam("marker"), limit, ctx.queryParam("reservation_id"));
        ctx.json(listBody(service.list(query), detail, auth, v, ctx, limit));
    }

    private ObjectNode listBody(List<Server> servers, boolean detail, AuthContext auth, ApiVersion v, Context ctx, int limit) {
        ObjectNode body = Json.object();
        ArrayNode items = body.putArray("servers");
        if (detail) {
            view.details(servers, v, auth).forEach(items::add);
        } else {
            servers.forEach(s -> items.add(view.summary(s)));
        }
        if (!servers.isEmpty() && servers.size() == limit) {
            StringBuilder next = new StringBuilder(view.computeUrl()).append(detail ? "/servers/detail?" : "/servers?");
            ctx.queryParamMap().forEach((k, values) -> {
                if (!k.equals("marker")) {
                    values.forEach(value -> next.append(k).append('=').append(java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8)).append('&'));
                }
            });
            next.append("marker=").append(servers.get(servers.size() - 1).id());
            body.putArray("servers_links").addObject().put("rel", "next").put("href", next.toString());
        }
        return body;
    }

    private static Boolean allTenants(Context ctx) {
        String value = ctx.queryParam("all_tenants");
        if (value == null) {
            return null;
        }
        // Nova treats a bare ?all_tenants (empty value) as true.
        return value.isEmpty() || Boolean.TRUE.equals(Requests.boolQuery(ctx, "all_tenants"));
    }

    private static String first(Context ctx, String... names) {
        for (String name : names) {
            String value = ctx.queryParam(name);
            if (value != null && !value.isEmpty()) {
                return value;
            }
        }
        return null;
    }

    private static String regex(String value, String name) {
        if (value == null) {
            return null;
        }
        try {
            Pattern.compile(value);
        } catch (PatternSyntaxException e) {
            throw CloudException.badRequest("Invalid input for query parameters %s. Value: %s. It is not a valid regular expression", name, value);
        }
        return value;
    }

    private static Instant changesSince(Context ctx) {
        String value = ctx.queryParam("changes-since");
        if (value == null) {
            value = ctx.queryParam("changes_since");
        }
        if (value == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return java.time.LocalDateTime.parse(value).toInstant(java.time.ZoneOffset.UTC);
            } catch (DateTimeParseException again) {
                throw CloudException.badRequest("Invalid input for query parameters changes-since. Value: %s. '%s' is not a 'date-time'",
                        value, value);
            }
        }
    }

    private void show(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:servers:show");
        Server server = service.get(auth, ctx.pathParam("id"));
        ctx.json(Json.object().set("server", view.detail(server, ComputeRoutes.version(ctx), auth)));
    }

    // ------------------------------------------------------------------ create

    private void create(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:servers:create");
        ApiVersion v = ComputeRoutes.version(ctx);
        ObjectNode body = RequestBody.parse(ctx);
        onlyKeys(body, Set.of("server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"), "request body");
        ObjectNode s = member(body, "server");
        Set<String> allowed = new HashSet<>(CREATE_KEYS);
        if (v.atLeast(2, 19)) {
            allowed.add("description");
        }
        onlyKeys(s, allowed, "server");

        String name = RequestBody.requiredString(s, "name", 1, 255);
        if (!NAME.matcher(name).matches()) {
            throw CloudException.badRequest("Invalid input for field/attribute name. Value: %s. '%s' does not match the name pattern "
                    + "(no leading or trailing whitespace)", name, name);
        }
        String imageRef = lastSegment(optionalString(s, "imageRef", 0, 1024));
        if (s.has("block_device_mapping") || s.has("block_device_mapping_v2")) {
            throw CloudException.badRequest("Block device mappings are not supported until the volume service exists; boot from an image.");
        }
        if (imageRef == null || imageRef.isEmpty()) {
            throw CloudException.badRequest("Invalid input for field/attribute imageRef. Value: None. 'imageRef' is a required property");
        }
        String flavorRef = lastSegment(RequestBody.requiredReference(s, "flavorRef"));
        String keyName = optionalString(s, "key_name", 1, 255);
        String userData = optionalString(s, "user_data", 0, 65535 * 4 / 3 + 4);
        Map<String, String> metadata = RequestBody.stringMap(s, "metadata", 255, 255);
        String zone = optionalString(s, "availability_zone", 1, 255);
        Integer minCount = optionalInt(s, "min_count", 1, Integer.MAX_VALUE);
        Integer maxCount = optionalInt(s, "max_count", 1, Integer.MAX_VALUE);
        int min = minCount == null ? 1 : minCount;
        int max = maxCount == null ? min : maxCount;
        boolean returnReservation = Boolean.TRUE.equals(optionalBoolean(s, "return_reservation_id"));
        Boolean configDrive = optionalBoolean(s, "config_drive");
        String adminPass = optionalString(s, "adminPass", 0, 255);
        String accessIpv4 = optionalString(s, "accessIPv4", 0, 64);
        String accessIpv6 = optionalString(s, "accessIPv6", 0, 64);
        if (accessIpv4 != null && !accessIpv4.isEmpty() && !accessIpv4.matches("^(\\d{1,3}\\.){3}\\d{1,3}$")) {
            throw CloudException.badRequest("Invalid input for field/attribute accessIPv4. Value: %s. '%s' is not a 'ipv4'", accessIpv4, accessIpv4);
        }
        String description = v.atLeast(2, 19) ? optionalString(s, "description", 0, 255) : null;
        String diskConfig = optionalString(s, "OS-DCF:diskConfig", 1, 16);
        if (diskConfig != null && !diskConfig.equals("AUTO") && !diskConfig.equals("MANUAL")) {
            throw CloudException.badRequest("OS-DCF:diskConfig must be either 'MANUAL' or 'AUTO'.");
        }
        checkPersonality(s.get("personality"));
        List<String> securityGroups = securityGroupNames(s.get("security_groups"));
        boolean attachNetwork = checkNetworks(s.get("networks"), v);

        List<Server> created = service.create(auth, new CreateServerRequest(name, imageRef, flavorRef, keyName, userData,
                metadata == null ? Map.of() : metadata, zone, min, max, description, List.of(), adminPass, accessIpv4, accessIpv6,
                Boolean.TRUE.equals(configDrive), attachNetwork, serverGroupHint(body), securityGroups));
        if (returnReservation) {
            ctx.status(202).json(Json.object().put("reservation_id", created.get(0).reservationId()));
            return;
        }
        Server first = created.get(0);
        ObjectNode server = Json.object();
        server.put("id", first.id());
        server.set("links", view.links("servers", first.id()));
        server.put("OS-DCF:diskConfig", diskConfig == null ? "MANUAL" : diskConfig);
        ArrayNode groupNames = server.putArray("security_groups");
        (securityGroups.isEmpty() ? List.of(SecurityGroup.DEFAULT) : securityGroups).forEach(g -> groupNames.addObject().put("name", g));
        server.put("adminPass", adminPass == null ? ServerService.generatePassword() : adminPass);
        ctx.header("Location", view.computeUrl() + "/servers/" + first.id());
        ctx.status(202).json(Json.object().set("server", server));
    }

    /** The {@code group} scheduler hint (a server group's uuid), or null. */
    private static String serverGroupHint(ObjectNode body) {
        ObjectNode hints = RequestBody.optionalObject(body, "os:scheduler_hints");
        if (hints == null) {
            hints = RequestBody.optionalObject(body, "OS-SCH-HNT:scheduler_hints");
        }
        return groupHint(hints);
    }

    /** The {@code group} of scheduler hints (a server group's uuid; 400 when not one), or null without it. */
    public static String groupHint(ObjectNode hints) {
        if (hints == null || hints.get("group") == null || hints.get("group").isNull()) {
            return null;
        }
        String group = hints.get("group").asText();
        if (!group.matches("[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")) {
            throw CloudException.badRequest("Invalid input for field/attribute group. Value: %s. '%s' is not a 'uuid'", group, group);
        }
        return group;
    }

    private static void checkPersonality(JsonNode personality) {
        if (personality != null && !personality.isNull() && !(personality.isArray() && personality.isEmpty())) {
            throw CloudException.badRequest("Personality file injection is not supported; pass files in user_data or the config drive.");
        }
    }

    /** The names in a create's security_groups ([{"name": …}, …]); empty when absent. */
    private static List<String> securityGroupNames(JsonNode groups) {
        if (groups == null || groups.isNull()) {
            return List.of();
        }
        if (!groups.isArray()) {
            throw RequestBody.invalid("security_groups", groups, "is not of type 'array'");
        }
        List<String> names = new java.util.ArrayList<>();
        for (JsonNode group : groups) {
            String name = group.isObject() && group.get("name") != null ? group.get("name").asText() : null;
            if (name == null || name.isEmpty()) {
                throw RequestBody.invalid("security_groups", group, "is not a valid security group (an object with a name)");
            }
            names.add(name);
        }
        return names;
    }

    /**
     * Nova's networks: "auto", "none" or a list (required from 2.37); returns whether to attach the
     * NIC. A list may name the one network by {@code uuid}, once: each entry is one NIC, and a
     * server has one. Ports and fixed addresses need a port service Strata does not have.
     */
    private boolean checkNetworks(JsonNode networks, ApiVersion v) {
        if (networks == null || networks.isNull()) {
            if (v.atLeast(2, 37)) {
                throw CloudException.badRequest("Invalid input for field/attribute networks. Value: None. 'networks' is a required property");
            }
            return true;
        }
        if (networks.isTextual()) {
            String value = networks.textValue();
            if (!v.atLeast(2, 37) || (!value.equals("auto") && !value.equals("none"))) {
                throw RequestBody.invalid("networks", networks, "is not valid under any of the given schemas");
            }
            return value.equals("auto");
        }
        if (!networks.isArray()) {
            throw RequestBody.invalid("networks", networks, "is not of type 'array'");
        }
        for (JsonNode requested : networks) {
            if (!requested.isObject()) {
                throw RequestBody.invalid("networks", requested, "is not of type 'object'");
            }
            if (requested.hasNonNull("port")) {
                throw CloudException.badRequest("Choosing ports is not supported: Strata has no port service; name the network by uuid.");
            }
            if (requested.hasNonNull("fixed_ip")) {
                throw CloudException.badRequest("Choosing fixed IPs is not supported: addresses of network %s are allocated by Strata.",
                        network.name());
            }
            JsonNode uuid = requested.get("uuid");
            if (uuid == null || uuid.isNull()) {
                throw CloudException.badRequest("Invalid input for field/attribute networks. Value: %s. 'uuid' is a required property",
                        requested);
            }
            if (!uuid.isTextual() || !uuid.textValue().matches("[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")) {
                throw RequestBody.invalid("networks.uuid", uuid, "is not a 'uuid'");
            }
            if (!network.hasId(uuid.textValue())) {
                throw CloudException.badRequest("Network %s could not be found.", uuid.textValue());
            }
        }
        if (networks.size() > 1) {
            throw CloudException.badRequest("Servers have one NIC on network %s; it cannot be requested %d times.", network.name(),
                    networks.size());
        }
        // An empty list attaches the network, as before microversion 2.37 (Nova then picks one).
        return true;
    }

    private static String lastSegment(String ref) {
        if (ref == null) {
            return null;
        }
        String trimmed = ref.endsWith("/") ? ref.substring(0, ref.length() - 1) : ref;
        int slash = trimmed.lastIndexOf('/');
        return slash < 0 ? trimmed : trimmed.substring(slash + 1);
    }

    // ------------------------------------------------------------------ update and delete

    private void update(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:servers:update");
        ApiVersion v = ComputeRoutes.version(ctx);
        ObjectNode s = member(RequestBody.parse(ctx), "server");
        Set<String> allowed = new HashSet<>(Set.of("name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"));
        if (v.atLeast(2, 19)) {
            allowed.add("description");
        }
        onlyKeys(s, allowed, "server");
        String name = optionalString(s, "name", 1, 255);
        if (name != null && !NAME.matcher(name).matches()) {
            throw CloudException.badRequest("Invalid input for field/attribute name. Value: %s. '%s' does not match the name pattern", name, name);
        }
        boolean clearDescription = s.has("description") && s.get("description").isNull();
        Server server = service.update(auth, ctx.pathParam("id"), name, optionalString(s, "accessIPv4", 0, 64),
                optionalString(s, "accessIPv6", 0, 64), optionalString(s, "description", 0, 255), clearDescription);
        ctx.json(Json.object().set("server", view.detail(server, v, auth)));
    }

    private void delete(Context ctx) {
        service.delete(auth(ctx, "os_compute_api:servers:delete"), ctx.pathParam("id"));
        ctx.status(204);
    }

    // ------------------------------------------------------------------ actions

    private void action(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:servers:action");
        ObjectNode body = RequestBody.parse(ctx);
        Iterator<String> names = body.fieldNames();
        if (!names.hasNext()) {
            throw CloudException.badRequest("Malformed request body: an action is required.");
        }
        String name = names.next();
        ServerAction action = actions.get(name);
        if (action == null) {
            throw CloudException.notFound("There is no such action: %s", name);
        }
        action.handle(ctx, auth, ctx.pathParam("id"), ComputeRoutes.actionBody(body, name));
    }

    private void registerPowerActions() {
        power("os-start", ServerService.PowerAction.START);
        power("os-stop", ServerService.PowerAction.STOP);
        power("pause", ServerService.PowerAction.PAUSE);
        power("unpause", ServerService.PowerAction.UNPAUSE);
        power("suspend", ServerService.PowerAction.SUSPEND);
        power("resume", ServerService.PowerAction.RESUME);
        registerAction("reboot", (ctx, auth, id, body) -> {
            String type = RequestBody.requiredString(body, "type", 1, 10);
            ServerService.PowerAction action = switch (type.toUpperCase(java.util.Locale.ROOT)) {
                case "SOFT" -> ServerService.PowerAction.REBOOT_SOFT;
                case "HARD" -> ServerService.PowerAction.REBOOT_HARD;
                default -> throw CloudException.badRequest("Invalid input for field/attribute type. Value: %s. '%s' is not one of "
                        + "['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']", type, type);
            };
            service.act(auth, id, action);
            ctx.status(202);
        });
        registerAction("os-migrateLive", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-migrate-server:migrate_live");
            RequestBody.onlyKeys(body, Set.of("host", "block_migration", "disk_over_commit", "force"), "os-migrateLive");
            if (!body.has("block_migration")) {
                throw CloudException.badRequest("Invalid input for field/attribute os-migrateLive. Value: %s. 'block_migration' is a "
                        + "required property", body.toString());
            }
            service.liveMigrate(auth, id, RequestBody.optionalString(body, "host", 1, 255), ServerService.MigrationRules.NOVA);
            ctx.status(202);
        });
        registerAction("os-getConsoleOutput", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-console-output");
            Integer length = optionalInt(body, "length", -1, Integer.MAX_VALUE);
            ctx.json(Json.object().put("output", service.consoleOutput(auth, id, length == null ? -1 : length)));
        });
        registerAction("createImage", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:servers:create_image");
            String name = RequestBody.requiredString(body, "name", 0, 255);
            Map<String, String> metadata = RequestBody.stringMap(body, "metadata", 255, 255);
            String imageId = service.createImage(auth, id, name, metadata == null ? Map.of() : metadata);
            if (ComputeRoutes.version(ctx).atLeast(2, 45)) {
                ctx.status(202).json(Json.object().put("image_id", imageId));
            } else {
                ctx.header("Location", Requests.baseUrl(ctx) + "/image/v2/images/" + imageId);
                ctx.status(202);
            }
        });
    }

    private void power(String name, ServerService.PowerAction action) {
        registerAction(name, (ctx, auth, id, body) -> {
            service.act(auth, id, action);
            ctx.status(202);
        });
    }

    // ------------------------------------------------------------------ metadata

    private void setMetadata(Context ctx, boolean replace) {
        AuthContext auth = auth(ctx, "os_compute_api:server-metadata");
        ObjectNode body = RequestBody.parse(ctx);
        Map<String, String> metadata = RequestBody.stringMap(body, "metadata", 255, 255);
        if (metadata == null) {
            throw CloudException.badRequest("Malformed request body: 'metadata' is a required property");
        }
        ctx.json(Json.object().set("metadata", map(service.setMetadata(auth, ctx.pathParam("id"), metadata, replace))));
    }

    private void putMetadataItem(Context ctx) {
        AuthContext auth = auth(ctx, "os_compute_api:server-metadata");
        ObjectNode body = RequestBody.parse(ctx);
        Map<String, String> meta = RequestBody.stringMap(body, "meta", 255, 255);
        if (meta == null || meta.size() != 1) {
            throw CloudException.badRequest("Request body contains too many items");
        }
        if (!meta.containsKey(ctx.pathParam("key"))) {
            throw CloudException.badRequest("Request body and URI mismatch");
        }
        service.setMetadata(auth, ctx.pathParam("id"), meta, false);
        ctx.json(Json.object().set("meta", map(meta)));
    }

    // ------------------------------------------------------------------ helpers

    private AuthContext auth(Context ctx, String operation) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, operation);
        return auth;
    }

    private static void requireVersion(Context ctx, int major, int minor) {
        if (!ComputeRoutes.version(ctx).atLeast(major, minor)) {
            throw new CloudException(ErrorCode.NOT_FOUND, "The resource could not be found.");
        }
    }

    private static void checkTag(String tag) {
        if (!TAG.matcher(tag).matches()) {
            throw CloudException.badRequest("Invalid input for field/attribute tag. Value: %s. Tags are 1 to 60 characters without ',' or '/'", tag);
        }
    }

    private ObjectNode addresses(Server s) {
        ObjectNode addresses = Json.object();
        if (s.ipAddress() != null) {
            addresses.putArray(view.networkName()).addObject().put("version", 4).put("addr", s.ipAddress());
        }
        return addresses;
    }

    private static ObjectNode map(Map<String, String> map) {
        ObjectNode node = Json.object();
        new LinkedHashMap<>(map).forEach(node::put);
        return node;
    }

    private static ArrayNode strings(List<String> values) {
        ArrayNode array = Json.array();
        new ArrayList<>(values).forEach(array::add);
        return array;
    }
}
