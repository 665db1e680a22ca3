package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.migration.MigrationStore.Kind;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import io.strata.migration.disk.DiskReplicator;
import io.strata.hypervisor.qemu.QemuAppliance;
import io.strata.migration.host.NbdExport;
import io.strata.migration.morphing.OsMorpher;
import io.strata.migration.provider.ProviderException;
import io.strata.migration.provider.MigrationProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What each task type does. Tasks read and write the transfer's per-instance info: export info,
 * the destination volumes ({@code volumes_info}), the deployed instance. Every task can run again
 * after an interruption: volumes are found before they are created, replication resumes from
 * what the destination holds, deployment starts over from its marker.
 */
final class TransferTasks implements TaskEngine.TaskRunner {
    private final MigrationStore store;
    private final EndpointService endpoints;
    private final DiskReplicator replicator;
    private final OsMorpher morpher;
    private final Path stateDir;
    private final Clock clock;

    TransferTasks(MigrationStore store, EndpointService endpoints, DiskReplicator replicator, OsMorpher morpher, Path stateDir, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.endpoints = requireNonNull(endpoints, "endpoints is null");
        this.replicator = requireNonNull(replicator, "replicator is null");
        this.morpher = requireNonNull(morpher, "morpher is null");
        this.stateDir = requireNonNull(stateDir, "stateDir is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** A side of a transfer: its endpoint's provider and connection. */
    private record Side(MigrationProvider provider, JsonNode connection) {}

    @Override
    public void run(Execution execution, Task task, TaskEngine.TaskContext context) throws Exception {
        Transfer transfer = transfer(execution.transferId());
        String instance = task.instance();
        switch (task.taskType()) {
            case TaskPlans.GET_INSTANCE_INFO -> {
                Side source = side(transfer.originEndpointId());
                ObjectNode exportInfo = source.provider().exportInfo(source.connection(), transfer.sourceEnvironment(), instance);
                saveInfo(transfer.id(), instance, info -> info.set("export_info", exportInfo));
                context.progress("Found instance " + instance + " with " + exportInfo.at("/devices/disks").size() + " disk(s)", null, null, false);
            }
            case TaskPlans.SHUTDOWN_INSTANCE -> {
                Side source = side(transfer.originEndpointId());
                source.provider().shutdown(source.connection(), exportInfo(transfer, instance));
                context.progress("Instance " + instance + " is shut down", null, null, false);
            }
            case TaskPlans.DEPLOY_REPLICA_DISKS, TaskPlans.DEPLOY_MIGRATION_TARGET_RESOURCES -> deployDisks(transfer, instance, context);
            case TaskPlans.REPLICATE_DISKS -> replicate(transfer, instance, context);
            case TaskPlans.DELETE_REPLICA_DISKS, TaskPlans.DELETE_MIGRATION_TARGET_RESOURCES -> deleteDisks(transfer, instance, context);
            case TaskPlans.OS_MORPHING -> morph(transfer, instance, context);
            case TaskPlans.DEPLOY_REPLICA_INSTANCE_RESOURCES -> deployInstance(transfer, transfer(transfer.replicaId()), instance, context);
            case TaskPlans.DEPLOY_INSTANCE_RESOURCES -> deployInstance(transfer, transfer, instance, context);
            case TaskPlans.FINALIZE_REPLICA_INSTANCE_DEPLOYMENT, TaskPlans.FINALIZE_INSTANCE_DEPLOYMENT -> {
                JsonNode deployment = transfer(transfer.id()).instanceInfo(instance).path("instance_deployment_info");
                saveInfo(transfer.id(), instance, info -> info.set("transfer_result", deployment.deepCopy()));
                context.progress("Instance " + deployment.path("instance_name").asText(instance) + " deployed", null, null, false);
            }
            case TaskPlans.CLEANUP_FAILED_REPLICA_INSTANCE_DEPLOYMENT, TaskPlans.CLEANUP_FAILED_INSTANCE_DEPLOYMENT -> {
                ObjectNode info = transfer(transfer.id()).instanceInfo(instance);
                JsonNode started = info.has("instance_deployment_info") ? info.get("instance_deployment_info") : info.get("deployment_started");
                if (started != null && started.isObject()) {
                    Side destination = side(transfer.destinationEndpointId());
                    destination.provider().deleteInstance(destination.connection(), (ObjectNode) started);
                    saveInfo(transfer.id(), instance, i -> {
                        i.remove("instance_deployment_info");
                        i.remove("deployment_started");
                    });
                    context.progress("Removed the partly deployed instance", null, null, false);
                }
            }
            default -> throw new IllegalStateException("unknown task type " + task.taskType());
        }
    }

    private void deployDisks(Transfer transfer, String instance, TaskEngine.TaskContext context) throws IOException {
        Side destination = side(transfer.destinationEndpointId());
        ObjectNode exportInfo = exportInfo(transfer, instance);
        JsonNode existing = transfer.instanceInfo(instance).path("volumes_info");
        ArrayNode volumes = JsonNodeFactory.instance.arrayNode();
        for (JsonNode disk : exportInfo.at("/devices/disks")) {
            ObjectNode volume = find(existing, disk.get("id").asText());
            if (volume == null) {
                volume = destination.provider().deployDisk(destination.connection(), transfer.destinationEnvironment(), transfer.id(), instance,
                        (ObjectNode) disk);
            }
            volume.put("size_bytes", disk.path("size_bytes").asLong());
            volumes.add(volume);
        }
        saveInfo(transfer.id(), instance, info -> info.set("volumes_info", volumes));
        context.progress("Destination has " + volumes.size() + " volume(s) for " + instance, null, null, false);
    }

    private void replicate(Transfer transfer, String instance, TaskEngine.TaskContext context) throws IOException {
        Side source = side(transfer.originEndpointId());
        Side destination = side(transfer.destinationEndpointId());
        ObjectNode exportInfo = exportInfo(transfer, instance);
        JsonNode volumes = transfer.instanceInfo(instance).path("volumes_info");
        ArrayNode stats = JsonNodeFactory.instance.arrayNode();
        JsonNode disks = exportInfo.at("/devices/disks");
        int number = 0;
        for (JsonNode disk : disks) {
            number++;
            String diskId = disk.get("id").asText();
            ObjectNode volume = find(volumes, diskId);
            if (volume == null) {
                throw new IllegalStateException("disk " + diskId + " of " + instance + " has no destination volume");
            }
            String label = "disk " + number + "/" + disks.size() + " (" + diskId + ")";
            DiskReplicator.Stats result;
            // Only a replica has later executions to track changes for; a migration leaves nothing behind.
            try (BlockSource from = source.provider().openDisk(source.connection(), exportInfo, (ObjectNode) disk,
                    transfer.isReplica() ? transfer.id() : null);
                    BlockTarget to = destination.provider().openVolume(destination.connection(), volume)) {
                result = replicator.replicate(from, to, stateFile(transfer.id(), instance, diskId), context::cancelled,
                        (done, total) -> {
                            int percent = total == 0 ? 100 : (int) (done * 100 / total);
                            context.progress("Replicating " + label + ": " + percent + "%", percent, 100, true);
                        });
            }
            ObjectNode stat = stats.addObject();
            stat.put("disk_id", diskId);
            stat.put("incremental", result.incremental());
            stat.put("disk_bytes", result.diskBytes());
            stat.put("blocks", result.blocks());
            stat.put("blocks_sent", result.blocksSent());
            stat.put("zero_blocks_sent", result.zeroBlocksSent());
            stat.put("bytes_read", result.bytesRead());
            stat.put("payload_bytes", result.payloadBytes());
            stat.put("wire_bytes", result.wireBytes());
            stat.put("millis", result.millis());
            context.progress("Replicated " + label + ": " + result.blocksSent() + " of " + result.blocks() + " blocks changed, "
                    + result.wireBytes() + " bytes sent for " + result.payloadBytes() + " bytes of data in " + result.millis() + " ms",
                    null, null, false);
        }
        saveInfo(transfer.id(), instance, info -> info.set("replication_stats", stats));
    }

    private void deleteDisks(Transfer transfer, String instance, TaskEngine.TaskContext context) throws IOException {
        Side destination = side(transfer.destinationEndpointId());
        JsonNode volumes = transfer.instanceInfo(instance).path("volumes_info");
        int deleted = 0;
        for (JsonNode volume : volumes) {
            destination.provider().deleteVolume(destination.connection(), (ObjectNode) volume);
            Files.deleteIfExists(stateFile(transfer.id(), instance, volume.get("disk_id").asText()));
            deleted++;
        }
        deleteTree(stateDir.resolve(transfer.id()).resolve(safe(instance)));
        try (var left = Files.list(stateDir.resolve(transfer.id()))) {
            if (left.findAny().isEmpty()) {
                Files.delete(stateDir.resolve(transfer.id()));
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // Nothing was ever replicated.
        }
        saveInfo(transfer.id(), instance, info -> info.remove("volumes_info"));
        context.progress("Deleted " + deleted + " volume(s) of " + instance, null, null, false);
    }

    /**
     * Adapts the guest on the destination volumes (before they become an instance) to the
     * destination. A replica deployment morphs the replica's volumes in place; their fingerprints
     * are dropped, so the next replica execution compares them with the source again and undoes
     * the changes block by block (the deployed instance has its own copy by then).
     */
    private void morph(Transfer deployment, String instance, TaskEngine.TaskContext context) throws IOException {
        if (deployment.skipOsMorphing()) {
            saveInfo(deployment.id(), instance, info -> info.putObject("os_morphing_info").put("skipped", "skip_os_morphing is true"));
            context.progress("OS morphing skipped: skip_os_morphing is true", null, null, false);
            return;
        }
        Transfer holder = deployment.replicaId() == null ? deployment : transfer(deployment.replicaId());
        JsonNode volumes = holder.instanceInfo(instance).path("volumes_info");
        if (volumes.isEmpty()) {
            throw new IllegalStateException("instance " + instance + " has no volumes to morph");
        }
        Side destination = side(deployment.destinationEndpointId());
        if (holder.isReplica()) {
            for (JsonNode volume : volumes) {
                Files.deleteIfExists(stateFile(holder.id(), instance, volume.get("disk_id").asText()));
            }
        }
        // Volumes on this worker are attached as files; those on another host through an NBD
        // export there, tunnelled over the endpoint's connection, closed (flushed) once morphed.
        List<QemuAppliance.Disk> disks = new ArrayList<>();
        List<NbdExport> exports = new ArrayList<>();
        OsMorpher.Outcome outcome;
        boolean morphed = false;
        try {
            for (JsonNode volume : volumes) {
                Path disk = destination.provider().localVolume(destination.connection(), (ObjectNode) volume);
                if (disk != null) {
                    disks.add(QemuAppliance.Disk.file(disk));
                    continue;
                }
                NbdExport export = destination.provider().exportVolume(destination.connection(), (ObjectNode) volume);
                if (export == null) {
                    throw new ProviderException("OS morphing cannot reach " + volume.path("path").asText() + " on the "
                            + destination.provider().platform() + " destination; set skip_os_morphing to deploy the disks as they are");
                }
                exports.add(export);
                disks.add(QemuAppliance.Disk.nbd(export.socket()));
                context.progress("Exported " + volume.path("path").asText() + " from its host for OS morphing", null, null, false);
            }
            // Morphing is for Linux guests only, so the global Linux script or the instance's own applies.
            outcome = morpher.morph(disks, UserScripts.linuxScript(deployment.userScripts(), instance),
                    message -> context.progress(message, null, null, false), context::cancelled);
            morphed = true;
        } finally {
            IOException failure = null;
            for (NbdExport export : exports) {
                try {
                    export.close();
                } catch (IOException e) {
                    failure = e;
                }
            }
            if (failure != null && morphed) {
                throw failure;  // the morphed image may not be flushed: this task must not pass
            }
        }
        saveInfo(deployment.id(), instance, info -> {
            ObjectNode result = info.putObject("os_morphing_info");
            result.put("root_device", outcome.rootDevice());
            result.put("filesystem", outcome.filesystem());
            result.put("os_id", outcome.os().id());
            result.put("os_name", outcome.os().describe());
            outcome.changes().forEach(result.putArray("changes")::add);
            if (outcome.userScriptOutput() != null) {
                result.put("user_script", deployment.userScripts().path("instances").path(instance).isTextual() ? "instance" : "global linux");
                result.put("user_script_output", outcome.userScriptOutput());
            }
        });
        context.progress("OS morphing done: " + outcome.changes().size() + " change(s) to " + outcome.os().describe(), null, null, false);
    }

    /** Deploys {@code instance} for {@code deployment} from the volumes {@code replica} holds. */
    private void deployInstance(Transfer deployment, Transfer replica, String instance, TaskEngine.TaskContext context) throws IOException {
        Side destination = side(deployment.destinationEndpointId());
        ObjectNode replicaInfo = replica.instanceInfo(instance);
        ObjectNode exportInfo = (ObjectNode) replicaInfo.get("export_info");
        JsonNode volumes = replicaInfo.get("volumes_info");
        if (exportInfo == null || volumes == null || volumes.isEmpty()) {
            throw new IllegalStateException("instance " + instance + " has no replicated disks to deploy; execute the replica first");
        }
        // Each volume carries the storage backend its mappings choose (none: the provider decides).
        List<ObjectNode> volumeList = new ArrayList<>();
        for (JsonNode volume : volumes) {
            ObjectNode copy = ((ObjectNode) volume).deepCopy();
            String diskId = volume.path("disk_id").asText();
            String backend = StorageMappings.backendFor(deployment.storageMappings(), diskId, sourceBackend(exportInfo, diskId));
            if (backend != null) {
                copy.put("storage_backend", backend);
            }
            volumeList.add(copy);
        }
        String name = deployment.destinationEnvironment().path("instance_name").asText(exportInfo.path("name").asText(instance));
        ObjectNode marker = JsonNodeFactory.instance.objectNode().put("instance_name", name).put("deployment_id", deployment.id());
        saveInfo(deployment.id(), instance, info -> info.set("deployment_started", marker));
        boolean clone = deployment.replicaId() == null ? false : deployment.cloneDisks();
        // As Coriolis hands it to providers: the transfer's network map inside the destination environment.
        ObjectNode environment = deployment.destinationEnvironment();
        if (!deployment.networkMap().isEmpty()) {
            environment = environment.deepCopy();
            environment.set("network_map", deployment.networkMap());
        }
        ObjectNode deployed = destination.provider().deployInstance(destination.connection(), environment, exportInfo,
                volumeList, name, deployment.id(), clone);
        saveInfo(deployment.id(), instance, info -> {
            info.set("instance_deployment_info", deployed);
            info.remove("deployment_started");
        });
        context.progress("Deployed instance " + name, null, null, false);
    }

    /** A source disk's backend: the one its provider names, else its format (qemu-host's backends are formats). */
    private static String sourceBackend(ObjectNode exportInfo, String diskId) {
        for (JsonNode disk : exportInfo.at("/devices/disks")) {
            if (disk.path("id").asText().equals(diskId)) {
                return disk.path("storage_backend_identifier").asText(disk.path("format").asText(null));
            }
        }
        return null;
    }

    private static void deleteTree(Path dir) throws IOException {
        io.strata.core.FileTrees.deleteTree(dir);
    }

    private static ObjectNode find(JsonNode volumes, String diskId) {
        for (JsonNode volume : volumes) {
            if (volume.path("disk_id").asText().equals(diskId)) {
                return (ObjectNode) volume.deepCopy();
            }
        }
        return null;
    }

    private ObjectNode exportInfo(Transfer transfer, String instance) {
        JsonNode info = transfer.instanceInfo(instance).get("export_info");
        if (info == null || !info.isObject()) {
            throw new IllegalStateException("no instance info for " + instance + "; GET_INSTANCE_INFO has not run");
        }
        return (ObjectNode) info;
    }

    Path stateFile(String transferId, String instance, String diskId) {
        return stateDir.resolve(transferId).resolve(safe(instance)).resolve(safe(diskId) + ".hashes");
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private Side side(String endpointId) {
        Endpoint endpoint = store.find(Kind.ENDPOINT, endpointId, Endpoint.class)
                .orElseThrow(() -> new IllegalStateException("endpoint " + endpointId + " has been deleted"));
        return new Side(endpoints.provider(endpoint), endpoints.connection(endpoint));
    }

    private Transfer transfer(String id) {
        return store.find(Kind.TRANSFER, id, Transfer.class).orElseThrow(() -> new IllegalStateException("transfer " + id + " has been deleted"));
    }

    private void saveInfo(String transferId, String instance, Consumer<ObjectNode> change) {
        store.update(Kind.TRANSFER, transferId, Transfer.class, t -> {
            change.accept(t.instanceInfo(instance));
            return t.withStatus(t.lastExecutionStatus(), clock.instant());
        });
    }
}
