package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Coriolis API on a real controller, with qemu-host endpoints on local directories: CRUD of
 * every resource, secrets never shown, replica executions that move only changed blocks and leave
 * the destination equal to the source, deployment, cancellation, and Coriolis' error shapes.
 */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class MigrationApiTest {
    private static final long DISK_SIZE = 16L << 20;

    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static MigrationClient admin;
    private Path source;
    private Path destination;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
        admin = new MigrationClient(cloud.admin());
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @BeforeEach
    void dirs() throws IOException {
        source = Files.createTempDirectory("migr-src-");
        destination = Files.createTempDirectory("migr-dst-");
        HostDirs.sparseDisk(source.resolve("vm1/disk.raw"), DISK_SIZE, 1, 0, 1, 7, 100, 255);
        HostDirs.descriptor(source.resolve("vm1"), "{\"num_cpu\": 2, \"memory_mb\": 1024, \"user_data\": \"#cloud-config\\nhostname: vm1\\n\"}");
    }

    @AfterEach
    void cleanDirs() throws IOException {
        for (Path dir : List.of(source, destination)) {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void catalogListsTheMigrationService() {
        JsonNode catalog = cloud.admin().get("/identity/v3/auth/catalog").expect(200).json().get("catalog");
        JsonNode migration = null;
        for (JsonNode service : catalog) {
            if (service.get("type").asText().equals("migration")) {
                migration = service;
            }
        }
        assertThat(migration).isNotNull();
        assertThat(migration.at("/endpoints/0/url").asText()).isEqualTo(cloud.baseUrl() + "/migration/v1/" + admin.project);
        assertThat(cloud.anonymous().get("/migration").expect(200).json().at("/versions/0/id").asText()).isEqualTo("v1");
        cloud.anonymous().get(admin.path("/endpoints")).expect(401);
    }

    @Test
    void providersAndSchemas() {
        JsonNode providers = admin.get("/providers").expect(200).json().get("providers");
        assertThat(providers.has("qemu-host")).isTrue();
        assertThat(providers.at("/qemu-host/types")).extracting(JsonNode::asInt).contains(1, 2, 4, 8, 16);
        JsonNode connection = admin.get("/providers/qemu-host/schemas/16").expect(200).json().at("/schemas/connection_info_schema");
        assertThat(connection.at("/required/0").asText()).isEqualTo("path");
        assertThat(admin.get("/providers/qemu-host/schemas/4").expect(200).json().at("/schemas/destination_environment_schema/properties")
                .has("disk_format")).isTrue();
        // The two cloud providers, with Keystone connection info.
        for (String cloudProvider : List.of("strata", "openstack")) {
            assertThat(providers.at("/" + cloudProvider + "/types")).extracting(JsonNode::asInt).contains(1, 2, 4, 8, 16);
            assertThat(admin.get("/providers/" + cloudProvider + "/schemas/16").expect(200).json().at("/schemas/connection_info_schema/required"))
                    .extracting(JsonNode::asText).contains("auth_url", "username", "password", "project_name");
            assertThat(admin.get("/providers/" + cloudProvider + "/schemas/1").expect(200).json()
                    .at("/schemas/destination_environment_schema/properties").has("flavor_name")).isTrue();
        }
        JsonNode missing = admin.get("/providers/vmware/schemas/16").expect(404).json();
        assertThat(missing.at("/itemNotFound/code").asInt()).isEqualTo(404);
    }

    @Test
    void endpointsKeepConnectionInfoSealed() throws IOException {
        String id = admin.qemuHostEndpoint("src", source);
        JsonNode endpoint = admin.get("/endpoints/" + id).expect(200).json().get("endpoint");
        assertThat(endpoint.get("type").asText()).isEqualTo("qemu-host");
        assertThat(endpoint.get("connection_info").fieldNames()).toIterable().containsExactly("secret_ref");
        assertThat(admin.get("/endpoints").expect(200).text()).doesNotContain(source.toString());
        // The data directory's key and the database ciphertext: the path is nowhere in clear.
        assertThat(Files.readString(cloud.dataDir().resolve("migration/secret.key"))).doesNotContain(source.toString());
        assertThat(storedMigrationRows()).contains(id).doesNotContain(source.toString());

        JsonNode valid = admin.post("/endpoints/" + id + "/actions", "{\"validate-connection\": null}").expect(200).json();
        assertThat(valid.at("/validate-connection/valid").asBoolean()).isTrue();
        assertThat(admin.get("/endpoints/" + id + "/instances").expect(200).json().at("/instances/0/name").asText()).isEqualTo("vm1");
        String encoded = Base64.getEncoder().encodeToString("vm1".getBytes(StandardCharsets.UTF_8));
        JsonNode instance = admin.get("/endpoints/" + id + "/instances/" + encoded).expect(200).json().get("instance");
        assertThat(instance.get("num_cpu").asInt()).isEqualTo(2);
        assertThat(instance.at("/devices/disks/0/size_bytes").asLong()).isEqualTo(DISK_SIZE);
        assertThat(admin.get("/endpoints/" + id + "/networks").expect(200).json().at("/networks/0/id").asText()).isEqualTo("default");
        assertThat(admin.get("/endpoints/" + id + "/storage").expect(200).json().at("/storage/storage_backends").size()).isEqualTo(2);
        JsonNode options = admin.get("/endpoints/" + id + "/destination-options").expect(200).json().get("destination_options");
        assertThat(options).singleElement().satisfies(o -> {
            assertThat(o.get("name").asText()).isEqualTo("disk_format");
            assertThat(o.get("values")).extracting(JsonNode::asText).containsExactly("raw", "qcow2");
        });
        String onlyOther = Base64.getEncoder().encodeToString("[\"flavor_name\"]".getBytes(StandardCharsets.UTF_8));
        assertThat(admin.get("/endpoints/" + id + "/destination-options?options=" + onlyOther).expect(200).json().get("destination_options")).isEmpty();
        admin.get("/endpoints/" + id + "/destination-options?options=not-base64!").expect(400);

        // A stored secret referenced by another endpoint; it cannot go while in use.
        String secret = admin.post("/secrets", "{\"secret\": {\"name\": \"dst\", \"payload\": {\"path\": \"" + destination + "\"}}}")
                .expect(200).json().at("/secret/secret_ref").asText();
        String byRef = admin.post("/endpoints", "{\"endpoint\": {\"name\": \"dst\", \"type\": \"qemu-host\", \"connection_info\": {\"secret_ref\": \""
                + secret + "\"}}}").expect(200).json().at("/endpoint/id").asText();
        assertThat(admin.post("/endpoints/" + byRef + "/actions", "{\"validate-connection\": {}}").expect(200).json()
                .at("/validate-connection/valid").asBoolean()).isTrue();
        admin.delete("/secrets/" + secret).expect(409);

        // Broken connection info: validation says why; listing is a 400 in Nova's shape.
        admin.put("/endpoints/" + id, "{\"endpoint\": {\"connection_info\": {\"path\": \"/nonexistent\"}, \"description\": \"moved\"}}").expect(200);
        JsonNode invalid = admin.post("/endpoints/" + id + "/actions", "{\"validate-connection\": null}").expect(200).json();
        assertThat(invalid.at("/validate-connection/valid").asBoolean()).isFalse();
        assertThat(invalid.at("/validate-connection/message").asText()).contains("/nonexistent");
        assertThat(admin.get("/endpoints/" + id + "/instances").expect(400).json().at("/badRequest/message").asText()).contains("not a directory");

        admin.post("/endpoints", "{\"endpoint\": {\"name\": \"x\", \"type\": \"qemu-host\", \"connection_info\": {\"paht\": \"/tmp\"}}}").expect(400);
        admin.post("/endpoints", "{\"endpoint\": {\"name\": \"x\", \"type\": \"vmware\", \"connection_info\": {}}}").expect(400);
        admin.delete("/endpoints/" + id).expect(204);
        admin.delete("/endpoints/" + byRef).expect(204);
        admin.delete("/secrets/" + secret).expect(204);
        admin.get("/endpoints/" + id).expect(404);
    }

    /** Every row of the migration service's tables, as text, read straight from the database. */
    private static String storedMigrationRows() {
        io.strata.server.StrataConfig config = cloud.server().config();
        String url = config.databaseUrl() != null ? config.databaseUrl() : io.strata.store.DatabaseConfig.embedded(config.dataDir()).url();
        StringBuilder rows = new StringBuilder();
        try (java.sql.Connection connection = java.sql.DriverManager.getConnection(url, config.databaseUser(), config.databasePassword())) {
            for (String table : List.of("migration_objects", "migration_secrets")) {
                try (java.sql.ResultSet result = connection.createStatement().executeQuery("select * from " + table)) {
                    int columns = result.getMetaData().getColumnCount();
                    while (result.next()) {
                        for (int column = 1; column <= columns; column++) {
                            Object value = result.getObject(column);
                            rows.append(value instanceof byte[] bytes ? new String(bytes, StandardCharsets.ISO_8859_1) : String.valueOf(value)).append('|');
                        }
                        rows.append('\n');
                    }
                }
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return rows.toString();
    }

    @Test
    void replicaExecutionsMoveOnlyChangedBlocksAndDeploy() throws IOException {
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        String replica = admin.replica(origin, target, "vm1");
        Path disk = source.resolve("vm1/disk.raw");

        JsonNode first = admin.awaitExecution(replica, admin.execute(replica));
        MigrationClient.assertCompleted(first);
        assertThat(first.get("tasks")).extracting(t -> t.get("task_type").asText())
                .containsExactly("GET_INSTANCE_INFO", "DEPLOY_REPLICA_DISKS", "REPLICATE_DISKS");
        JsonNode replicaView = admin.get("/replicas/" + replica).expect(200).json().get("replica");
        assertThat(replicaView.get("last_execution_status").asText()).isEqualTo("COMPLETED");
        Path volume = Path.of(replicaView.at("/info/vm1/volumes_info/0/path").asText());
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(HostDirs.checksum(disk, DISK_SIZE));
        JsonNode stats = replicaView.at("/info/vm1/replication_stats/0");
        // Only the five data blocks were read and sent: holes are skipped.
        assertThat(stats.get("blocks_sent").asInt()).isEqualTo(5);
        assertThat(stats.get("bytes_read").asLong()).isEqualTo(5L * HostDirs.BLOCK);
        assertThat(stats.get("incremental").asBoolean()).isFalse();

        HostDirs.overwriteBlocks(disk, 2, 7, 30, 200);
        JsonNode second = admin.awaitExecution(replica, admin.execute(replica));
        MigrationClient.assertCompleted(second);
        assertThat(second.get("number").asInt()).isEqualTo(2);
        stats = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/replication_stats/0");
        assertThat(stats.get("incremental").asBoolean()).isTrue();
        assertThat(stats.get("blocks_sent").asInt()).isEqualTo(3);
        assertThat(stats.get("wire_bytes").asLong()).isLessThan(4L * HostDirs.BLOCK);
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(HostDirs.checksum(disk, DISK_SIZE));

        JsonNode executions = admin.get("/replicas/" + replica + "/executions").expect(200).json().get("executions");
        assertThat(executions).hasSize(2);

        // Deploy: a migration from the replica; the volumes stay (clone_disks defaults to true).
        String deployment = admin.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica + "\", \"clone_disks\": true, \"skip_os_morphing\": true}}").expect(200)
                .json().at("/migration/id").asText();
        JsonNode deployed = admin.awaitMigration(deployment);
        assertThat(deployed.get("status").asText()).as(deployed.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(deployed.get("replica_id").asText()).isEqualTo(replica);
        assertThat(deployed.at("/transfer_result/vm1/instance_name").asText()).isEqualTo("vm1");
        Path deployedDisk = destination.resolve("vm1/disk.raw");
        assertThat(HostDirs.checksum(deployedDisk, DISK_SIZE)).isEqualTo(HostDirs.checksum(disk, DISK_SIZE));
        assertThat(Files.readString(destination.resolve("vm1/instance.json"))).contains("hostname: vm1").contains("\"num_cpu\" : 2");
        assertThat(volume).exists();

        // A second deployment to the same name fails and leaves the first instance alone.
        String again = admin.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica + "\", \"skip_os_morphing\": true}}").expect(200).json().at("/migration/id").asText();
        JsonNode failed = admin.awaitMigration(again);
        assertThat(failed.get("status").asText()).isEqualTo("ERROR");
        assertThat(failed.at("/tasks/1/exception_details").asText()).contains("already exists");
        assertThat(HostDirs.checksum(deployedDisk, DISK_SIZE)).isEqualTo(HostDirs.checksum(disk, DISK_SIZE));

        admin.delete("/replicas/" + replica).expect(409);
        JsonNode deleteDisks = admin.post("/replicas/" + replica + "/actions", "{\"delete-disks\": null}").expect(200).json().get("execution");
        MigrationClient.assertCompleted(admin.awaitExecution(replica, deleteDisks.get("id").asText()));
        assertThat(volume).doesNotExist();
        assertThat(cloud.dataDir().resolve("migration/state/" + replica)).doesNotExist();
        admin.delete("/migrations/" + deployment).expect(204);
        admin.delete("/migrations/" + again).expect(204);
        admin.delete("/replicas/" + replica).expect(204);
        admin.get("/replicas/" + replica).expect(404);
    }

    @Test
    void qcow2DisksAtRestAreTrackedByAPersistentBitmapAndFallBackToHashing() throws IOException {
        Path seed = HostDirs.sparseDisk(source.resolve("seed.raw"), DISK_SIZE, 3, java.util.stream.IntStream.range(0, 128).toArray());
        Path disk = Files.createDirectories(source.resolve("vm2")).resolve("data.qcow2");
        io.strata.migration.disk.QemuImg.convert(seed, "raw", disk, "qcow2");
        String replica = admin.replica(admin.qemuHostEndpoint("src", source), admin.qemuHostEndpoint("dst", destination), "vm2");

        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        JsonNode info = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm2");
        Path volume = Path.of(info.at("/volumes_info/0/path").asText());
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(HostDirs.qcow2Checksum(disk, DISK_SIZE));
        assertThat(info.at("/replication_stats/0/incremental").asBoolean()).isFalse();
        assertThat(trackingBitmaps(disk)).containsExactly("done []");

        // 3 of 256 blocks written offline through QEMU's block layer (one in a hole): only those are read.
        HostDirs.qemuIoWrite(disk, 0x40, 3, 77, 200);
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        JsonNode stats = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm2/replication_stats/0");
        assertThat(stats.get("incremental").asBoolean()).isTrue();
        assertThat(stats.get("bytes_read").asLong()).isEqualTo(3L * HostDirs.BLOCK);
        assertThat(stats.get("blocks_sent").asInt()).isEqualTo(3);
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(HostDirs.qcow2Checksum(disk, DISK_SIZE));
        assertThat(trackingBitmaps(disk)).containsExactly("done []");

        // A writer killed with the image open leaves the bitmap in-use (it may miss writes): every block is hashed again.
        HostDirs.qemuIoWriteAndDie(disk, 0x55, 10);
        assertThat(trackingBitmaps(disk)).containsExactly("done [in-use]");
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        stats = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm2/replication_stats/0");
        assertThat(stats.get("bytes_read").asLong()).isEqualTo(129L * HostDirs.BLOCK);
        assertThat(stats.get("blocks_sent").asInt()).isEqualTo(1);
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(HostDirs.qcow2Checksum(disk, DISK_SIZE));
        assertThat(trackingBitmaps(disk)).containsExactly("done []");

        // Tracked again from there on.
        HostDirs.qemuIoWrite(disk, 0x66, 5);
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        stats = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm2/replication_stats/0");
        assertThat(stats.get("bytes_read").asLong()).isEqualTo(HostDirs.BLOCK);
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(HostDirs.qcow2Checksum(disk, DISK_SIZE));

        // A writer that does not know bitmaps clears the image's "bitmaps consistent" bit: QEMU then
        // drops the bitmaps, the replica's is missing, and every block is hashed again.
        HostDirs.qemuIoWrite(disk, 0x77, 20);
        HostDirs.clearBitmapsAutoclear(disk);
        assertThat(trackingBitmaps(disk)).isEmpty();
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        stats = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm2/replication_stats/0");
        assertThat(stats.get("bytes_read").asLong()).isEqualTo(129L * HostDirs.BLOCK);
        assertThat(stats.get("blocks_sent").asInt()).isEqualTo(1);
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(HostDirs.qcow2Checksum(disk, DISK_SIZE));
        assertThat(trackingBitmaps(disk)).containsExactly("done []");
        try (Stream<Path> left = Files.list(cloud.dataDir().resolve("migration/scratch"))) {
            assertThat(left.filter(p -> p.getFileName().toString().startsWith("qsd-"))).isEmpty();
        }
    }

    /** This image's strata-off bitmaps as "SUFFIX [FLAGS but auto]" (one per replica, strata-off-KEY-done). */
    private static List<String> trackingBitmaps(Path image) throws IOException {
        JsonNode info = new com.fasterxml.jackson.databind.ObjectMapper().readTree(HostDirs.imageInfo(image));
        List<String> found = new java.util.ArrayList<>();
        for (JsonNode bitmap : info.at("/format-specific/data/bitmaps")) {
            String name = bitmap.get("name").asText();
            if (name.startsWith("strata-off-")) {
                List<String> flags = new java.util.ArrayList<>();
                bitmap.get("flags").forEach(f -> flags.add(f.asText()));
                flags.remove("auto");
                found.add(name.substring(name.lastIndexOf('-') + 1) + " " + flags);
            }
        }
        return found;
    }

    @Test
    void migrationCopiesShutsDownAndDeploys() throws IOException {
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        String migration = admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"],
                 "destination_environment": {"disk_format": "qcow2", "instance_name": "vm1-moved"}, "shutdown_instances": true,
                 "skip_os_morphing": true}}
                """.formatted(origin, target)).expect(200).json().at("/migration/id").asText();
        JsonNode done = admin.awaitMigration(migration);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(done.get("tasks")).extracting(t -> t.get("task_type").asText()).containsExactly("GET_INSTANCE_INFO",
                "DEPLOY_MIGRATION_TARGET_RESOURCES", "REPLICATE_DISKS", "SHUTDOWN_INSTANCE", "REPLICATE_DISKS", "OS_MORPHING", "DEPLOY_INSTANCE_RESOURCES",
                "FINALIZE_INSTANCE_DEPLOYMENT", "DELETE_MIGRATION_TARGET_RESOURCES");
        Path qcow2 = destination.resolve("vm1-moved/disk.qcow2");
        Path raw = Files.createTempFile("check-", ".raw");
        io.strata.migration.disk.QemuImg.convert(qcow2, "qcow2", raw, "raw");
        assertThat(HostDirs.checksum(raw, DISK_SIZE)).isEqualTo(HostDirs.checksum(source.resolve("vm1/disk.raw"), DISK_SIZE));
        Files.delete(raw);
        // Staging volumes were consumed or removed: nothing left behind.
        try (Stream<Path> left = Files.walk(destination.resolve(".strata-replicas"))) {
            assertThat(left.filter(Files::isRegularFile).toList()).isEmpty();
        }
    }

    /**
     * Storage mappings pick each deployed disk's backend (qemu-host's are raw and qcow2): a disk
     * mapping first, then the source backend's mapping, then the default, over disk_format; a
     * backend the destination does not list, or a malformed mapping, is a 400 at creation.
     */
    @Test
    void storageMappingsChooseEachDeployedDisksBackend() throws IOException {
        HostDirs.sparseDisk(source.resolve("vm1/data.raw"), DISK_SIZE, 2, 3, 9);
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        String body = """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "skip_os_morphing": true,
                 "destination_environment": {"disk_format": "raw", "instance_name": "%s"}, "storage_mappings": %s}}
                """;
        assertThat(admin.post("/migrations", body.formatted(origin, target, "x", "{\"default\": \"ssd\"}")).expect(400).json().toString())
                .contains("storage backend 'ssd'").contains("raw, qcow2");
        admin.post("/migrations", body.formatted(origin, target, "x", "{\"backend_mappings\": {\"raw\": \"qcow2\"}}")).expect(400);
        admin.post("/migrations", body.formatted(origin, target, "x", "{\"disk_mappings\": [{\"disk_id\": \"data.raw\"}]}")).expect(400);
        admin.post("/migrations", body.formatted(origin, target, "x", "{\"defaults\": \"raw\"}")).expect(400);

        String migration = admin.post("/migrations", body.formatted(origin, target, "vm1-mapped",
                "{\"default\": \"qcow2\", \"disk_mappings\": [{\"disk_id\": \"data.raw\", \"destination\": \"raw\"}]}"))
                .expect(200).json().at("/migration/id").asText();
        JsonNode done = admin.awaitMigration(migration);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(HostDirs.imageInfo(destination.resolve("vm1-mapped/disk.qcow2"))).contains("\"format\": \"qcow2\"");
        assertThat(HostDirs.imageInfo(destination.resolve("vm1-mapped/data.raw"))).contains("\"format\": \"raw\"");
        assertThat(destination.resolve("vm1-mapped/disk.raw")).doesNotExist();
        Path raw = Files.createTempFile("check-", ".raw");
        io.strata.migration.disk.QemuImg.convert(destination.resolve("vm1-mapped/disk.qcow2"), "qcow2", raw, "raw");
        assertThat(HostDirs.checksum(raw, DISK_SIZE)).isEqualTo(HostDirs.checksum(source.resolve("vm1/disk.raw"), DISK_SIZE));
        Files.delete(raw);

        // A replica's mappings, changed by an update, apply to its deployment: raw sources go to qcow2.
        String replica = admin.replica(origin, target, "vm1");
        admin.put("/replicas/" + replica, "{\"replica\": {\"storage_mappings\": {\"default\": \"nvme\"}}}").expect(400);
        admin.put("/replicas/" + replica, "{\"replica\": {\"storage_mappings\": {\"backend_mappings\": "
                + "[{\"source\": \"raw\", \"destination\": \"qcow2\"}]}}}").expect(200);
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        String deployment = admin.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica
                + "\", \"skip_os_morphing\": true, \"destination_environment\": {\"instance_name\": \"vm1-copy\"}}}")
                .expect(200).json().at("/migration/id").asText();
        JsonNode deployed = admin.awaitMigration(deployment);
        assertThat(deployed.get("status").asText()).as(deployed.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(HostDirs.imageInfo(destination.resolve("vm1-copy/disk.qcow2"))).contains("\"format\": \"qcow2\"");
        assertThat(HostDirs.imageInfo(destination.resolve("vm1-copy/data.qcow2"))).contains("\"format\": \"qcow2\"");
    }

    /**
     * qemu-host networks are the names instance descriptions give their NICs (and default): the
     * network map puts each source NIC on a destination network in the written description; a
     * map value naming no destination network is a 400 at creation, a NIC the map leaves out
     * fails the deployment and leaves no instance behind.
     */
    @Test
    void networkMapNamesTheDeployedNicsNetworks() throws IOException {
        HostDirs.descriptor(source.resolve("vm1"), "{\"num_cpu\": 1, \"nics\": [{\"network_name\": \"lan\", \"mac_address\": \"52:54:00:12:34:56\"}]}");
        HostDirs.descriptor(destination.resolve("web"), "{\"nics\": [{\"network_name\": \"dmz\"}]}");
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        assertThat(admin.get("/endpoints/" + origin + "/networks").expect(200).json().get("networks")).extracting(n -> n.get("name").asText())
                .containsExactly("default", "lan");
        assertThat(admin.get("/endpoints/" + target + "/networks").expect(200).json().get("networks")).extracting(n -> n.get("id").asText())
                .containsExactly("default", "dmz");
        String body = """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "skip_os_morphing": true,
                 "destination_environment": {"instance_name": "%s"}, "network_map": %s}}
                """;
        assertThat(admin.post("/migrations", body.formatted(origin, target, "x", "{\"lan\": \"nowhere\"}")).expect(400).json()
                .at("/badRequest/message").asText()).contains("'nowhere'").contains("dmz");
        assertThat(admin.post("/migrations", body.formatted(origin, target, "x", "{\"lan\": 5}")).expect(400).json()
                .at("/badRequest/message").asText()).contains("network_map.lan");
        admin.post("/migrations", body.formatted(origin, target, "x", "{\"lan\": {\"security_groups\": []}}")).expect(400);

        String unmapped = admin.post("/migrations", body.formatted(origin, target, "vm1-unmapped", "{\"default\": \"dmz\"}")).expect(200)
                .json().at("/migration/id").asText();
        JsonNode failed = admin.awaitMigration(unmapped);
        assertThat(failed.get("status").asText()).isEqualTo("ERROR");
        assertThat(failed.get("tasks").toString()).contains("network_map has no destination for the source network lan");
        assertThat(destination.resolve("vm1-unmapped")).doesNotExist();

        String mapped = admin.post("/migrations", body.formatted(origin, target, "vm1-dmz", "{\"lan\": {\"id\": \"dmz\", \"security_groups\": []}}"))
                .expect(200).json().at("/migration/id").asText();
        JsonNode done = admin.awaitMigration(mapped);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        JsonNode nics = new com.fasterxml.jackson.databind.ObjectMapper().readTree(destination.resolve("vm1-dmz/instance.json").toFile()).get("nics");
        assertThat(nics).hasSize(1);
        assertThat(nics.at("/0/network_name").asText()).isEqualTo("dmz");
        assertThat(nics.at("/0/mac_address").asText()).isEqualTo("52:54:00:12:34:56");
        assertThat(admin.get("/endpoints/" + target + "/networks").expect(200).json().get("networks")).hasSize(2);
    }

    /**
     * A replica execution that fails after its volumes were made keeps them listed in the
     * replica's info, and delete-disks removes them; the replica then executes cleanly again.
     */
    @Test
    void aFailedExecutionKeepsItsVolumesListedAndDeleteDisksRemovesThem() throws IOException {
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        String replica = admin.replica(origin, target, "vm1");
        // A qmp.sock that is no socket: the instance looks running and its live read fails.
        Files.writeString(source.resolve("vm1/qmp.sock"), "not a socket");
        JsonNode failed = admin.awaitExecution(replica, admin.execute(replica));
        assertThat(failed.get("status").asText()).as(failed.toPrettyString()).isEqualTo("ERROR");
        assertThat(failed.get("tasks")).anySatisfy(t -> {
            assertThat(t.get("task_type").asText()).isEqualTo("REPLICATE_DISKS");
            assertThat(t.get("status").asText()).isEqualTo("ERROR");
        });
        JsonNode volume = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/volumes_info/0");
        Path left = Path.of(volume.get("path").asText());
        assertThat(left).exists();
        admin.delete("/replicas/" + replica).expect(409);
        // No execution ever completed: the disks may be partial, and deploying them takes force.
        String deploy = "{\"migration\": {\"replica_id\": \"" + replica + "\", \"skip_os_morphing\": true, %s"
                + "\"destination_environment\": {\"instance_name\": \"vm1-partial\"}}}";
        assertThat(admin.post("/migrations", deploy.formatted("")).expect(409).json().at("/conflictingRequest/message").asText())
                .contains("executed successfully at least once");
        String forced = admin.post("/migrations", deploy.formatted("\"force\": true,")).expect(200).json().at("/migration/id").asText();
        assertThat(admin.awaitMigration(forced).get("status").asText()).isEqualTo("COMPLETED");
        assertThat(destination.resolve("vm1-partial/disk.raw")).exists();

        JsonNode deleteDisks = admin.post("/replicas/" + replica + "/actions", "{\"delete-disks\": null}").expect(200).json().get("execution");
        MigrationClient.assertCompleted(admin.awaitExecution(replica, deleteDisks.get("id").asText()));
        assertThat(left).doesNotExist();
        assertThat(admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/volumes_info").size()).isZero();

        Files.delete(source.resolve("vm1/qmp.sock"));
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        Path copy = Path.of(admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/volumes_info/0/path").asText());
        assertThat(HostDirs.checksum(copy, DISK_SIZE)).isEqualTo(HostDirs.checksum(source.resolve("vm1/disk.raw"), DISK_SIZE));
    }

    @Test
    void cancelMidTransferCleansUpAndTheNextExecutionCompletes() throws IOException {
        // Large enough that the copy is still running when the test cancels it (the pipelined
        // replicator moved 192 MiB within a second on H2 and then the cancel came too late).
        long size = 640L << 20;
        Path disk = HostDirs.randomDisk(source.resolve("big/disk.raw"), size, 42);
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);

        // A migration cancelled mid-copy removes what it deployed.
        String migration = admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["big"]}}
                """.formatted(origin, target)).expect(200).json().at("/migration/id").asText();
        admin.awaitReplicationProgress(() -> admin.get("/migrations/" + migration).expect(200).json().at("/migration/tasks"));
        // A running migration cannot be deleted.
        assertThat(admin.delete("/migrations/" + migration).expect(409).json().at("/conflictingRequest/message").asText()).contains("is running");
        admin.post("/migrations/" + migration + "/actions", "{\"cancel\": {\"force\": false}}").expect(204);
        JsonNode cancelled = admin.awaitMigration(migration);
        assertThat(cancelled.get("status").asText()).isEqualTo("CANCELED");
        List<String> statuses = new ArrayList<>();
        cancelled.get("tasks").forEach(t -> statuses.add(t.get("task_type").asText() + ":" + t.get("status").asText()));
        assertThat(statuses).contains("REPLICATE_DISKS:CANCELED", "DELETE_MIGRATION_TARGET_RESOURCES:COMPLETED");
        try (Stream<Path> left = Files.walk(destination)) {
            assertThat(left.filter(Files::isRegularFile).toList()).isEmpty();
        }
        admin.post("/migrations/" + migration + "/actions", "{\"cancel\": {}}").expect(409);

        // A replica execution cancelled mid-copy keeps its volume listed; the next one completes it.
        String replica = admin.replica(origin, target, "big");
        String execution = admin.execute(replica);
        admin.awaitReplicationProgress(() -> admin.execution(replica, execution).get("tasks"));
        admin.post("/replicas/" + replica + "/executions", "{}").expect(409);
        // Neither the running execution nor its replica can be deleted.
        admin.delete("/replicas/" + replica + "/executions/" + execution).expect(409);
        admin.delete("/replicas/" + replica).expect(409);
        admin.post("/replicas/" + replica + "/executions/" + execution + "/actions", "{\"cancel\": {\"force\": true}}").expect(204);
        assertThat(admin.awaitExecution(replica, execution).get("status").asText()).isEqualTo("CANCELED");
        admin.delete("/replicas/" + replica + "/executions/" + execution).expect(204);
        JsonNode info = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/big/volumes_info/0");
        assertThat(info.get("path").asText()).isNotEmpty();
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        assertThat(HostDirs.checksum(Path.of(info.get("path").asText()), size)).isEqualTo(HostDirs.checksum(disk, size));
    }

    @Test
    void schedulesFireExecutions() {
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        String replica = admin.replica(origin, target, "vm1");
        admin.post("/replicas/" + replica + "/schedules", "{\"schedule\": {\"minute\": 61}}").expect(400);
        admin.post("/replicas/" + replica + "/schedules", "{\"schedule\": {\"second\": 1}}").expect(400);
        admin.post("/replicas/" + replica + "/schedules", "{\"schedule\": {\"hour\": 2}, \"expiration_date\": \"2001-01-01T00:00:00\"}").expect(400);
        JsonNode nightly = admin.post("/replicas/" + replica + "/schedules",
                "{\"schedule\": {\"minute\": 0, \"hour\": 2}, \"enabled\": true, \"expiration_date\": \"2099-01-01T00:00:00Z\"}")
                .expect(200).json().get("schedule");
        assertThat(nightly.at("/schedule/hour").asInt()).isEqualTo(2);
        assertThat(nightly.get("expiration_date").asText()).startsWith("2099-01-01T00:00:00");
        String id = nightly.get("id").asText();
        JsonNode disabled = admin.put("/replicas/" + replica + "/schedules/" + id, "{\"enabled\": false, \"expiration_date\": null}")
                .expect(200).json().get("schedule");
        assertThat(disabled.get("enabled").asBoolean()).isFalse();
        assertThat(disabled.get("expiration_date").isNull()).isTrue();

        // Every field absent: every minute. The clock fires it within a tick or two.
        admin.post("/replicas/" + replica + "/schedules", "{\"schedule\": {}}").expect(200);
        assertThat(admin.get("/replicas/" + replica + "/schedules").expect(200).json().get("schedules")).hasSize(2);
        await().atMost(Duration.ofSeconds(30)).until(() -> admin.get("/replicas/" + replica + "/executions").expect(200).json()
                .get("executions").size() == 1);
        String execution = admin.get("/replicas/" + replica + "/executions").expect(200).json().at("/executions/0/id").asText();
        MigrationClient.assertCompleted(admin.awaitExecution(replica, execution));
        admin.delete("/replicas/" + replica + "/schedules/" + id).expect(204);
        admin.get("/replicas/" + replica + "/schedules/" + id).expect(404);
    }

    @Test
    void minionPoolsRegionsAndWorkers() {
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        JsonNode pool = admin.post("/minion_pools", """
                {"minion_pool": {"name": "p", "endpoint_id": "%s", "platform": "source", "os_type": "linux",
                 "environment_options": {}, "minimum_minions": 2, "maximum_minions": 3}}""".formatted(origin)).expect(200).json().get("minion_pool");
        String poolId = pool.get("id").asText();
        assertThat(pool.get("status").asText()).isEqualTo("ALLOCATED");
        assertThat(pool.get("minion_machines")).hasSize(2);
        admin.post("/minion_pools", "{\"minion_pool\": {\"name\": \"q\", \"endpoint_id\": \"" + origin
                + "\", \"platform\": \"source\", \"minimum_minions\": 4, \"maximum_minions\": 3}}").expect(400);
        admin.delete("/minion_pools/" + poolId).expect(409);
        admin.put("/minion_pools/" + poolId, "{\"minion_pool\": {\"minimum_minions\": 3}}").expect(200);
        assertThat(admin.post("/minion_pools/" + poolId + "/actions", "{\"refresh\": null}").expect(200).json()
                .at("/minion_pool/minion_machines").size()).isEqualTo(3);
        // A replica may name the allocated pool as its source pool.
        admin.post("/replicas", """
                {"replica": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "origin_minion_pool_id": "%s"}}
                """.formatted(origin, target, poolId)).expect(200);
        assertThat(admin.post("/minion_pools/" + poolId + "/actions", "{\"deallocate\": {\"force\": false}}").expect(200).json()
                .at("/minion_pool/status").asText()).isEqualTo("DEALLOCATED");
        admin.post("/minion_pools/" + poolId + "/actions", "{\"deallocate\": null}").expect(409);
        admin.post("/minion_pools/" + poolId + "/actions", "{\"allocate\": null}").expect(200);
        admin.post("/minion_pools/" + poolId + "/actions", "{\"deallocate\": null}").expect(200);

        JsonNode services = admin.get("/services").expect(200).json().get("services");
        assertThat(services).hasSize(1);
        JsonNode worker = services.get(0);
        assertThat(worker.get("status").asText()).isEqualTo("UP");
        assertThat(worker.get("binary").asText()).isEqualTo("coriolis-worker");
        String workerId = worker.get("id").asText();

        String region = admin.post("/regions", "{\"region\": {\"name\": \"east\", \"description\": \"d\"}}").expect(200).json().at("/region/id").asText();
        admin.post("/regions", "{\"region\": {\"name\": \"east\"}}").expect(409);
        admin.put("/services/" + workerId, "{\"service\": {\"mapped_regions\": [\"" + region + "\"]}}").expect(200);
        assertThat(admin.get("/regions/" + region).expect(200).json().at("/region/mapped_services/0").asText()).isEqualTo(workerId);
        admin.delete("/regions/" + region).expect(409);

        // Chosen by region: the worker (mapped to east) takes no transfer of an endpoint of another
        // region only, and takes one whose endpoint is in east.
        String west = admin.post("/regions", "{\"region\": {\"name\": \"west\"}}").expect(200).json().at("/region/id").asText();
        String regional = admin.replica(origin, target, "vm1");
        admin.put("/endpoints/" + origin, "{\"endpoint\": {\"mapped_regions\": [\"" + west + "\"]}}").expect(200);
        assertThat(admin.post("/replicas/" + regional + "/executions", "{}").expect(409).json().at("/conflictingRequest/message").asText())
                .contains("No enabled worker");
        admin.put("/endpoints/" + origin, "{\"endpoint\": {\"mapped_regions\": [\"" + region + "\"]}}").expect(200);
        MigrationClient.assertCompleted(admin.awaitExecution(regional, admin.execute(regional)));
        admin.put("/endpoints/" + origin, "{\"endpoint\": {\"mapped_regions\": []}}").expect(200);
        admin.delete("/regions/" + west).expect(204);

        // A disabled worker takes no executions; enabled again, it does.
        String replica = admin.replica(origin, target, "vm1");
        admin.put("/services/" + workerId, "{\"service\": {\"enabled\": false}}").expect(200);
        assertThat(admin.post("/replicas/" + replica + "/executions", "{}").expect(409).json().at("/conflictingRequest/message").asText())
                .contains("No enabled worker");
        admin.put("/services/" + workerId, "{\"service\": {\"enabled\": true, \"mapped_regions\": []}}").expect(200);
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        admin.delete("/regions/" + region).expect(204);

        // Members of another project see nothing of this one; readers cannot write.
        ApiClient other = cloud.newProjectUser("other-" + kind, "olga-" + kind, "member");
        MigrationClient otherClient = new MigrationClient(other);
        assertThat(otherClient.get("/replicas").expect(200).json().get("replicas")).isEmpty();
        otherClient.get("/replicas/" + replica).expect(404);
        other.get(admin.path("/replicas")).expect(403);
        otherClient.post("/regions", "{\"region\": {\"name\": \"west\"}}").expect(403);
    }

    /**
     * Coriolis' replication_count (copies before the deployment, the shutdown before the last),
     * user_scripts and instance_osmorphing_minion_pool_mappings: checked (a 400 naming what is
     * wrong), stored, shown, and merged on replica update; a deployment takes the replica's.
     */
    @Test
    void replicationCountUserScriptsAndOsMorphingPoolMappings() {
        String origin = admin.qemuHostEndpoint("src", source);
        String target = admin.qemuHostEndpoint("dst", destination);
        String destinationPool = admin.post("/minion_pools", """
                {"minion_pool": {"name": "morphers", "endpoint_id": "%s", "platform": "destination", "os_type": "linux",
                 "environment_options": {}}}""".formatted(target)).expect(200).json().at("/minion_pool/id").asText();
        String sourcePool = admin.post("/minion_pools", """
                {"minion_pool": {"name": "exporters", "endpoint_id": "%s", "platform": "source", "os_type": "linux",
                 "environment_options": {}}}""".formatted(origin)).expect(200).json().at("/minion_pool/id").asText();
        String scripts = "{\"global\": {\"linux\": \"#!/bin/sh\\ntouch $1/migrated\\n\", \"windows\": \"Write-Host hi\"}}";

        String migration = admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "replication_count": 3,
                 "shutdown_instances": true, "skip_os_morphing": true, "destination_environment": {"instance_name": "vm1-counted"},
                 "user_scripts": %s, "instance_osmorphing_minion_pool_mappings": {"vm1": "%s"}}}
                """.formatted(origin, target, scripts, destinationPool)).expect(200).json().at("/migration/id").asText();
        JsonNode done = admin.awaitMigration(migration);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(done.get("tasks")).extracting(t -> t.get("task_type").asText()).containsExactly("GET_INSTANCE_INFO",
                "DEPLOY_MIGRATION_TARGET_RESOURCES", "REPLICATE_DISKS", "REPLICATE_DISKS", "SHUTDOWN_INSTANCE", "REPLICATE_DISKS", "OS_MORPHING",
                "DEPLOY_INSTANCE_RESOURCES", "FINALIZE_INSTANCE_DEPLOYMENT", "DELETE_MIGRATION_TARGET_RESOURCES");
        assertThat(done.get("replication_count").asInt()).isEqualTo(3);
        assertThat(done.at("/user_scripts/global/linux").asText()).isEqualTo("#!/bin/sh\ntouch $1/migrated\n");
        assertThat(done.at("/user_scripts/global/windows").asText()).isEqualTo("Write-Host hi");
        assertThat(done.at("/instance_osmorphing_minion_pool_mappings/vm1").asText()).isEqualTo(destinationPool);
        assertThat(HostDirs.checksum(destination.resolve("vm1-counted/disk.raw"), DISK_SIZE))
                .isEqualTo(HostDirs.checksum(source.resolve("vm1/disk.raw"), DISK_SIZE));
        // Without replication_count: one copy, as before (two with a shutdown).
        String single = admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "skip_os_morphing": true,
                 "destination_environment": {"instance_name": "vm1-single"}}}""".formatted(origin, target)).expect(200).json().at("/migration/id").asText();
        JsonNode singleDone = admin.awaitMigration(single);
        assertThat(singleDone.get("replication_count").asInt()).isEqualTo(1);
        assertThat(singleDone.get("tasks")).extracting(t -> t.get("task_type").asText()).containsOnlyOnce("REPLICATE_DISKS");

        String base = "\"origin_endpoint_id\": \"" + origin + "\", \"destination_endpoint_id\": \"" + target + "\", \"instances\": [\"vm1\"]";
        assertThat(badRequest("/migrations", "{\"migration\": {" + base + ", \"replication_count\": 0}}"))
                .contains("replication_count").contains("less than the minimum of 1");
        assertThat(badRequest("/migrations", "{\"migration\": {" + base + ", \"replication_count\": 11}}"))
                .contains("replication_count").contains("greater than the maximum of 10");
        assertThat(badRequest("/migrations", "{\"migration\": {" + base + ", \"replication_count\": \"many\"}}"))
                .contains("replication_count").contains("not of type 'integer'");
        assertThat(badRequest("/migrations", "{\"migration\": {" + base + ", \"user_scripts\": {\"global\": {\"solaris\": \"x\"}}}}"))
                .isEqualTo("user_scripts.global has an unknown OS type 'solaris'; expected linux or windows");
        assertThat(badRequest("/migrations", "{\"migration\": {" + base + ", \"user_scripts\": {\"instances\": {\"vm9\": \"x\"}}}}"))
                .isEqualTo("user_scripts.instances names 'vm9', which is not one of the instances (vm1)");
        assertThat(badRequest("/replicas", "{\"replica\": {" + base + ", \"user_scripts\": {\"global\": {\"linux\": 5}}}}"))
                .isEqualTo("user_scripts.global.linux must be the script's text (a string) or null");
        // The newer Coriolis form (a list of phases and payloads) is not the one served.
        assertThat(badRequest("/replicas", "{\"replica\": {" + base + ", \"user_scripts\": {\"global\": {\"linux\": "
                + "[{\"phase\": \"osmorphing_post_os_mount\", \"payload\": \"true\"}]}}}}"))
                .isEqualTo("user_scripts.global.linux must be the script's text (a string) or null");
        assertThat(badRequest("/replicas", "{\"replica\": {" + base + ", \"user_scripts\": [\"x\"]}}"))
                .contains("user_scripts must be an object");
        assertThat(badRequest("/replicas", "{\"replica\": {" + base + ", \"instance_osmorphing_minion_pool_mappings\": {\"vm9\": \""
                + destinationPool + "\"}}}")).contains("names 'vm9', which is not one of the instances");
        assertThat(badRequest("/replicas", "{\"replica\": {" + base + ", \"instance_osmorphing_minion_pool_mappings\": {\"vm1\": \"nope\"}}}"))
                .isEqualTo("Minion pool nope could not be found");
        assertThat(badRequest("/replicas", "{\"replica\": {" + base + ", \"instance_osmorphing_minion_pool_mappings\": {\"vm1\": \""
                + sourcePool + "\"}}}")).contains("is not a destination pool of endpoint " + target);

        // A replica stores them; an update merges (a null removes one); replicas have no replication_count.
        JsonNode replica = admin.post("/replicas", "{\"replica\": {" + base + ", \"user_scripts\": " + scripts
                + ", \"instance_osmorphing_minion_pool_mappings\": {\"vm1\": \"" + destinationPool + "\"}}}").expect(200).json().get("replica");
        String replicaId = replica.get("id").asText();
        assertThat(replica.has("replication_count")).isFalse();
        JsonNode updated = admin.put("/replicas/" + replicaId, """
                {"replica": {"user_scripts": {"global": {"windows": null}, "instances": {"vm1": "echo own"}},
                 "instance_osmorphing_minion_pool_mappings": {"vm1": null}}}""").expect(200).json().get("replica");
        assertThat(updated.get("user_scripts").toString())
                .isEqualTo("{\"global\":{\"linux\":\"#!/bin/sh\\ntouch $1/migrated\\n\"},\"instances\":{\"vm1\":\"echo own\"}}");
        assertThat(updated.get("instance_osmorphing_minion_pool_mappings").isEmpty()).isTrue();
        assertThat(admin.put("/replicas/" + replicaId, "{\"replica\": {\"user_scripts\": {\"global\": {\"beos\": \"x\"}}}}").expect(400)
                .json().at("/badRequest/message").asText()).contains("unknown OS type 'beos'");
        // Its minion pools change too: an ID sets, null removes, a wrong pool changes nothing of the update.
        assertThat(admin.put("/replicas/" + replicaId, "{\"replica\": {\"destination_minion_pool_id\": \"" + destinationPool + "\"}}")
                .expect(200).json().at("/replica/destination_minion_pool_id").asText()).isEqualTo(destinationPool);
        assertThat(admin.put("/replicas/" + replicaId, "{\"replica\": {\"notes\": \"changed\", \"origin_minion_pool_id\": \""
                + destinationPool + "\"}}").expect(400).json().at("/badRequest/message").asText())
                .isEqualTo("Minion pool " + destinationPool + " is not a source pool of endpoint " + origin);
        JsonNode unchanged = admin.get("/replicas/" + replicaId).expect(200).json().get("replica");
        assertThat(unchanged.get("notes").isNull()).isTrue();
        assertThat(unchanged.get("origin_minion_pool_id").isNull()).isTrue();
        assertThat(admin.put("/replicas/" + replicaId, "{\"replica\": {\"destination_minion_pool_id\": null}}")
                .expect(200).json().at("/replica/destination_minion_pool_id").isNull()).isTrue();
        MigrationClient.assertCompleted(admin.awaitExecution(replicaId, admin.execute(replicaId)));
        JsonNode deployment = admin.post("/migrations", """
                {"migration": {"replica_id": "%s", "skip_os_morphing": true, "destination_environment": {"instance_name": "vm1-deployed"}}}
                """.formatted(replicaId)).expect(200).json().get("migration");
        assertThat(deployment.get("user_scripts")).isEqualTo(updated.get("user_scripts"));
        MigrationClient.assertCompleted(admin.awaitMigration(deployment.get("id").asText()));
    }

    private static String badRequest(String path, String body) {
        return admin.post(path, body).expect(400).json().at("/badRequest/message").asText();
    }

    @Test
    void badInputAnswersInCoriolisShape() {
        JsonNode notFound = admin.get("/replicas/nope").expect(404).json();
        assertThat(notFound.at("/itemNotFound/message").asText()).contains("nope");
        admin.post("/replicas", "{\"replica\": {\"origin_endpoint_id\": \"a\"}}").expect(400).json().get("badRequest");
        String origin = admin.qemuHostEndpoint("src", source);
        admin.post("/replicas", "{\"replica\": {\"origin_endpoint_id\": \"" + origin + "\", \"destination_endpoint_id\": \"" + origin
                + "\", \"instances\": []}}").expect(400);
        admin.post("/replicas", "{\"replica\": {\"origin_endpoint_id\": \"" + origin + "\", \"destination_endpoint_id\": \"" + origin
                + "\", \"instances\": [\"vm1\"], \"destination_environment\": {\"disk_format\": \"vmdk\"}}}").expect(400);
        admin.post("/endpoints", "not json").expect(400);
        admin.post("/migrations/x/actions", "{\"cancel\": null}").expect(404);
    }
}
