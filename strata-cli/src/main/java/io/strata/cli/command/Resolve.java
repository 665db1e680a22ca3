package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import java.util.ArrayList;
import java.util.List;

/**
 * Name-or-id lookups, the way the openstack client resolves them: the thing with that id if it
 * exists, else the one thing with that name; none or several is an error naming the argument.
 */
final class Resolve {
    private Resolve() {}

    static JsonNode server(CloudClient c, String nameOrId) {
        JsonNode byId = byId(c, "compute", "/servers/" + CloudClient.encode(nameOrId), "server");
        if (byId != null) {
            return byId;
        }
        List<JsonNode> matches = new ArrayList<>();
        for (JsonNode s : c.get("compute", "/servers/detail?name=" + CloudClient.encode("^" + java.util.regex.Pattern.quote(nameOrId) + "$"))
                .path("servers")) {
            if (s.path("name").asText().equals(nameOrId)) {
                matches.add(s);
            }
        }
        return one(matches, "server", nameOrId);
    }

    static JsonNode image(CloudClient c, String nameOrId) {
        var response = c.raw("GET", "image", "/images/" + CloudClient.encode(nameOrId));
        if (response.statusCode() == 200) {
            return c.get("image", "/images/" + CloudClient.encode(nameOrId));
        }
        List<JsonNode> matches = new ArrayList<>();
        c.get("image", "/images?name=" + CloudClient.encode(nameOrId)).path("images").forEach(matches::add);
        return one(matches, "image", nameOrId);
    }

    static JsonNode flavor(CloudClient c, String nameOrId) {
        JsonNode byId = byId(c, "compute", "/flavors/" + CloudClient.encode(nameOrId), "flavor");
        if (byId != null) {
            return byId;
        }
        List<JsonNode> matches = new ArrayList<>();
        for (JsonNode f : c.get("compute", "/flavors/detail?is_public=none").path("flavors")) {
            if (f.path("name").asText().equals(nameOrId)) {
                matches.add(f);
            }
        }
        return one(matches, "flavor", nameOrId);
    }

    static JsonNode identity(CloudClient c, String collection, String singular, String nameOrId) {
        JsonNode byId = byId(c, "identity", "/" + collection + "/" + CloudClient.encode(nameOrId), singular);
        if (byId != null) {
            return byId;
        }
        List<JsonNode> matches = new ArrayList<>();
        c.get("identity", "/" + collection + "?name=" + CloudClient.encode(nameOrId)).path(collection).forEach(matches::add);
        return one(matches, singular, nameOrId);
    }

    private static JsonNode byId(CloudClient c, String type, String path, String key) {
        try {
            return c.get(type, path).path(key);
        } catch (CloudException e) {
            if (e.isNotFound() || e.status() == 403) {
                return null;
            }
            throw e;
        }
    }

    private static JsonNode one(List<JsonNode> matches, String kind, String nameOrId) {
        if (matches.isEmpty()) {
            throw new CloudException(404, "No " + kind + " with a name or ID of '" + nameOrId + "' exists.");
        }
        if (matches.size() > 1) {
            throw new CloudException(409, "More than one " + kind + " exists with the name '" + nameOrId + "'.");
        }
        return matches.get(0);
    }
}
