package io.strata.migration;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.core.CloudException;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Coriolis' storage mappings of a transfer: {@code {"default": BACKEND, "backend_mappings":
 * [{"source": BACKEND, "destination": BACKEND}], "disk_mappings": [{"disk_id": ID, "destination":
 * BACKEND}]}}, every part optional. A disk goes to its disk mapping, else to the mapping of its
 * source backend, else to the default; with none of them the destination provider decides.
 */
final class StorageMappings {
    private static final Set<String> KEYS = Set.of("default", "backend_mappings", "disk_mappings");

    private StorageMappings() {}

    /** Checks the shape (a 400 in the API's error shape) and returns the destination backends it names. */
    static Set<String> validate(JsonNode mappings) {
        Set<String> named = new LinkedHashSet<>();
        if (mappings == null || mappings.isNull()) {
            return named;
        }
        mappings.fieldNames().forEachRemaining(key -> {
            if (!KEYS.contains(key)) {
                throw CloudException.badRequest("storage_mappings has an unknown key '%s'; expected default, backend_mappings or disk_mappings", key);
            }
        });
        JsonNode fallback = mappings.get("default");
        if (fallback != null && !fallback.isNull()) {
            named.add(text(fallback, "storage_mappings.default"));
        }
        named.addAll(list(mappings, "backend_mappings", "source"));
        named.addAll(list(mappings, "disk_mappings", "disk_id"));
        return named;
    }

    private static Set<String> list(JsonNode mappings, String key, String from) {
        Set<String> named = new LinkedHashSet<>();
        JsonNode list = mappings.get(key);
        if (list == null || list.isNull()) {
            return named;
        }
        if (!list.isArray()) {
            throw CloudException.badRequest("storage_mappings.%s must be a list", key);
        }
        Set<String> sources = new LinkedHashSet<>();
        for (JsonNode mapping : list) {
            if (!mapping.isObject()) {
                throw CloudException.badRequest("storage_mappings.%s holds objects with '%s' and 'destination'", key, from);
            }
            if (!sources.add(text(mapping.get(from), "storage_mappings." + key + "[]." + from))) {
                throw CloudException.badRequest("storage_mappings.%s maps '%s' twice", key, mapping.get(from).asText());
            }
            named.add(text(mapping.get("destination"), "storage_mappings." + key + "[].destination"));
        }
        return named;
    }

    private static String text(JsonNode value, String field) {
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            throw CloudException.badRequest("%s must be a non-empty string", field);
        }
        return value.asText();
    }

    /** The destination backend of one disk, or null when the mappings say nothing of it. */
    static String backendFor(JsonNode mappings, String diskId, String sourceBackend) {
        if (mappings == null || mappings.isNull()) {
            return null;
        }
        for (JsonNode mapping : mappings.path("disk_mappings")) {
            if (mapping.path("disk_id").asText().equals(diskId)) {
                return mapping.path("destination").asText();
            }
        }
        for (JsonNode mapping : mappings.path("backend_mappings")) {
            if (sourceBackend != null && mapping.path("source").asText().equals(sourceBackend)) {
                return mapping.path("destination").asText();
            }
        }
        JsonNode fallback = mappings.get("default");
        return fallback == null || fallback.isNull() ? null : fallback.asText();
    }
}
