package io.strata.migration.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.migration.disk.BlockSource;
import io.strata.hypervisor.qemu.QmpClient;
import io.strata.hypervisor.qemu.QmpException;
import io.strata.migration.disk.BlockTarget;
import io.strata.migration.disk.LiveQemuDisk;
import io.strata.migration.disk.QemuImg;
import io.strata.migration.disk.RawDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@code qemu-host}: a directory of a Linux host where each instance is a subdirectory holding
 * its disks ({@code *.raw}, {@code *.img}, {@code *.qcow2}) and optionally an
 * {@code instance.json} ({@code num_cpu}, {@code memory_mb}, {@code os_type}, {@code user_data}).
 * A running instance has a {@code qmp.sock} (its QEMU's QMP socket): its disks are then read
 * at a point in time through QEMU (fleecing, NBD) with dirty bitmaps, so later executions read
 * only changed blocks; shutdown quits that QEMU. A {@code pid} file, if present, names the QEMU
 * process, which shutdown stops and waits for.
 * Replica volumes live under {@code .strata-replicas/} of the destination directory; a deployed
 * instance is a new subdirectory in the same layout. The directory must be local to the worker
 * (SSH access is not implemented; validation says so).
 */
public final class QemuHostProvider implements MigrationProvider {
    public static final String PLATFORM = "qemu-host";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> DISK_SUFFIXES = List.of(".raw", ".img", ".qcow2");
    private static final String REPLICAS = ".strata-replicas";
    private static final String DEPLOYING = ".strata-deploying";

    private final Path scratch;

    /** {@code scratch} holds raw copies of qcow2 source disks while they are read. */
    public QemuHostProvider(Path scratch) {
        this.scratch = scratch;
    }

    @Override
    public String platform() {
        return PLATFORM;
    }

    @Override
    public List<Integer> types() {
        return ProviderTypes.ALL;
    }

    @Override
    public ObjectNode connectionInfoSchema() {
        return Schemas.object()
                .property("path", "string", "Directory holding one subdirectory per instance", true)
                .property("ssh_host", "string", "Host to reach the directory over SSH (not supported by this worker yet)", false)
                .property("ssh_user", "string", "SSH user", false)
                .property("ssh_port", "integer", "SSH port", false)
                .build();
    }

    @Override
    public ObjectNode sourceEnvironmentSchema() {
        return Schemas.object().build();
    }

    @Override
    public ObjectNode destinationEnvironmentSchema() {
        return Schemas.object()
                .enumProperty("disk_format", List.of("raw", "qcow2"), "Format of deployed disks (default: the source disk's)")
                .property("instance_name", "string", "Name of the deployed instance (default: the source's)", false)
                .property("network_map", "object", "Source network to destination network", false)
                .property("storage_mappings", "object", "Storage mappings", false)
                .build();
    }

    @Override
    public void validateConnection(JsonNode connection) {
        root(connection);
    }

    private static Path root(JsonNode connection) {
        if (connection.hasNonNull("ssh_host")) {
            throw new ProviderException("qemu-host over SSH is not supported by this worker; give a local path");
        }
        String path = connection.path("path").asText("");
        if (path.isEmpty()) {
            throw new ProviderException("qemu-host connection info needs a 'path'");
        }
        Path root = Path.of(path);
        if (!Files.isDirectory(root)) {
            throw new ProviderException("qemu-host path " + path + " is not a directory");
        }
        if (!Files.isWritable(root)) {
            throw new ProviderException("qemu-host path " + path + " is not writable");
        }
        return root;
    }

    @Override
    public List<ObjectNode> instances(JsonNode connection, JsonNode environment) {
        Path root = root(connection);
        List<ObjectNode> instances = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                String name = dir.getFileName().toString();
                if (name.startsWith(".") || Files.exists(dir.resolve(DEPLOYING)) || disks(dir).isEmpty()) {
                    continue;
                }
                instances.add(summary(name, descriptor(dir)));
            }
        } catch (IOException e) {
            throw new ProviderException("cannot list " + root + ": " + e.getMessage(), e);
        }
        return instances;
    }

    private static ObjectNode summary(String name, JsonNode descriptor) {
        ObjectNode instance = JsonNodeFactory.instance.objectNode();
        instance.put("id", name);
        instance.put("name", name);
        instance.put("instance_name", name);
        instance.put("num_cpu", descriptor.path("num_cpu").asInt(1));
        instance.put("memory_mb", descriptor.path("memory_mb").asInt(512));
        instance.put("os_type", descriptor.path("os_type").asText("linux"));
        instance.putNull("flavor_name");
        return instance;
    }

    @Override
    public List<ObjectNode> networks(JsonNode connection, JsonNode environment) {
        root(connection);
        ObjectNode network = JsonNodeFactory.instance.objectNode();
        network.put("id", "default");
        network.put("name", "default");
        return List.of(network);
    }

    @Override
    public ObjectNode storage(JsonNode connection, JsonNode environment) {
        root(connection);
        ObjectNode storage = JsonNodeFactory.instance.objectNode();
        ArrayNode backends = storage.putArray("storage_backends");
        backends.addObject().put("id", "raw").put("name", "raw");
        backends.addObject().put("id", "qcow2").put("name", "qcow2");
        storage.putNull("config_default");
        return storage;
    }

    @Override
    public ObjectNode exportInfo(JsonNode connection, JsonNode environment, String instance) throws IOException {
        Path dir = instanceDir(root(connection), instance);
        JsonNode descriptor = descriptor(dir);
        ObjectNode info = summary(instance, descriptor);
        info.put("path", dir.toString());
        Path qmp = dir.resolve("qmp.sock");
        info.put("running", Files.exists(qmp));
        if (Files.exists(qmp)) {
            info.put("qmp_socket", qmp.toString());
        }
        if (descriptor.hasNonNull("user_data")) {
            info.put("user_data", descriptor.get("user_data").asText());
        }
        ObjectNode devices = info.putObject("devices");
        ArrayNode disks = devices.putArray("disks");
        for (Path disk : disks(dir)) {
            ObjectNode entry = disks.addObject();
            entry.put("id", disk.getFileName().toString());
            entry.put("path", disk.toString());
            entry.put("format", QemuImg.format(disk));
            entry.put("size_bytes", QemuImg.virtualSize(disk));
        }
        devices.putArray("nics").addObject().put("id", "eth0").put("network_name", "default");
        return info;
    }

    private static Path instanceDir(Path root, String instance) {
        if (instance.isEmpty() || instance.startsWith(".") || instance.contains("/")) {
            throw new ProviderException("invalid instance name '" + instance + "'");
        }
        Path dir = root.resolve(instance);
        if (!Files.isDirectory(dir) || disks(dir).isEmpty()) {
            throw new ProviderException("instance " + instance + " not found in " + root);
        }
        return dir;
    }

    @Override
    public void shutdown(JsonNode connection, ObjectNode exportInfo) throws IOException {
        Path dir = Path.of(exportInfo.get("path").asText());
        Path qmp = dir.resolve("qmp.sock");
        Path pidFile = dir.resolve("pid");
        if (Files.exists(qmp) && !Files.exists(pidFile)) {
            try (QmpClient client = QmpClient.connect(qmp, "migration", Duration.ofSeconds(10))) {
                client.execute("quit");
            } catch (QmpException e) {
                // Already gone (the socket is stale).
            }
            Files.deleteIfExists(qmp);
            return;
        }
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        ProcessHandle.of(pid).ifPresent(process -> {
            process.destroy();
            try {
                process.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                process.destroyForcibly();
            }
        });
        Files.deleteIfExists(pidFile);
    }

    @Override
    public BlockSource openDisk(JsonNode connection, ObjectNode exportInfo, ObjectNode disk, String tracking) throws IOException {
        Path path = Path.of(disk.get("path").asText());
        Path qmp = Path.of(exportInfo.get("path").asText()).resolve("qmp.sock");
        if (Files.exists(qmp)) {
            return LiveQemuDisk.open(qmp, path, tracking, scratch);
        }
        if (disk.path("format").asText("raw").equals("raw")) {
            return RawDisk.openForReading(path);
        }
        // A qcow2 disk is read through a sparse raw copy; the copy goes when the source is closed.
        Files.createDirectories(scratch);
        Path copy = Files.createTempFile(scratch, "export-", ".raw");
        QemuImg.convert(path, disk.get("format").asText(), copy, "raw");
        return RawDisk.openTemporary(copy);
    }

    @Override
    public ObjectNode deployDisk(JsonNode connection, JsonNode environment, String transferId, String instance, ObjectNode disk)
            throws IOException {
        Path dir = root(connection).resolve(REPLICAS).resolve(transferId).resolve(instance);
        Files.createDirectories(dir);
        String diskId = disk.get("id").asText();
        Path volume = dir.resolve(diskId + ".raw");
        if (!Files.exists(volume)) {
            Files.createFile(volume);
        }
        ObjectNode info = JsonNodeFactory.instance.objectNode();
        info.put("volume_id", transferId + "/" + instance + "/" + diskId);
        info.put("disk_id", diskId);
        info.put("path", volume.toString());
        info.put("format", disk.path("format").asText("raw"));
        info.put("size_bytes", disk.path("size_bytes").asLong());
        return info;
    }

    @Override
    public BlockTarget openVolume(JsonNode connection, ObjectNode volume) throws IOException {
        return RawDisk.openForWriting(Path.of(volume.get("path").asText()));
    }

    @Override
    public void deleteVolume(JsonNode connection, ObjectNode volume) throws IOException {
        Path path = Path.of(volume.get("path").asText());
        Files.deleteIfExists(path);
        // Empty instance and transfer directories go too.
        for (Path dir = path.getParent(); dir != null && !dir.getFileName().toString().equals(REPLICAS); dir = dir.getParent()) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    break;
                }
            }
            Files.delete(dir);
        }
    }

    @Override
    public ObjectNode deployInstance(JsonNode connection, JsonNode environment, ObjectNode exportInfo, List<ObjectNode> volumes, String name,
            String deploymentId, boolean clone) throws IOException {
        Path dir = root(connection).resolve(name);
        if (Files.exists(dir) && !Files.exists(dir.resolve(DEPLOYING))) {
            throw new ProviderException("an instance named " + name + " already exists in " + dir.getParent());
        }
        // A repeated deployment (after a restart) starts over from the marker it left.
        deleteTree(dir);
        Files.createDirectories(dir);
        Files.createFile(dir.resolve(DEPLOYING));
        String wanted = environment.path("disk_format").asText("");
        for (ObjectNode volume : volumes) {
            String format = wanted.isEmpty() ? volume.path("format").asText("raw") : wanted;
            String diskId = volume.get("disk_id").asText();
            String base = diskId.contains(".") ? diskId.substring(0, diskId.lastIndexOf('.')) : diskId;
            Path target = dir.resolve(base + (format.equals("qcow2") ? ".qcow2" : ".raw"));
            Path source = Path.of(volume.get("path").asText());
            if (!clone && format.equals("raw")) {
                Files.move(source, target);
            } else {
                QemuImg.convert(source, "raw", target, format);
            }
        }
        ObjectNode descriptor = JsonNodeFactory.instance.objectNode();
        descriptor.put("num_cpu", exportInfo.path("num_cpu").asInt(1));
        descriptor.put("memory_mb", exportInfo.path("memory_mb").asInt(512));
        descriptor.put("os_type", exportInfo.path("os_type").asText("linux"));
        if (exportInfo.hasNonNull("user_data")) {
            descriptor.put("user_data", exportInfo.get("user_data").asText());
        }
        descriptor.put("migrated_from", exportInfo.path("name").asText());
        Files.writeString(dir.resolve("instance.json"), MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(descriptor));
        Files.delete(dir.resolve(DEPLOYING));
        ObjectNode deployment = JsonNodeFactory.instance.objectNode();
        deployment.put("instance_id", name);
        deployment.put("instance_name", name);
        deployment.put("path", dir.toString());
        return deployment;
    }

    @Override
    public void deleteInstance(JsonNode connection, ObjectNode deployment) throws IOException {
        Path dir = root(connection).resolve(deployment.get("instance_name").asText());
        // Only what this deployment made: a finished one (it has a path) or one that left its marker.
        if (deployment.has("path") || Files.exists(dir.resolve(DEPLOYING))) {
            deleteTree(dir);
        }
    }

    private static List<Path> disks(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile)
                    .filter(f -> DISK_SUFFIXES.stream().anyMatch(s -> f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(s)))
                    .sorted(Comparator.comparing(Path::toString)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static JsonNode descriptor(Path dir) {
        Path file = dir.resolve("instance.json");
        if (!Files.exists(file)) {
            return JsonNodeFactory.instance.objectNode();
        }
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new ProviderException("unreadable " + file + ": " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
