package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** How the openstack client shows Identity resources: every attribute but the links, sorted. */
final class IdentityFields {
    private IdentityFields() {}

    static Map<String, Object> of(JsonNode resource) {
        Map<String, Object> fields = new TreeMap<>();
        resource.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
        fields.remove("links");
        return fields;
    }

    /** One row per resource with the given attributes (null ones shown as "", as the openstack client does for lists). */
    static List<List<Object>> rows(JsonNode resources, List<String> attributes) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode resource : resources) {
            List<Object> row = new ArrayList<>();
            attributes.forEach(attribute -> row.add(resource.hasNonNull(attribute) ? resource.get(attribute) : ""));
            rows.add(row);
        }
        return rows;
    }
}
