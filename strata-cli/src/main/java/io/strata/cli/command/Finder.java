package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Response;
import io.strata.cli.client.ServiceClient;
import io.strata.cli.client.Session;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds a resource by name or id as the openstack client does (osc_lib's find_resource): the
 * resource with that id if there is one, else the one resource with that exact name. None is
 * "No server with a name or ID of 'x' exists.", several is "More than one server exists with
 * the name 'x'."
 */
public final class Finder {
    private final Session session;

    Finder(Session session) {
        this.session = requireNonNull(session, "session is null");
    }

    public JsonNode server(String nameOrId, boolean allProjects) {
        ServiceClient compute = session.compute();
        JsonNode byId = byId(compute, "/servers/" + encode(nameOrId), "server");
        if (byId != null) {
            return byId;
        }
        // The name filter is a regular expression on the server side; anchor and escape it, then
        // keep exact matches only.
        String query = "/servers/detail?name=" + encode("^" + regexEscape(nameOrId) + "$") + (allProjects ? "&all_tenants=1" : "");
        return one("server", nameOrId, named(compute.get(query).path("servers"), nameOrId));
    }

    public JsonNode flavor(String nameOrId) {
        ServiceClient compute = session.compute();
        JsonNode byId = byId(compute, "/flavors/" + encode(nameOrId), "flavor");
        if (byId != null) {
            return byId;
        }
        return one("flavor", nameOrId, named(compute.get("/flavors/detail?is_public=None").path("flavors"), nameOrId));
    }

    public JsonNode image(String nameOrId) {
        ServiceClient image = session.image();
        Response response = image.tryGet("/images/" + encode(nameOrId));
        if (response.status() == 200) {
            return response.json();
        }
        notFoundOrThrow(response);
        return one("image", nameOrId, named(image.get("/images?name=" + encode(nameOrId)).path("images"), nameOrId));
    }

    public JsonNode network(String nameOrId) {
        return networking("networks", "network", nameOrId);
    }

    public JsonNode subnet(String nameOrId) {
        return networking("subnets", "subnet", nameOrId);
    }

    /** A Networking resource: by id, else by Neutron's exact-match name filter. */
    private JsonNode networking(String collection, String kind, String nameOrId) {
        ServiceClient network = session.network();
        JsonNode byId = byId(network, "/" + collection + "/" + encode(nameOrId), kind);
        if (byId != null) {
            return byId;
        }
        return one(kind, nameOrId, named(network.get("/" + collection + "?name=" + encode(nameOrId)).path(collection), nameOrId));
    }

    public JsonNode keypair(String name, String userId) {
        Response response = session.compute().tryGet("/os-keypairs/" + encode(name) + (userId == null ? "" : "?user_id=" + encode(userId)));
        if (response.status() == 404) {
            throw notFound("keypair", name);
        }
        return response.orThrow().json().path("keypair");
    }

    public JsonNode hypervisor(String nameOrId) {
        List<JsonNode> matches = new ArrayList<>();
        for (JsonNode hypervisor : session.compute().get("/os-hypervisors/detail").path("hypervisors")) {
            if (hypervisor.path("id").asText().equals(nameOrId)) {
                return hypervisor;
            }
            if (hypervisor.path("hypervisor_hostname").asText().equals(nameOrId)) {
                matches.add(hypervisor);
            }
        }
        return one("hypervisor", nameOrId, matches);
    }

    public JsonNode domain(String nameOrId) {
        return identity("domains", "domain", nameOrId, null);
    }

    public JsonNode project(String nameOrId, String domain) {
        return identity("projects", "project", nameOrId, domain);
    }

    public JsonNode user(String nameOrId, String domain) {
        return identity("users", "user", nameOrId, domain);
    }

    public JsonNode role(String nameOrId, String domain) {
        return identity("roles", "role", nameOrId, domain);
    }

    public JsonNode group(String nameOrId, String domain) {
        return identity("groups", "group", nameOrId, domain);
    }

    /** The id of a domain given by name or id (null stays null). */
    public String domainId(String nameOrId) {
        return nameOrId == null ? null : domain(nameOrId).path("id").asText();
    }

    private JsonNode identity(String collection, String kind, String nameOrId, String domain) {
        ServiceClient identity = session.identity();
        String domainId = domainId(domain);
        JsonNode byId = byId(identity, "/" + collection + "/" + encode(nameOrId), kind);
        if (byId != null && (domainId == null || domainId.equals(byId.path("domain_id").asText()))) {
            return byId;
        }
        String query = "/" + collection + "?name=" + encode(nameOrId) + (domainId == null ? "" : "&domain_id=" + encode(domainId));
        return one(kind, nameOrId, named(identity.get(query).path(collection), nameOrId));
    }

    /** The resource under {@code key} of a GET by id, or null when there is no such id. */
    private static JsonNode byId(ServiceClient client, String path, String key) {
        Response response = client.tryGet(path);
        if (response.status() == 200) {
            return response.json().path(key);
        }
        notFoundOrThrow(response);
        return null;
    }

    /**
     * A GET by id failed: try names unless the failure means something else. Not found, a
     * malformed id (400) and not allowed to read by id (403) all send us on to the names.
     */
    private static void notFoundOrThrow(Response response) {
        int status = response.status();
        if (status != 404 && status != 400 && status != 403) {
            response.orThrow();
        }
    }

    private static List<JsonNode> named(JsonNode items, String name) {
        List<JsonNode> matches = new ArrayList<>();
        items.forEach(item -> {
            if (item.path("name").asText().equals(name)) {
                matches.add(item);
            }
        });
        return matches;
    }

    private static JsonNode one(String kind, String nameOrId, List<JsonNode> matches) {
        if (matches.isEmpty()) {
            throw notFound(kind, nameOrId);
        }
        if (matches.size() > 1) {
            throw new CliException("More than one " + kind + " exists with the name '" + nameOrId + "'.");
        }
        return matches.get(0);
    }

    static CliException notFound(String kind, String nameOrId) {
        return new CliException("No " + kind + " with a name or ID of '" + nameOrId + "' exists.");
    }

    static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Python's re.escape: a backslash before every character that is not a letter, digit or _. */
    static String regexEscape(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().forEach(cp -> {
            if (!Character.isLetterOrDigit(cp) && cp != '_') {
                b.append('\\');
            }
            b.appendCodePoint(cp);
        });
        return b.toString();
    }
}
