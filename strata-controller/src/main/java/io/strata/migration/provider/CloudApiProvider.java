package io.strata.migration.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import io.strata.migration.disk.QemuImg;
import io.strata.migration.disk.RawDisk;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A cloud reached through the OpenStack APIs only — another Strata ({@code strata}) or any
 * OpenStack ({@code openstack}); the two differ only in name. Export snapshots a server
 * ({@code createImage}) and downloads the image, which is the disk at one point in time; the
 * replicator then sends only the blocks that differ from the previous execution. Import keeps
 * replica volumes in the worker's staging directory (the APIs have no block-level volume access),
 * and deployment uploads them as images and boots a server with the source's flavor size and
 * user data. A server booted by direct kernel boot brings its kernel and ramdisk along.
 */
public final class CloudApiProvider implements MigrationProvider {
    private static final Duration WAIT = Duration.ofMinutes(10);
    /** What a cloud without a networking API lists: the network its compute service attaches servers to. */
    private static final String COMPUTE_DEFAULT_NETWORK = "default";
    private final String platform;
    private final Path staging;

    public CloudApiProvider(String platform, Path staging) {
        this.platform = platform;
        this.staging = staging;
    }

    @Override
    public String platform() {
        return platform;
    }

    @Override
    public List<Integer> types() {
        return ProviderTypes.ALL;
    }

    @Override
    public ObjectNode connectionInfoSchema() {
        return Schemas.object()
                .property("auth_url", "string", "Identity URL, e.g. http://host:8774/identity/v3", true)
                .property("username", "string", "User name", true)
                .property("password", "string", "Password", true)
                .property("project_name", "string", "Project to work in", true)
                .property("user_domain_name", "string", "Domain of the user (default: Default)", false)
                .property("project_domain_name", "string", "Domain of the project (default: Default)", false)
                .property("region_name", "string", "Region of the catalog endpoints", false)
                .property("identity_api_version", "integer", "Only 3 is supported", false)
                .property("allow_untrusted", "boolean", "Accepted for compatibility; certificates are always checked", false)
                .build();
    }

    @Override
    public ObjectNode sourceEnvironmentSchema() {
        return Schemas.object().build();
    }

    @Override
    public ObjectNode destinationEnvironmentSchema() {
        return Schemas.object()
                .property("flavor_name", "string", "Flavor of deployed servers (default: the smallest that fits the source)", false)
                .property("instance_name", "string", "Name of the deployed server (default: the source's)", false)
                .property("network_map", "object", "Source network to destination network", false)
                .property("storage_mappings", "object", "Storage mappings", false)
                .build();
    }

    @Override
    public void validateConnection(JsonNode connection) {
        OpenStackClient client = OpenStackClient.login(connection);
        try {
            OpenStackClient.expect(client.get(client.compute("/servers?limit=1")), "server list", 200);
        } catch (IOException e) {
            throw new ProviderException("the compute API is unreachable: " + e.getMessage(), e);
        }
    }

    @Override
    public List<ObjectNode> instances(JsonNode connection, JsonNode environment) {
        OpenStackClient client = OpenStackClient.login(connection);
        try {
            JsonNode servers = OpenStackClient.expect(client.get(client.compute("/servers/detail")), "server list", 200).path("servers");
            List<ObjectNode> instances = new ArrayList<>();
            for (JsonNode server : servers) {
                instances.add(summary(client, server));
            }
            return instances;
        } catch (IOException e) {
            throw new ProviderException("cannot list servers: " + e.getMessage(), e);
        }
    }

    private static ObjectNode summary(OpenStackClient client, JsonNode server) throws IOException {
        JsonNode flavor = server.path("flavor");
        if (!flavor.has("vcpus") && flavor.has("id")) {
            flavor = OpenStackClient.expect(client.get(client.compute("/flavors/" + flavor.get("id").asText())), "flavor", 200).path("flavor");
        }
        ObjectNode instance = JsonNodeFactory.instance.objectNode();
        instance.put("id", server.get("id").asText());
        instance.put("name", server.get("name").asText());
        instance.put("instance_name", server.get("name").asText());
        instance.put("num_cpu", flavor.path("vcpus").asInt(1));
        instance.put("memory_mb", flavor.path("ram").asInt(512));
        instance.put("os_type", "linux");
        instance.put("flavor_name", flavor.path("name").asText(flavor.path("original_name").asText(null)));
        instance.put("status", server.path("status").asText());
        return instance;
    }

    @Override
    public List<ObjectNode> networks(JsonNode connection, JsonNode environment) {
        OpenStackClient client = OpenStackClient.login(connection);
        try {
            return networks(client);
        } catch (IOException e) {
            throw new ProviderException("cannot list networks: " + e.getMessage(), e);
        }
    }

    /**
     * The cloud's networks ({"id", "name"}) through its networking API; a cloud without one has
     * only the network its compute service attaches by itself, listed as {@code default}.
     */
    private static List<ObjectNode> networks(OpenStackClient client) throws IOException {
        List<ObjectNode> networks = new ArrayList<>();
        if (!client.hasNetwork()) {
            networks.add(JsonNodeFactory.instance.objectNode().put("id", COMPUTE_DEFAULT_NETWORK).put("name", COMPUTE_DEFAULT_NETWORK));
            return networks;
        }
        for (JsonNode network : OpenStackClient.expect(client.get(client.network("/networks")), "network list", 200).path("networks")) {
            networks.add(JsonNodeFactory.instance.objectNode().put("id", network.path("id").asText()).put("name", network.path("name").asText()));
        }
        return networks;
    }

    @Override
    public ObjectNode storage(JsonNode connection, JsonNode environment) {
        OpenStackClient.login(connection);
        ObjectNode storage = JsonNodeFactory.instance.objectNode();
        storage.putArray("storage_backends");
        storage.putNull("config_default");
        return storage;
    }

    @Override
    public List<ObjectNode> destinationOptions(JsonNode connection, JsonNode environment) {
        OpenStackClient client = OpenStackClient.login(connection);
        try {
            return List.of(flavorOption(client));
        } catch (IOException e) {
            throw new ProviderException("cannot list flavors: " + e.getMessage(), e);
        }
    }

    /** What createMinion reads: the minions' image (required) and flavor (default: the smallest). */
    @Override
    public List<ObjectNode> minionPoolOptions(JsonNode connection, JsonNode environment) {
        OpenStackClient client = OpenStackClient.login(connection);
        try {
            ObjectNode image = JsonNodeFactory.instance.objectNode();
            image.put("name", "image_id");
            ArrayNode images = image.putArray("values");
            OpenStackClient.expect(client.get(client.image("/images")), "image list", 200).path("images")
                    .forEach(i -> images.addObject().put("id", i.path("id").asText()).put("name", i.path("name").asText()));
            image.putNull("config_default");
            return List.of(image, flavorOption(client));
        } catch (IOException e) {
            throw new ProviderException("cannot list images and flavors: " + e.getMessage(), e);
        }
    }

    /**
     * The {@code flavor_name} option: the cloud's flavor names, no default (the smallest flavor
     * that fits is chosen: the source's size for an instance, 1 vCPU for a minion).
     */
    private static ObjectNode flavorOption(OpenStackClient client) throws IOException {
        ObjectNode flavor = JsonNodeFactory.instance.objectNode();
        flavor.put("name", "flavor_name");
        ArrayNode values = flavor.putArray("values");
        OpenStackClient.expect(client.get(client.compute("/flavors")), "flavor list", 200).path("flavors")
                .forEach(f -> values.add(f.path("name").asText()));
        flavor.putNull("config_default");
        return flavor;
    }

    @Override
    public ObjectNode exportInfo(JsonNode connection, JsonNode environment, String instance) throws IOException {
        OpenStackClient client = OpenStackClient.login(connection);
        JsonNode server = find(client, instance);
        ObjectNode info = summary(client, server);
        String userData = server.path("OS-EXT-SRV-ATTR:user_data").asText(null);
        if (userData != null && !userData.isEmpty()) {
            info.put("user_data", new String(Base64.getDecoder().decode(userData), StandardCharsets.UTF_8));
        }
        info.put("image_id", server.path("image").path("id").asText(null));
        ObjectNode devices = info.putObject("devices");
        ArrayNode disks = devices.putArray("disks");
        disks.addObject().put("id", "root").put("format", "raw").put("size_bytes", 0);
        bootFiles(client, server.path("image").path("id").asText(""), info, disks);
        nics(client, server, devices.putArray("nics"));
        return info;
    }

    /**
     * The server's NICs as Coriolis describes them, from its addresses (keyed by network name, one
     * NIC per MAC address); the network's id comes from the networking API when the cloud has one.
     */
    private static void nics(OpenStackClient client, JsonNode server, ArrayNode nics) throws IOException {
        for (var network : server.path("addresses").properties()) {
            String networkName = network.getKey();
            String networkId = client.hasNetwork() ? networkId(client, networkName) : null;
            java.util.Map<String, ObjectNode> byMac = new java.util.LinkedHashMap<>();
            for (JsonNode address : network.getValue()) {
                String mac = address.path("OS-EXT-IPS-MAC:mac_addr").asText("");
                ObjectNode nic = byMac.computeIfAbsent(mac, key -> {
                    ObjectNode created = nics.addObject();
                    created.put("id", key.isEmpty() ? networkName + "-" + nics.size() : key);
                    created.put("mac_address", key.isEmpty() ? null : key);
                    created.put("network_name", networkName);
                    created.put("network_id", networkId);
                    created.putArray("ip_addresses");
                    return created;
                });
                nic.withArray("ip_addresses").add(address.path("addr").asText());
            }
        }
    }

    /** The id of the one network named {@code name}, or null when none or several are. */
    private static String networkId(OpenStackClient client, String name) throws IOException {
        JsonNode named = OpenStackClient.expect(client.get(client.network("/networks?name=" + URLEncoder.encode(name, StandardCharsets.UTF_8))),
                "network search", 200).path("networks");
        return named.size() == 1 ? named.get(0).path("id").asText() : null;
    }

    /**
     * A server booted by direct kernel boot needs its image's kernel and ramdisk on the
     * destination too: they travel as two more disks, and the boot command line in the info.
     */
    private static void bootFiles(OpenStackClient client, String imageId, ObjectNode info, ArrayNode disks) throws IOException {
        if (imageId.isEmpty()) {
            return;
        }
        OpenStackClient.Answer image = client.get(client.image("/images/" + imageId));
        if (image.status() != 200) {
            return;
        }
        for (String kind : List.of("kernel", "ramdisk")) {
            String fileImage = image.body().path(kind + "_id").asText("");
            if (!fileImage.isEmpty()) {
                disks.addObject().put("id", kind).put("image_id", fileImage).put("format", "raw").put("size_bytes", 0);
            }
        }
        if (image.body().hasNonNull("os_command_line")) {
            info.put("os_command_line", image.body().get("os_command_line").asText());
        }
    }

    private static JsonNode find(OpenStackClient client, String instance) throws IOException {
        OpenStackClient.Answer byId = client.get(client.compute("/servers/" + URLEncoder.encode(instance, StandardCharsets.UTF_8)));
        if (byId.status() == 200) {
            return byId.body().get("server");
        }
        JsonNode servers = OpenStackClient.expect(client.get(client.compute("/servers/detail?name=" + URLEncoder.encode("^" + instance + "$",
                StandardCharsets.UTF_8))), "server search", 200).path("servers");
        List<JsonNode> exact = new ArrayList<>();
        servers.forEach(s -> {
            if (s.path("name").asText().equals(instance)) {
                exact.add(s);
            }
        });
        if (exact.size() != 1) {
            throw new ProviderException(exact.isEmpty() ? "no server named or with id " + instance : "several servers are named " + instance);
        }
        return exact.getFirst();
    }

    @Override
    public void shutdown(JsonNode connection, ObjectNode exportInfo) throws IOException {
        OpenStackClient client = OpenStackClient.login(connection);
        String id = exportInfo.get("id").asText();
        if (status(client, id).equals("SHUTOFF")) {
            return;
        }
        OpenStackClient.expect(client.post(client.compute("/servers/" + id + "/action"), JsonNodeFactory.instance.objectNode().putNull("os-stop")),
                "stop of " + id, 202);
        waitForServer(client, id, "SHUTOFF");
    }

    @Override
    public BlockSource openDisk(JsonNode connection, ObjectNode exportInfo, ObjectNode disk, String tracking) throws IOException {
        OpenStackClient client = OpenStackClient.login(connection);
        if (disk.has("image_id")) {
            // A boot file (kernel, ramdisk) of the server's image: copied as it is.
            Files.createDirectories(staging);
            Path file = Files.createTempFile(staging, "boot-", ".img");
            client.download(client.image("/images/" + disk.get("image_id").asText() + "/file"), file);
            return RawDisk.openTemporary(file);
        }
        String id = exportInfo.get("id").asText();
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.putObject("createImage").put("name", "coriolis-export-" + id + "-" + Instant.now().toEpochMilli());
        OpenStackClient.Answer answer = client.post(client.compute("/servers/" + id + "/action"), body);
        OpenStackClient.expect(answer, "snapshot of " + id, 202);
        String location = answer.header("Location");
        String imageId = answer.body().has("image_id") ? answer.body().get("image_id").asText() : location.substring(location.lastIndexOf('/') + 1);
        Files.createDirectories(staging);
        Path download = Files.createTempFile(staging, "export-", ".img");
        Path raw = null;
        try {
            JsonNode image = waitForImage(client, imageId);
            client.download(client.image("/images/" + imageId + "/file"), download);
            String format = image.path("disk_format").asText("raw");
            if (format.equals("raw")) {
                raw = download;
            } else {
                raw = Files.createTempFile(staging, "export-", ".raw");
                QemuImg.convert(download, format, raw, "raw");
                Files.delete(download);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(download);
            throw e;
        } finally {
            client.delete(client.image("/images/" + imageId));
        }
        return RawDisk.openTemporary(raw);
    }

    @Override
    public ObjectNode deployDisk(JsonNode connection, JsonNode environment, String transferId, String instance, ObjectNode disk)
            throws IOException {
        Path dir = staging.resolve("volumes").resolve(transferId).resolve(instance.replaceAll("[^A-Za-z0-9._-]", "_"));
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
        info.put("format", "raw");
        return info;
    }

    @Override
    public BlockTarget openVolume(JsonNode connection, ObjectNode volume) throws IOException {
        return RawDisk.openForWriting(Path.of(volume.get("path").asText()));
    }

    @Override
    public Path localVolume(JsonNode connection, ObjectNode volume) {
        // Volumes are staged in the worker's data directory until deployment uploads them.
        return Path.of(volume.get("path").asText());
    }

    @Override
    public void deleteVolume(JsonNode connection, ObjectNode volume) throws IOException {
        Path path = Path.of(volume.get("path").asText());
        Files.deleteIfExists(path);
        for (Path dir = path.getParent(); dir != null && !dir.equals(staging.resolve("volumes")); dir = dir.getParent()) {
            try (var entries = Files.list(dir)) {
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
        OpenStackClient client = OpenStackClient.login(connection);
        // The network map is checked before anything is made: a NIC it leaves out fails the deployment at once.
        java.util.Set<String> securityGroups = new java.util.LinkedHashSet<>();
        ArrayNode networks = networkRequests(client, environment, exportInfo, securityGroups);
        // A repeated deployment starts over: whatever an interrupted one made goes first.
        removeTagged(client, name, deploymentId);
        ObjectNode image = JsonNodeFactory.instance.objectNode();
        for (ObjectNode volume : volumes) {
            String diskId = volume.get("disk_id").asText();
            if (diskId.equals("kernel") || diskId.equals("ramdisk")) {
                String format = diskId.equals("kernel") ? "aki" : "ari";
                image.put(diskId + "_id", upload(client, name + "-" + deploymentId + "-" + diskId, format, format, deploymentId, volume));
            }
        }
        if (exportInfo.hasNonNull("os_command_line")) {
            image.put("os_command_line", exportInfo.get("os_command_line").asText());
        }
        ObjectNode root = volumes.stream().filter(v -> v.get("disk_id").asText().equals("root")).findFirst().orElse(volumes.getFirst());
        // The root disk travels as qcow2: a raw volume would put its unallocated space on the wire.
        Path compact = Files.createTempFile(staging, "deploy-", ".qcow2");
        String imageId;
        try {
            QemuImg.convert(Path.of(root.get("path").asText()), "raw", compact, "qcow2");
            ObjectNode packed = root.deepCopy().put("path", compact.toString());
            imageId = upload(client, name + "-" + deploymentId, "bare", "qcow2", deploymentId, packed, image);
        } finally {
            Files.deleteIfExists(compact);
        }
        ObjectNode server = JsonNodeFactory.instance.objectNode();
        ObjectNode s = server.putObject("server");
        s.put("name", name);
        s.put("imageRef", imageId);
        s.put("flavorRef", flavor(client, environment, exportInfo));
        if (exportInfo.hasNonNull("user_data")) {
            s.put("user_data", Base64.getEncoder().encodeToString(exportInfo.get("user_data").asText().getBytes(StandardCharsets.UTF_8)));
        }
        if (networks != null) {
            s.set("networks", networks);
        }
        if (!securityGroups.isEmpty()) {
            ArrayNode groups = s.putArray("security_groups");
            securityGroups.forEach(group -> groups.addObject().put("name", group));
        }
        s.putObject("metadata").put("coriolis_deployment_id", deploymentId).put("migrated_from", exportInfo.path("id").asText());
        String serverId = OpenStackClient.expect(client.post(client.compute("/servers"), server), "server create", 202).at("/server/id").asText();
        waitForServer(client, serverId, "ACTIVE");
        ObjectNode deployment = JsonNodeFactory.instance.objectNode();
        deployment.put("instance_id", serverId);
        deployment.put("instance_name", name);
        deployment.put("image_id", imageId);
        deployment.put("deployment_id", deploymentId);
        return deployment;
    }

    /**
     * The create's {@code networks}: each source NIC's network through the environment's
     * {@code network_map} to a destination network id (a mapped name resolved through the
     * networking API), adding the security groups its mapping names. Null when the map is empty
     * (the destination attaches its default network, as before network maps took effect) or the
     * cloud has no networking API (its one network needs no naming).
     */
    private static ArrayNode networkRequests(OpenStackClient client, JsonNode environment, ObjectNode exportInfo,
            java.util.Set<String> securityGroups) throws IOException {
        NetworkMap map;
        try {
            map = NetworkMap.parse(environment.get("network_map"));
        } catch (IllegalArgumentException e) {
            throw new ProviderException(e.getMessage(), e);
        }
        if (map.isEmpty()) {
            return null;
        }
        List<ObjectNode> available = networks(client);
        ArrayNode requests = JsonNodeFactory.instance.arrayNode();
        for (JsonNode nic : exportInfo.path("devices").path("nics")) {
            NetworkMap.Target target = map.targetFor(nic);
            ObjectNode network = NetworkMap.resolve(target.network(), available);
            securityGroups.addAll(target.securityGroups());
            requests.addObject().put("uuid", network.get("id").asText());
        }
        return client.hasNetwork() ? requests : null;
    }

    static String upload(OpenStackClient client, String name, String container, String format, String deploymentId, ObjectNode volume,
            ObjectNode... properties) throws IOException {
        ObjectNode image = JsonNodeFactory.instance.objectNode();
        for (ObjectNode extra : properties) {
            image.setAll(extra);
        }
        image.put("name", name);
        image.put("disk_format", format);
        image.put("container_format", container);
        image.put("coriolis_deployment_id", deploymentId);
        OpenStackClient.Answer created = client.post(client.image("/images"), image);
        String id = OpenStackClient.expect(created, "image create", 201).get("id").asText();
        // A Strata image API says (RFC 7694 Accept-Encoding) that it takes gzip-encoded data; a
        // Glance does not, and gets the bytes plain.
        boolean gzip = takesGzip(created.header("Accept-Encoding"));
        OpenStackClient.expect(client.putFile(client.image("/images/" + id + "/file"), Path.of(volume.get("path").asText()), gzip), "image upload", 204);
        return id;
    }

    static boolean takesGzip(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        return java.util.Arrays.stream(acceptEncoding.split(",")).map(item -> item.split(";")[0].strip())
                .anyMatch(coding -> coding.equalsIgnoreCase("gzip"));
    }

    private static String flavor(OpenStackClient client, JsonNode environment, ObjectNode exportInfo) throws IOException {
        JsonNode flavors = OpenStackClient.expect(client.get(client.compute("/flavors/detail")), "flavor list", 200).path("flavors");
        String wanted = environment.path("flavor_name").asText("");
        JsonNode best = null;
        for (JsonNode flavor : flavors) {
            if (!wanted.isEmpty()) {
                if (flavor.path("name").asText().equals(wanted) || flavor.path("id").asText().equals(wanted)) {
                    return flavor.get("id").asText();
                }
                continue;
            }
            boolean fits = flavor.path("vcpus").asInt() >= exportInfo.path("num_cpu").asInt(1)
                    && flavor.path("ram").asInt() >= exportInfo.path("memory_mb").asInt(0);
            if (fits && (best == null || flavor.path("ram").asInt() < best.path("ram").asInt()
                    || (flavor.path("ram").asInt() == best.path("ram").asInt() && flavor.path("vcpus").asInt() < best.path("vcpus").asInt()))) {
                best = flavor;
            }
        }
        if (best == null) {
            throw new ProviderException(wanted.isEmpty() ? "no flavor on the destination fits " + exportInfo.path("num_cpu").asInt() + " vCPUs and "
                    + exportInfo.path("memory_mb").asInt() + " MB" : "no flavor named " + wanted + " on the destination");
        }
        return best.get("id").asText();
    }

    @Override
    public boolean bootsMinions() {
        return true;
    }

    @Override
    public ObjectNode createMinion(JsonNode connection, JsonNode options, String poolId, String name) throws IOException {
        String image = options.path("image_id").asText("");
        if (image.isEmpty()) {
            throw new ProviderException("minion pools on " + platform() + " endpoints need environment_options.image_id (the minions' image)");
        }
        OpenStackClient client = OpenStackClient.login(connection);
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        ObjectNode server = body.putObject("server");
        server.put("name", name);
        server.put("imageRef", image);
        ObjectNode size = JsonNodeFactory.instance.objectNode().put("num_cpu", 1).put("memory_mb", 0);
        server.put("flavorRef", flavor(client, options, size));
        if (options.hasNonNull("network_id")) {
            server.putArray("networks").addObject().put("uuid", options.get("network_id").asText());
        }
        server.putObject("metadata").put("coriolis_minion_pool_id", poolId);
        String id = OpenStackClient.expect(client.post(client.compute("/servers"), body), "minion create", 202).at("/server/id").asText();
        ObjectNode properties = JsonNodeFactory.instance.objectNode();
        properties.put("server_id", id);
        properties.put("name", name);
        try {
            waitForServer(client, id, "ACTIVE");
        } catch (ProviderException | IOException e) {
            // A minion that did not boot is not left behind.
            deleteMinion(connection, properties);
            throw e;
        }
        return properties;
    }

    @Override
    public void deleteMinion(JsonNode connection, ObjectNode properties) throws IOException {
        OpenStackClient client = OpenStackClient.login(connection);
        String id = properties.get("server_id").asText();
        OpenStackClient.expect(client.delete(client.compute("/servers/" + id)), "minion delete", 204, 404);
        Instant deadline = Instant.now().plus(WAIT);
        while (client.get(client.compute("/servers/" + id)).status() != 404) {
            if (Instant.now().isAfter(deadline)) {
                throw new ProviderException("minion " + id + " was not deleted within " + WAIT.toMinutes() + " minutes");
            }
            sleep();
        }
    }

    @Override
    public List<ObjectNode> minions(JsonNode connection, String poolId) throws IOException {
        OpenStackClient client = OpenStackClient.login(connection);
        List<ObjectNode> minions = new ArrayList<>();
        for (JsonNode server : OpenStackClient.expect(client.get(client.compute("/servers/detail")), "server list", 200).path("servers")) {
            if (poolId.equals(server.at("/metadata/coriolis_minion_pool_id").asText(null))) {
                ObjectNode properties = JsonNodeFactory.instance.objectNode();
                properties.put("server_id", server.get("id").asText());
                properties.put("name", server.path("name").asText());
                minions.add(properties);
            }
        }
        return minions;
    }

    @Override
    public String minionStatus(JsonNode connection, ObjectNode properties) throws IOException {
        OpenStackClient client = OpenStackClient.login(connection);
        OpenStackClient.Answer answer = client.get(client.compute("/servers/" + properties.get("server_id").asText()));
        if (answer.status() == 404) {
            return null;
        }
        return switch (OpenStackClient.expect(answer, "minion", 200).at("/server/status").asText()) {
            case "ACTIVE" -> "POWERED_ON";
            case "SHUTOFF", "SUSPENDED", "PAUSED" -> "POWERED_OFF";
            case "ERROR" -> "ERROR";
            default -> "POWERING_ON";
        };
    }

    @Override
    public void deleteInstance(JsonNode connection, ObjectNode deployment) throws IOException {
        OpenStackClient client = OpenStackClient.login(connection);
        removeTagged(client, deployment.get("instance_name").asText(), deployment.get("deployment_id").asText());
    }

    /** Deletes the servers and images a deployment created, found by its tag. */
    private static void removeTagged(OpenStackClient client, String name, String deploymentId) throws IOException {
        JsonNode servers = OpenStackClient.expect(client.get(client.compute("/servers/detail?name=" + URLEncoder.encode("^" + name + "$",
                StandardCharsets.UTF_8))), "server search", 200).path("servers");
        List<String> deleted = new ArrayList<>();
        for (JsonNode server : servers) {
            if (deploymentId.equals(server.at("/metadata/coriolis_deployment_id").asText(null))) {
                String id = server.get("id").asText();
                OpenStackClient.expect(client.delete(client.compute("/servers/" + id)), "server delete", 204, 404);
                deleted.add(id);
            }
        }
        for (String id : deleted) {
            Instant deadline = Instant.now().plus(WAIT);
            while (client.get(client.compute("/servers/" + id)).status() != 404 && Instant.now().isBefore(deadline)) {
                sleep();
            }
        }
        for (String suffix : List.of("", "-kernel", "-ramdisk")) {
            JsonNode images = OpenStackClient.expect(client.get(client.image("/images?name=" + URLEncoder.encode(name + "-" + deploymentId + suffix,
                    StandardCharsets.UTF_8))), "image search", 200).path("images");
            for (JsonNode image : images) {
                OpenStackClient.expect(client.delete(client.image("/images/" + image.get("id").asText())), "image delete", 204, 404);
            }
        }
    }

    private static String status(OpenStackClient client, String id) throws IOException {
        return OpenStackClient.expect(client.get(client.compute("/servers/" + id)), "server " + id, 200).at("/server/status").asText();
    }

    private static void waitForServer(OpenStackClient client, String id, String wanted) throws IOException {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            JsonNode server = OpenStackClient.expect(client.get(client.compute("/servers/" + id)), "server " + id, 200).get("server");
            String status = server.path("status").asText();
            if (status.equals(wanted)) {
                return;
            }
            if (status.equals("ERROR")) {
                throw new ProviderException("server " + id + " went to ERROR: " + server.at("/fault/message").asText(""));
            }
            sleep();
        }
        throw new ProviderException("server " + id + " did not become " + wanted + " within " + WAIT.toMinutes() + " minutes");
    }

    private static JsonNode waitForImage(OpenStackClient client, String id) throws IOException {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            JsonNode image = OpenStackClient.expect(client.get(client.image("/images/" + id)), "image " + id, 200);
            switch (image.path("status").asText()) {
                case "active" -> {
                    return image;
                }
                case "killed", "deleted", "deactivated" -> throw new ProviderException("snapshot image " + id + " is " + image.path("status").asText());
                default -> sleep();
            }
        }
        throw new ProviderException("snapshot image " + id + " did not become active within " + WAIT.toMinutes() + " minutes");
    }

    private static void sleep() throws IOException {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
