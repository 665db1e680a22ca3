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
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.identity.Catalog;
import io.strata.identity.Policy;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A read-only Networking API (Neutron v2.0) for the one network every server joins: enough for
 * {@code openstack network list|show}, {@code openstack subnet list} and for clients that resolve
 * {@code --network NAME} to an id before creating a server. Nothing can be created or changed.
 */
public final class NetworkApi implements ApiArea {
    public static final Catalog.Service CATALOG_SERVICE = new Catalog.Service("network", "neutron", "/network");
    static final String PREFIX = "/network/v2.0";
    /** Query parameters that page, sort or project rather than filter. */
    private static final Set<String> NOT_FILTERS = Set.of("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse");

    private final Network network;
    private final Policy policy;

    public NetworkApi(Network network, Policy policy) {
        this.network = requireNonNull(network, "network is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public Set<String> publicRoutes() {
        // Version discovery, as Neutron answers it without a token.
        return Set.of("GET /network", "GET /network/v2.0");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        routes.get("/network", ctx -> {
            ObjectNode body = Json.object();
            ObjectNode version = body.putArray("versions").addObject();
            version.put("id", "v2.0");
            version.put("status", "CURRENT");
            version.putArray("links").addObject().put("href", Requests.baseUrl(ctx) + PREFIX + "/").put("rel", "self");
            ctx.json(body);
        });
        routes.get(PREFIX, ctx -> {
            ObjectNode body = Json.object();
            ArrayNode resources = body.putArray("resources");
            for (String collection : List.of("networks", "subnets", "security-groups", "security-group-rules")) {
                ObjectNode resource = resources.addObject();
                resource.put("name", collection.substring(0, collection.length() - 1).replace('-', '_'));
                resource.put("collection", collection);
                resource.putArray("links").addObject().put("href", Requests.baseUrl(ctx) + PREFIX + "/" + collection).put("rel", "self");
            }
            ctx.json(body);
        });
        routes.get(PREFIX + "/extensions", ctx -> {
            policy.enforce(Requests.auth(ctx), "get_network");
            ctx.json(Json.object().set("extensions", Json.array()));
        });
        routes.get(PREFIX + "/networks", ctx -> list(ctx, "get_network", "networks", networkView()));
        routes.get(PREFIX + "/networks/{id}", ctx -> show(ctx, "get_network", "network", "NetworkNotFound", "Network", network::hasId,
                networkView()));
        routes.get(PREFIX + "/subnets", ctx -> list(ctx, "get_subnet", "subnets", subnetView()));
        routes.get(PREFIX + "/subnets/{id}", ctx -> show(ctx, "get_subnet", "subnet", "SubnetNotFound", "Subnet",
                id -> id.replace("-", "").equalsIgnoreCase(network.subnetId().replace("-", "")), subnetView()));
    }

    private void list(Context ctx, String operation, String collection, ObjectNode item) {
        policy.enforce(Requests.auth(ctx), operation);
        ArrayNode items = Json.array();
        String marker = ctx.queryParam("marker");
        // One item: a page that starts after it is empty.
        if (matches(item, ctx.queryParamMap()) && (marker == null || !marker.equals(item.path("id").asText()))) {
            items.add(project(item, ctx.queryParams("fields")));
        }
        ctx.json(Json.object().set(collection, items));
    }

    private void show(Context ctx, String operation, String member, String notFoundType, String what,
            java.util.function.Predicate<String> isIt, ObjectNode item) {
        policy.enforce(Requests.auth(ctx), operation);
        String id = ctx.pathParam("id");
        if (!isIt.test(id)) {
            ctx.status(404).json(ApiStyle.neutronError(notFoundType, what + " " + id + " could not be found."));
            return;
        }
        ctx.json(Json.object().set(member, project(item, ctx.queryParams("fields"))));
    }

    /**
     * Neutron's filters: any attribute by value (several values of one attribute: any of them),
     * list attributes by membership; tags by Neutron's tag rules; anything else is a 400.
     */
    static boolean matches(ObjectNode item, Map<String, List<String>> query) {
        for (Map.Entry<String, List<String>> filter : query.entrySet()) {
            String attribute = filter.getKey();
            List<String> values = filter.getValue();
            if (NOT_FILTERS.contains(attribute)) {
                continue;
            }
            JsonNode actual = item.get(attribute);
            boolean match = switch (attribute) {
                // This network carries no tags: it has none of any asked for.
                case "tags", "tags-any" -> false;
                case "not-tags", "not-tags-any" -> true;
                default -> {
                    if (actual == null) {
                        throw CloudException.badRequest("%s is invalid attribute for filtering", attribute);
                    }
                    yield values.stream().anyMatch(value -> equal(actual, value));
                }
            };
            if (!match) {
                return false;
            }
        }
        return true;
    }

    private static boolean equal(JsonNode actual, String value) {
        if (actual.isArray()) {
            for (JsonNode element : actual) {
                if (equal(element, value)) {
                    return true;
                }
            }
            return false;
        }
        if (actual.isBoolean()) {
            String lower = value.toLowerCase(Locale.ROOT);
            return switch (lower) {
                case "true", "1", "t", "on", "y", "yes" -> actual.booleanValue();
                case "false", "0", "f", "off", "n", "no" -> !actual.booleanValue();
                default -> throw CloudException.badRequest("'%s' cannot be converted to boolean", value);
            };
        }
        if (actual.isNull()) {
            return value.isEmpty() || value.equals("None");
        }
        return actual.asText().equals(value);
    }

    /** Neutron's {@code fields}: only the attributes asked for (all when none are). */
    static ObjectNode project(ObjectNode item, List<String> fields) {
        if (fields.isEmpty()) {
            return item;
        }
        ObjectNode projected = item.deepCopy();
        projected.retain(fields);
        return projected;
    }

    private ObjectNode networkView() {
        ObjectNode n = Json.object();
        n.put("id", network.id());
        n.put("name", network.name());
        n.put("description", "");
        n.put("status", "ACTIVE");
        n.put("admin_state_up", true);
        n.put("shared", true);
        n.put("router:external", false);
        n.put("is_default", false);
        n.put("port_security_enabled", false);
        n.put("mtu", 1500);
        n.putArray("subnets").add(network.subnetId());
        // Owned by no project: it belongs to the cloud.
        n.put("tenant_id", "");
        n.put("project_id", "");
        n.putArray("availability_zone_hints");
        n.putArray("availability_zones").add("nova");
        n.putNull("ipv4_address_scope");
        n.putNull("ipv6_address_scope");
        n.putArray("tags");
        n.put("revision_number", 0);
        return n;
    }

    private ObjectNode subnetView() {
        ObjectNode s = Json.object();
        s.put("id", network.subnetId());
        s.put("name", network.name() + "-subnet");
        s.put("description", "");
        s.put("network_id", network.id());
        s.put("ip_version", 4);
        s.put("cidr", network.cidr());
        s.put("gateway_ip", network.gateway());
        // Addresses come from Strata's own pool; there is no DHCP server.
        s.put("enable_dhcp", false);
        long[] hosts = hostRange(network.cidr());
        s.putArray("allocation_pools").addObject().put("start", text(hosts[0])).put("end", text(hosts[1]));
        s.putArray("dns_nameservers");
        s.putArray("host_routes");
        s.putArray("service_types");
        s.put("tenant_id", "");
        s.put("project_id", "");
        s.putNull("subnetpool_id");
        s.putNull("ipv6_ra_mode");
        s.putNull("ipv6_address_mode");
        s.putArray("tags");
        s.put("revision_number", 0);
        return s;
    }

    /** The first and last addresses servers get: after the gateway (.1), before broadcast. */
    private static long[] hostRange(String cidr) {
        String[] parts = cidr.split("/");
        long address = 0;
        for (String octet : parts[0].split("\\.")) {
            address = (address << 8) | Long.parseLong(octet);
        }
        int prefix = Integer.parseInt(parts[1]);
        long size = 1L << (32 - prefix);
        return new long[] {address + 2, address + size - 2};
    }

    private static String text(long address) {
        return ((address >> 24) & 255) + "." + ((address >> 16) & 255) + "." + ((address >> 8) & 255) + "." + (address & 255);
    }
}
