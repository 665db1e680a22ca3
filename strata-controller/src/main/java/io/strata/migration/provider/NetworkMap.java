package io.strata.migration.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Coriolis' {@code network_map}: source network (its id or name, as the source provider reports
 * a NIC's {@code network_id} and {@code network_name}) to destination network, given either as a
 * string (the destination network's id or name) or as {@code {"id": …, "security_groups": […]}}.
 * An empty map leaves the networks to the destination (its default); a non-empty one must map
 * every NIC of a deployed instance.
 */
public final class NetworkMap {
    /** The destination network of a mapping (an id or a name) and the security groups it asks for. */
    public record Target(String network, List<String> securityGroups) {
        public Target {
            securityGroups = List.copyOf(securityGroups);
        }
    }

    private final Map<String, Target> targets;

    private NetworkMap(Map<String, Target> targets) {
        this.targets = targets;
    }

    /** The map as a transfer or a destination environment holds it; throws IllegalArgumentException, in the user's terms, when malformed. */
    public static NetworkMap parse(JsonNode map) {
        Map<String, Target> targets = new LinkedHashMap<>();
        if (map == null || map.isNull()) {
            return new NetworkMap(targets);
        }
        if (!map.isObject()) {
            throw new IllegalArgumentException("network_map must be an object of source network to destination network");
        }
        for (var entry : map.properties()) {
            String source = entry.getKey();
            JsonNode value = entry.getValue();
            if (value.isTextual() && !value.textValue().isBlank()) {
                targets.put(source, new Target(value.textValue(), List.of()));
                continue;
            }
            if (!value.isObject() || !value.path("id").isTextual() || value.path("id").textValue().isBlank()) {
                throw new IllegalArgumentException("network_map." + source + " must be a destination network (its id or name) or an object "
                        + "with its \"id\" and optional \"security_groups\"");
            }
            List<String> groups = new ArrayList<>();
            JsonNode named = value.get("security_groups");
            if (named != null && !named.isNull()) {
                if (!named.isArray()) {
                    throw new IllegalArgumentException("network_map." + source + ".security_groups must be a list of security group names");
                }
                for (JsonNode group : named) {
                    if (!group.isTextual() || group.textValue().isBlank()) {
                        throw new IllegalArgumentException("network_map." + source + ".security_groups must be a list of security group names");
                    }
                    groups.add(group.textValue());
                }
            }
            targets.put(source, new Target(value.get("id").textValue(), groups));
        }
        return new NetworkMap(targets);
    }

    public boolean isEmpty() {
        return targets.isEmpty();
    }

    public List<Target> targets() {
        return List.copyOf(targets.values());
    }

    /** The mapping of a NIC ({@code network_id}, else {@code network_name}); a ProviderException when the map has neither. */
    public Target targetFor(JsonNode nic) {
        String id = nic.path("network_id").asText("");
        String name = nic.path("network_name").asText("");
        if (!id.isEmpty() && targets.containsKey(id)) {
            return targets.get(id);
        }
        if (!name.isEmpty() && targets.containsKey(name)) {
            return targets.get(name);
        }
        String described = !name.isEmpty() && !id.isEmpty() ? name + " (" + id + ")" : !name.isEmpty() ? name : !id.isEmpty() ? id : "(unknown)";
        throw new ProviderException("network_map has no destination for the source network " + described + " of NIC "
                + nic.path("id").asText("?") + "; map it (mapped: " + String.join(", ", targets.keySet()) + ")");
    }

    /**
     * The destination network {@code reference} names among {@code networks} ({"id", "name"}):
     * an id first, else a name that exactly one network has; a ProviderException otherwise.
     */
    public static ObjectNode resolve(String reference, List<ObjectNode> networks) {
        for (ObjectNode network : networks) {
            if (network.path("id").asText().equals(reference)) {
                return network;
            }
        }
        List<ObjectNode> named = networks.stream().filter(n -> n.path("name").asText().equals(reference)).toList();
        if (named.size() == 1) {
            return named.getFirst();
        }
        List<String> offered = networks.stream().map(n -> n.path("name").asText() + " (" + n.path("id").asText() + ")").toList();
        throw new ProviderException(named.isEmpty()
                ? "network_map names the destination network '" + reference + "', which the destination does not have (it has: "
                        + (offered.isEmpty() ? "none" : String.join(", ", offered)) + ")"
                : "network_map names the destination network '" + reference + "', but " + named.size() + " networks have that name; "
                        + "give its id");
    }
}
