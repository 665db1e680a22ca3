package io.strata.cli.command;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of {@code replica create} and {@code migration create}, as coriolisclient has them. */
final class TransferOptions {
    @Option(names = "--origin-endpoint", required = true, paramLabel = "<endpoint>", description = "Endpoint to export from (name or ID).")
    String origin;

    @Option(names = "--destination-endpoint", required = true, paramLabel = "<endpoint>", description = "Endpoint to import into (name or ID).")
    String destination;

    @Option(names = "--instance", required = true, paramLabel = "<instance>", description = "Instance to transfer (repeat for several).")
    List<String> instances;

    @Option(names = "--source-environment", paramLabel = "<json>", description = "Source environment (JSON or @file).")
    String sourceEnvironment;

    @Option(names = "--source-environment-file", paramLabel = "<file>", description = "Source environment JSON file.")
    Path sourceEnvironmentFile;

    @Option(names = "--destination-environment", paramLabel = "<json>", description = "Destination environment (JSON or @file).")
    String destinationEnvironment;

    @Option(names = "--destination-environment-file", paramLabel = "<file>", description = "Destination environment JSON file.")
    Path destinationEnvironmentFile;

    @Option(names = "--network-map", paramLabel = "<json>", description = "Source network to destination network (JSON or @file).")
    String networkMap;

    @Option(names = "--network-map-file", paramLabel = "<file>", description = "Network map JSON file.")
    Path networkMapFile;

    @Mixin
    MorphingOptions morphing;

    @Option(names = "--storage-backend-mapping", paramLabel = "<src=dst>", description = "Storage backend mapping (repeat).")
    List<String> backendMappings;

    @Option(names = "--disk-storage-mapping", paramLabel = "<disk=dst>", description = "Storage backend of one source disk (repeat).")
    List<String> diskMappings;

    @Option(names = "--default-storage-backend", paramLabel = "<backend>", description = "Storage backend of unmapped disks.")
    String defaultBackend;

    @Option(names = "--notes", paramLabel = "<text>", description = "Notes.")
    String notes;

    @Option(names = "--origin-minion-pool-id", paramLabel = "<pool>", description = "Source minion pool.")
    String originPool;

    @Option(names = "--destination-minion-pool-id", paramLabel = "<pool>", description = "Destination minion pool.")
    String destinationPool;

    ObjectNode body(Transfers transfers) {
        ObjectNode body = Json.object();
        body.put("origin_endpoint_id", transfers.endpoint(origin).path("id").asText());
        body.put("destination_endpoint_id", transfers.endpoint(destination).path("id").asText());
        ArrayNode list = body.putArray("instances");
        instances.forEach(list::add);
        body.set("source_environment", orEmpty(Transfers.jsonOption("--source-environment", sourceEnvironment, sourceEnvironmentFile)));
        body.set("destination_environment", orEmpty(Transfers.jsonOption("--destination-environment", destinationEnvironment,
                destinationEnvironmentFile)));
        body.set("network_map", orEmpty(Transfers.jsonOption("--network-map", networkMap, networkMapFile)));
        ObjectNode storage = Json.object();
        if (defaultBackend != null) {
            storage.put("default", defaultBackend);
        }
        if (backendMappings != null) {
            ArrayNode mappings = storage.putArray("backend_mappings");
            for (String mapping : backendMappings) {
                String[] pair = pair("--storage-backend-mapping", "SOURCE=DESTINATION", mapping);
                mappings.addObject().put("source", pair[0]).put("destination", pair[1]);
            }
        }
        if (diskMappings != null) {
            ArrayNode mappings = storage.putArray("disk_mappings");
            for (String mapping : diskMappings) {
                String[] pair = pair("--disk-storage-mapping", "DISK_ID=DESTINATION", mapping);
                mappings.addObject().put("disk_id", pair[0]).put("destination", pair[1]);
            }
        }
        body.set("storage_mappings", storage);
        Requests.putIfGiven(body, "notes", notes);
        Requests.putIfGiven(body, "origin_minion_pool_id", originPool);
        Requests.putIfGiven(body, "destination_minion_pool_id", destinationPool);
        morphing.addTo(body, false);
        return body;
    }

    /** "A=B" as the Coriolis client splits it (quotes around either side dropped). */
    private static String[] pair(String option, String form, String mapping) {
        return pair(option, form, mapping, false);
    }

    /** As above; {@code emptyValue} allows "A=" (an empty B), which on update removes A's value. */
    static String[] pair(String option, String form, String mapping, boolean emptyValue) {
        int at = mapping.indexOf('=');
        if (at <= 0 || (at == mapping.length() - 1 && !emptyValue) || mapping.indexOf('=', at + 1) >= 0) {
            throw new CliException(option + " must be " + form + ", not '" + mapping + "'");
        }
        return new String[] {unquote(mapping.substring(0, at)), unquote(mapping.substring(at + 1))};
    }

    private static String unquote(String text) {
        return text.replaceAll("^['\"]+|['\"]+$", "");
    }

    private static ObjectNode orEmpty(ObjectNode node) {
        return node == null ? Json.object() : node;
    }
}
