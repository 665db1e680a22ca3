package io.strata.migration.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import java.io.IOException;
import java.util.List;

/**
 * A platform plugin: exports instances from it (source) and imports them into it (destination).
 * Every call gets the endpoint's decrypted connection info; failures the user can fix throw
 * {@link ProviderException} with a message in their terms. Destination calls are idempotent so
 * that an execution resumed after a controller restart can repeat the task that was running.
 */
public interface MigrationProvider {
    String platform();

    /** Coriolis provider type bits this plugin implements (see {@link ProviderTypes}). */
    List<Integer> types();

    ObjectNode connectionInfoSchema();

    ObjectNode sourceEnvironmentSchema();

    ObjectNode destinationEnvironmentSchema();

    void validateConnection(JsonNode connection);

    /** Instances as Coriolis lists them: id, name, instance_name, num_cpu, memory_mb, os_type, flavor_name. */
    List<ObjectNode> instances(JsonNode connection, JsonNode environment);

    List<ObjectNode> networks(JsonNode connection, JsonNode environment);

    /** {"storage_backends": [{"id", "name"}], "config_default": …}. */
    ObjectNode storage(JsonNode connection, JsonNode environment);

    /**
     * Coriolis' destination options: the destination environment's fields that take one of a
     * known set of values, as {"name", "values", "config_default"}.
     */
    List<ObjectNode> destinationOptions(JsonNode connection, JsonNode environment);

    /**
     * Coriolis' minion pool options: the fields of a minion pool's environment_options that take
     * one of a known set of values, as {"name", "values", "config_default"}; none where the
     * endpoint boots no minions.
     */
    default List<ObjectNode> minionPoolOptions(JsonNode connection, JsonNode environment) {
        return List.of();
    }

    /** Everything needed to export an instance: its hardware, user data, and disks ({"id", "size_bytes", "format"}). */
    ObjectNode exportInfo(JsonNode connection, JsonNode environment, String instance) throws IOException;

    /** Stops the instance so its disks stop changing; a no-op when already stopped. */
    void shutdown(JsonNode connection, ObjectNode exportInfo) throws IOException;

    /**
     * A point-in-time view of one disk of the instance; closing it releases any snapshot taken.
     * {@code tracking} names the replica, for sources that track changed blocks between its
     * executions; null for a migration, which has no later execution: nothing is left to track.
     */
    BlockSource openDisk(JsonNode connection, ObjectNode exportInfo, ObjectNode disk, String tracking) throws IOException;

    /** Creates (or finds, when repeated) the destination volume that replicates one source disk. */
    ObjectNode deployDisk(JsonNode connection, JsonNode environment, String transferId, String instance, ObjectNode disk) throws IOException;

    BlockTarget openVolume(JsonNode connection, ObjectNode volume) throws IOException;

    void deleteVolume(JsonNode connection, ObjectNode volume) throws IOException;

    /**
     * The volume as a raw file of this worker, for OS morphing to attach to its appliance; null
     * when the volume is elsewhere (a remote host: see {@link #exportVolume}).
     */
    default java.nio.file.Path localVolume(JsonNode connection, ObjectNode volume) {
        return null;
    }

    /**
     * A volume that is not on this worker, exported read-write for OS morphing's appliance to
     * attach over NBD until the export is closed; null when the provider cannot export it.
     */
    default io.strata.migration.host.NbdExport exportVolume(JsonNode connection, ObjectNode volume) throws java.io.IOException {
        return null;
    }

    /**
     * Creates an instance on the destination from replicated volumes; {@code clone} keeps the
     * volumes (a replica stays usable), otherwise they may be consumed. {@code deploymentId}
     * tags what is created, so that cleanup finds it even when the deployment did not finish.
     */
    ObjectNode deployInstance(JsonNode connection, JsonNode environment, ObjectNode exportInfo, List<ObjectNode> volumes, String name,
            String deploymentId, boolean clone) throws IOException;

    /**
     * Removes a deployed instance (cleanup of a failed or cancelled deployment); a no-op when gone.
     * {@code deployment} is what deployInstance returned, or only {"instance_name", "deployment_id"}
     * when it did not return.
     */
    void deleteInstance(JsonNode connection, ObjectNode deployment) throws IOException;

    /**
     * Whether minion pools on this platform boot real helper servers. Platforms whose disks the
     * worker reads and writes itself (qemu-host) keep a pool's machines as records only.
     */
    default boolean bootsMinions() {
        return false;
    }

    /**
     * Boots one minion of a pool from the pool's environment options and waits until it runs;
     * returns its provider properties (at least "server_id"). Tagged with the pool's id.
     */
    default ObjectNode createMinion(JsonNode connection, JsonNode environmentOptions, String poolId, String name) throws IOException {
        throw new ProviderException(platform() + " endpoints have no minion servers");
    }

    /** Deletes a minion and waits until it is gone; a no-op when it already is. */
    default void deleteMinion(JsonNode connection, ObjectNode properties) throws IOException {}

    /**
     * The minions of a pool on the endpoint, found by their tag (their provider properties, as
     * createMinion returns them): a resumed allocation takes in those its pool does not list.
     */
    default List<ObjectNode> minions(JsonNode connection, String poolId) throws IOException {
        return List.of();
    }

    /** The minion's power status as Coriolis names it (POWERED_ON, POWERED_OFF, ERROR), or null when it is gone. */
    default String minionStatus(JsonNode connection, ObjectNode properties) throws IOException {
        return "POWERED_ON";
    }
}
