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
import io.strata.migration.host.HostAccess;
import io.strata.migration.host.LiveQemuDisk;
import io.strata.migration.host.LocalHost;
import io.strata.migration.host.SshHost;
import io.strata.migration.host.TrackedQcow2Disk;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code qemu-host}: a directory of a Linux host where each instance is a subdirectory holding
 * its disks ({@code *.raw}, {@code *.img}, {@code *.qcow2}) and optionally an
 * {@code instance.json} ({@code num_cpu}, {@code memory_mb}, {@code os_type}, {@code user_data},
 * {@code nics}: [{@code {"network_name", "mac_address"}}], one NIC on {@code default} when absent).
 * A running instance has a {@code qmp.sock} (its QEMU's QMP socket): its disks are then read
 * at a point in time through QEMU (fleecing, NBD) with dirty bitmaps, so later executions read
 * only changed blocks; shutdown quits that QEMU. A qcow2 disk at rest carries a persistent dirty
 * bitmap per replica ({@link TrackedQcow2Disk}), so later executions read only the clusters
 * written since, through qemu-nbd on the disk's host; raw disks are read and hashed whole. A {@code pid} file, if present, names the QEMU
 * process, which shutdown stops and waits for.
 * Replica volumes live under {@code .strata-replicas/} of the destination directory; a deployed
 * instance is a new subdirectory in the same layout.
 * <p>The directory is on the worker itself, or, when the connection info names a {@code host},
 * on another Linux host reached over SSH ({@link SshHost}: password or private key, optionally a
 * pinned host key) that has a shell, coreutils and qemu-img (and qemu-nbd for tracked qcow2 disks). Over SSH a running instance (one
 * with a {@code qmp.sock}) cannot be read live: it is read after shutdown, which stops its
 * {@code pid}.
 */
public final class QemuHostProvider implements MigrationProvider {
    public static final String PLATFORM = "qemu-host";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> DISK_SUFFIXES = List.of(".raw", ".img", ".qcow2");
    private static final String REPLICAS = ".strata-replicas";
    private static final String DEPLOYING = ".strata-deploying";
    /** The network of a NIC whose instance description names none. */
    private static final String DEFAULT_NETWORK = "default";

    private static final String REMOTE_SCRATCH = ".strata-scratch";

    private final Path scratch;
    private final SshHost.Pool sshPool = new SshHost.Pool(Duration.ofSeconds(60));

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
                .property("host", "string", "Host to reach the directory over SSH (absent: the directory is on the worker)", false)
                .property("port", "integer", "SSH port (default 22)", false)
                .property("username", "string", "SSH user (needed with host)", false)
                .property("password", "string", "SSH password (or private_key)", false)
                .property("private_key", "string", "SSH private key, PEM or OpenSSH format (or password)", false)
                .property("passphrase", "string", "Passphrase of the private key", false)
                .property("host_key", "string", "The host's public key as 'TYPE BASE64'; when given, any other key is refused", false)
                .property("compression", "boolean", "SSH zlib for what the host sends: disk and NBD reads (for slow links, default false)", false)
                .property("compress_writes", "boolean", "Send disk writes to the host gzip-compressed, unpacked there by gzip (default true)", false)
                .property("compress_reads", "boolean",
                        "Have the host send disk reads zlib-compressed, framed there by Python 3 when it has it (default true)", false)
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
        try (HostAccess host = open(connection)) {
            root(host, connection);
        }
    }

    /** The endpoint's host: SSH when the connection names a host, this machine otherwise. */
    private HostAccess open(JsonNode connection) {
        if (!connection.hasNonNull("host")) {
            return new LocalHost();
        }
        String host = connection.get("host").asText("");
        String username = connection.path("username").asText("");
        if (host.isEmpty() || username.isEmpty()) {
            throw new ProviderException("qemu-host over SSH needs a 'host' and a 'username'");
        }
        String password = connection.hasNonNull("password") ? connection.get("password").asText() : null;
        String privateKey = connection.hasNonNull("private_key") ? connection.get("private_key").asText() : null;
        if (password == null && privateKey == null) {
            throw new ProviderException("qemu-host over SSH needs a 'password' or a 'private_key'");
        }
        int port = connection.path("port").asInt(22);
        if (port < 1 || port > 65535) {
            throw new ProviderException("qemu-host SSH port " + port + " is out of range");
        }
        SshHost.Login login = new SshHost.Login(host, port, username, password, privateKey,
                connection.hasNonNull("passphrase") ? connection.get("passphrase").asText() : null,
                connection.hasNonNull("host_key") ? connection.get("host_key").asText() : null, connection.path("compression").asBoolean(false),
                connection.path("compress_writes").asBoolean(true), connection.path("compress_reads").asBoolean(true));
        try {
            return sshPool.acquire(login);
        } catch (IOException e) {
            throw new ProviderException(e.getMessage(), e);
        }
    }

    private static Path root(HostAccess host, JsonNode connection) {
        String path = connection.path("path").asText("");
        if (path.isEmpty()) {
            throw new ProviderException("qemu-host connection info needs a 'path'");
        }
        if (!path.startsWith("/")) {
            throw new ProviderException("qemu-host path " + path + " must be absolute");
        }
        Path root = Path.of(path);
        try {
            if (!host.isDirectory(root)) {
                throw new ProviderException("qemu-host path " + path + " is not a directory on " + host.name());
            }
            if (!host.isWritable(root)) {
                throw new ProviderException("qemu-host path " + path + " is not writable on " + host.name());
            }
        } catch (IOException e) {
            throw new ProviderException("cannot check " + path + " on " + host.name() + ": " + e.getMessage(), e);
        }
        return root;
    }

    @Override
    public List<ObjectNode> instances(JsonNode connection, JsonNode environment) {
        try (HostAccess host = open(connection)) {
            Path root = root(host, connection);
            List<ObjectNode> instances = new ArrayList<>();
            for (String name : host.list(root, true)) {
                Path dir = root.resolve(name);
                if (name.startsWith(".") || host.exists(dir.resolve(DEPLOYING)) || disks(host, dir).isEmpty()) {
                    continue;
                }
                instances.add(summary(name, descriptor(host, dir)));
            }
            return instances;
        } catch (IOException e) {
            throw new ProviderException("cannot list " + connection.path("path").asText() + ": " + e.getMessage(), e);
        }
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

    /**
     * The networks the directory's instance descriptions name for their NICs, and {@code default},
     * the network of an instance whose description names none. A network here is a name for
     * whoever starts the instances (a bridge, a QEMU netdev): its id is the name.
     */
    @Override
    public List<ObjectNode> networks(JsonNode connection, JsonNode environment) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        names.add(DEFAULT_NETWORK);
        try (HostAccess host = open(connection)) {
            Path root = root(host, connection);
            for (String name : host.list(root, true)) {
                Path dir = root.resolve(name);
                if (name.startsWith(".") || host.exists(dir.resolve(DEPLOYING))) {
                    continue;
                }
                for (JsonNode nic : descriptor(host, dir).path("nics")) {
                    if (!nic.path("network_name").asText("").isEmpty()) {
                        names.add(nic.path("network_name").asText());
                    }
                }
            }
        } catch (IOException e) {
            throw new ProviderException("cannot list " + connection.path("path").asText() + ": " + e.getMessage(), e);
        }
        List<ObjectNode> networks = new ArrayList<>();
        names.forEach(name -> networks.add(JsonNodeFactory.instance.objectNode().put("id", name).put("name", name)));
        return networks;
    }

    /** An instance's NICs as its description names them ({"id", "network_name", "mac_address"}); one on {@code default} when it names none. */
    private static ArrayNode nics(JsonNode descriptor) {
        ArrayNode nics = JsonNodeFactory.instance.arrayNode();
        JsonNode described = descriptor.path("nics");
        if (!described.isArray() || described.isEmpty()) {
            nics.addObject().put("id", "eth0").put("network_name", DEFAULT_NETWORK).put("network_id", DEFAULT_NETWORK);
            return nics;
        }
        int index = 0;
        for (JsonNode nic : described) {
            String network = nic.path("network_name").asText(DEFAULT_NETWORK);
            ObjectNode entry = nics.addObject();
            entry.put("id", nic.path("id").asText("eth" + index));
            entry.put("network_name", network);
            entry.put("network_id", network);
            if (nic.hasNonNull("mac_address")) {
                entry.put("mac_address", nic.get("mac_address").asText());
            }
            index++;
        }
        return nics;
    }

    @Override
    public ObjectNode storage(JsonNode connection, JsonNode environment) {
        validateConnection(connection);
        ObjectNode storage = JsonNodeFactory.instance.objectNode();
        ArrayNode backends = storage.putArray("storage_backends");
        backends.addObject().put("id", "raw").put("name", "raw");
        backends.addObject().put("id", "qcow2").put("name", "qcow2");
        storage.putNull("config_default");
        return storage;
    }

    @Override
    public List<ObjectNode> destinationOptions(JsonNode connection, JsonNode environment) {
        validateConnection(connection);
        ObjectNode format = JsonNodeFactory.instance.objectNode();
        format.put("name", "disk_format");
        format.putArray("values").add("raw").add("qcow2");
        // No default of its own: deployed disks keep the source's format.
        format.putNull("config_default");
        return List.of(format);
    }

    @Override
    public ObjectNode exportInfo(JsonNode connection, JsonNode environment, String instance) throws IOException {
        try (HostAccess host = open(connection)) {
            Path dir = instanceDir(host, root(host, connection), instance);
            JsonNode descriptor = descriptor(host, dir);
            ObjectNode info = summary(instance, descriptor);
            info.put("path", dir.toString());
            Path qmp = dir.resolve("qmp.sock");
            boolean running = host.exists(qmp);
            info.put("running", running);
            if (running) {
                info.put("qmp_socket", qmp.toString());
            }
            if (descriptor.hasNonNull("user_data")) {
                info.put("user_data", descriptor.get("user_data").asText());
            }
            ObjectNode devices = info.putObject("devices");
            ArrayNode disks = devices.putArray("disks");
            for (Path disk : disks(host, dir)) {
                JsonNode image = host.imageInfo(disk);
                ObjectNode entry = disks.addObject();
                entry.put("id", disk.getFileName().toString());
                entry.put("path", disk.toString());
                entry.put("format", image.path("format").asText("raw"));
                entry.put("size_bytes", image.path("virtual-size").asLong());
            }
            devices.set("nics", nics(descriptor));
            return info;
        }
    }

    private static Path instanceDir(HostAccess host, Path root, String instance) {
        if (instance.isEmpty() || instance.startsWith(".") || instance.contains("/")) {
            throw new ProviderException("invalid instance name '" + instance + "'");
        }
        Path dir = root.resolve(instance);
        try {
            if (!host.isDirectory(dir) || disks(host, dir).isEmpty()) {
                throw new ProviderException("instance " + instance + " not found in " + root + " on " + host.name());
            }
        } catch (IOException e) {
            throw new ProviderException("cannot read " + dir + " on " + host.name() + ": " + e.getMessage(), e);
        }
        return dir;
    }

    @Override
    public void shutdown(JsonNode connection, ObjectNode exportInfo) throws IOException {
        Path dir = Path.of(exportInfo.get("path").asText());
        Path qmp = dir.resolve("qmp.sock");
        Path pidFile = dir.resolve("pid");
        try (HostAccess host = open(connection)) {
            if (host.exists(qmp) && !host.exists(pidFile)) {
                // QMP's quit, here or through an SSH tunnel to the host's socket.
                try (HostAccess.Tunnel tunnel = host.reach(qmp);
                        QmpClient client = QmpClient.connect(tunnel.address(), "migration", Duration.ofSeconds(10))) {
                    client.execute("quit");
                    // QEMU closes the monitor as it exits; the disks are free for the final copy once it has.
                    client.closedFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    throw new ProviderException("instance " + dir.getFileName() + " on " + host.name() + " did not stop after QMP quit");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while stopping " + dir.getFileName(), e);
                } catch (QmpException e) {
                    // Already gone (the socket is stale).
                }
                host.deleteIfExists(qmp);
                return;
            }
            if (!host.exists(pidFile)) {
                return;
            }
            host.stopProcess(Long.parseLong(host.readString(pidFile).trim()));
            host.deleteIfExists(pidFile);
            if (!(host instanceof LocalHost)) {
                host.deleteIfExists(qmp);
            }
        }
    }

    @Override
    public BlockSource openDisk(JsonNode connection, ObjectNode exportInfo, ObjectNode disk, String tracking) throws IOException {
        Path path = Path.of(disk.get("path").asText());
        Path qmp = Path.of(exportInfo.get("path").asText()).resolve("qmp.sock");
        // The disk closes this access (an SSH session of its own) when it is closed.
        HostAccess host = open(connection);
        try {
            // Work files (fleecing file, raw copies, NBD sockets) live on the disk's host.
            Path workDir = host instanceof LocalHost ? scratch : root(host, connection).resolve(REMOTE_SCRATCH);
            if (host.exists(qmp)) {
                // A running QEMU, here or over SSH (its sockets tunnelled): a point-in-time view with dirty bitmaps.
                // A migration's live pass still reads through bitmaps (not persistent: gone with the QEMU).
                return LiveQemuDisk.open(host, qmp, path, tracking != null ? tracking : "migration", workDir);
            }
            if (disk.path("format").asText("raw").equals("raw")) {
                return host.openRawSource(path, false);
            }
            String format = disk.get("format").asText();
            // Without tracking, a disk is read through a sparse raw copy (made on its host); the copy goes when the source is closed.
            TrackedQcow2Disk.Fallback copied = () -> {
                Path copy = host.createTempFile(workDir, "export-", ".raw");
                host.convert(path, format, copy, "raw");
                return host.openRawSource(copy, true);
            };
            if (format.equals("qcow2") && tracking != null) {
                // A persistent dirty bitmap in the image names the clusters written since the last execution.
                return TrackedQcow2Disk.open(host, path, tracking, workDir, copied);
            }
            return copied.open();
        } catch (IOException | RuntimeException e) {
            host.close();
            throw e;
        }
    }

    @Override
    public ObjectNode deployDisk(JsonNode connection, JsonNode environment, String transferId, String instance, ObjectNode disk)
            throws IOException {
        try (HostAccess host = open(connection)) {
            Path dir = root(host, connection).resolve(REPLICAS).resolve(transferId).resolve(instance);
            host.createDirectories(dir);
            String diskId = disk.get("id").asText();
            Path volume = dir.resolve(diskId + ".raw");
            host.touch(volume);
            ObjectNode info = JsonNodeFactory.instance.objectNode();
            info.put("volume_id", transferId + "/" + instance + "/" + diskId);
            info.put("disk_id", diskId);
            info.put("path", volume.toString());
            info.put("format", disk.path("format").asText("raw"));
            info.put("size_bytes", disk.path("size_bytes").asLong());
            return info;
        }
    }

    @Override
    public BlockTarget openVolume(JsonNode connection, ObjectNode volume) throws IOException {
        HostAccess host = open(connection);
        try {
            return host.openRawTarget(Path.of(volume.get("path").asText()));
        } catch (IOException | RuntimeException e) {
            host.close();
            throw e;
        }
    }

    @Override
    public Path localVolume(JsonNode connection, ObjectNode volume) {
        // Over SSH the volume is a file of the remote host.
        return connection.hasNonNull("host") ? null : Path.of(volume.get("path").asText());
    }

    /** A volume of the SSH host, served there by qemu-nbd and tunnelled through the endpoint's SSH connection. */
    @Override
    public io.strata.migration.host.NbdExport exportVolume(JsonNode connection, ObjectNode volume) throws IOException {
        HostAccess host = open(connection);
        return io.strata.migration.host.NbdExport.start(host, Path.of(volume.get("path").asText()), "raw", true);
    }

    @Override
    public void deleteVolume(JsonNode connection, ObjectNode volume) throws IOException {
        Path path = Path.of(volume.get("path").asText());
        try (HostAccess host = open(connection)) {
            host.deleteIfExists(path);
            // Empty instance and transfer directories go too.
            for (Path dir = path.getParent(); dir != null && !dir.getFileName().toString().equals(REPLICAS); dir = dir.getParent()) {
                if (!host.exists(dir) || !host.isEmptyDirectory(dir)) {
                    break;
                }
                host.deleteIfExists(dir);
            }
        }
    }

    @Override
    public ObjectNode deployInstance(JsonNode connection, JsonNode environment, ObjectNode exportInfo, List<ObjectNode> volumes, String name,
            String deploymentId, boolean clone) throws IOException {
        // The NICs' networks first: a NIC the network map leaves out fails the deployment before anything is written.
        ArrayNode nics = deployedNics(connection, environment, exportInfo);
        try (HostAccess host = open(connection)) {
            Path dir = root(host, connection).resolve(name);
            if (host.exists(dir) && !host.exists(dir.resolve(DEPLOYING))) {
                throw new ProviderException("an instance named " + name + " already exists in " + dir.getParent() + " on " + host.name());
            }
            // A repeated deployment (after a restart) starts over from the marker it left.
            host.deleteTree(dir);
            host.createDirectories(dir);
            host.touch(dir.resolve(DEPLOYING));
            String wanted = environment.path("disk_format").asText("");
            for (ObjectNode volume : volumes) {
                // The storage mappings' backend first (qemu-host's backends are the formats), then disk_format, then the copy's own.
                String format = volume.hasNonNull("storage_backend") ? volume.get("storage_backend").asText()
                        : wanted.isEmpty() ? volume.path("format").asText("raw") : wanted;
                if (!format.equals("raw") && !format.equals("qcow2")) {
                    throw new ProviderException("storage backend '" + format + "' is not one of raw, qcow2");
                }
                String diskId = volume.get("disk_id").asText();
                String base = diskId.contains(".") ? diskId.substring(0, diskId.lastIndexOf('.')) : diskId;
                Path target = dir.resolve(base + (format.equals("qcow2") ? ".qcow2" : ".raw"));
                Path source = Path.of(volume.get("path").asText());
                if (!clone && format.equals("raw")) {
                    host.move(source, target);
                } else {
                    host.convert(source, "raw", target, format);
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
            if (!nics.isEmpty()) {
                descriptor.set("nics", nics);
            }
            host.writeString(dir.resolve("instance.json"), MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(descriptor));
            host.deleteIfExists(dir.resolve(DEPLOYING));
            ObjectNode deployment = JsonNodeFactory.instance.objectNode();
            deployment.put("instance_id", name);
            deployment.put("instance_name", name);
            deployment.put("path", dir.toString());
            return deployment;
        }
    }

    /**
     * The deployed description's NICs: each source NIC on the destination network the
     * environment's {@code network_map} gives it (one of this directory's networks), or on its
     * source network's name when the map is empty.
     */
    private ArrayNode deployedNics(JsonNode connection, JsonNode environment, ObjectNode exportInfo) {
        NetworkMap map;
        try {
            map = NetworkMap.parse(environment.get("network_map"));
        } catch (IllegalArgumentException e) {
            throw new ProviderException(e.getMessage(), e);
        }
        List<ObjectNode> available = map.isEmpty() ? List.of() : networks(connection, environment);
        ArrayNode nics = JsonNodeFactory.instance.arrayNode();
        int index = 0;
        for (JsonNode nic : exportInfo.path("devices").path("nics")) {
            String network = map.isEmpty() ? nic.path("network_name").asText(DEFAULT_NETWORK)
                    : NetworkMap.resolve(map.targetFor(nic).network(), available).get("name").asText();
            ObjectNode entry = nics.addObject().put("id", "eth" + index++).put("network_name", network);
            if (nic.hasNonNull("mac_address")) {
                entry.put("mac_address", nic.get("mac_address").asText());
            }
        }
        return nics;
    }

    @Override
    public void deleteInstance(JsonNode connection, ObjectNode deployment) throws IOException {
        try (HostAccess host = open(connection)) {
            Path dir = root(host, connection).resolve(deployment.get("instance_name").asText());
            // Only what this deployment made: a finished one (it has a path) or one that left its marker.
            if (deployment.has("path") || host.exists(dir.resolve(DEPLOYING))) {
                host.deleteTree(dir);
            }
        }
    }

    private static List<Path> disks(HostAccess host, Path dir) throws IOException {
        return host.list(dir, false).stream()
                .filter(name -> DISK_SUFFIXES.stream().anyMatch(s -> name.toLowerCase(Locale.ROOT).endsWith(s)))
                .map(dir::resolve).toList();
    }

    private static JsonNode descriptor(HostAccess host, Path dir) throws IOException {
        Path file = dir.resolve("instance.json");
        if (!host.exists(file)) {
            return JsonNodeFactory.instance.objectNode();
        }
        try {
            return MAPPER.readTree(host.readString(file));
        } catch (IOException e) {
            throw new ProviderException("unreadable " + file + " on " + host.name() + ": " + e.getMessage(), e);
        }
    }
}
