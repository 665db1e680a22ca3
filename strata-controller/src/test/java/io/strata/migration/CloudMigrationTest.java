package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two Strata clouds on loopback (fake driver): the first one's migration service moves a server
 * to the second through both clouds' public APIs with the {@code strata} provider — a direct
 * migration, and a replica executed twice and deployed — and a failed deployment leaves nothing
 * behind on the destination.
 */
class CloudMigrationTest {
    private static final String USER_DATA = "#cloud-config\nhostname: web\n";
    private static TestCloud east;
    private static TestCloud west;
    private static ApiClient eastAdmin;
    private static ApiClient westAdmin;
    private static MigrationClient migration;
    private static String origin;
    private static String destination;

    @BeforeAll
    static void start() {
        east = TestCloud.start();
        west = TestCloud.start();
        eastAdmin = east.admin();
        westAdmin = west.admin();
        migration = new MigrationClient(eastAdmin);
        origin = endpoint("east", east);
        destination = endpoint("west", west);
    }

    @AfterAll
    static void stop() {
        east.close();
        west.close();
    }

    private static String endpoint(String name, TestCloud cloud) {
        return migration.post("/endpoints", """
                {"endpoint": {"name": "%s", "type": "strata", "connection_info": {"auth_url": "%s/identity/v3", "username": "admin",
                 "password": "%s", "project_name": "admin", "user_domain_name": "Default", "project_domain_name": "Default"}}}
                """.formatted(name, cloud.baseUrl(), TestCloud.ADMIN_PASSWORD)).expect(200).json().at("/endpoint/id").asText();
    }

    private static String sourceServer(String name) {
        String image = Servers.uploadImage(eastAdmin, name + "-image");
        String flavor = eastAdmin.get("/compute/v2.1/flavors").expect(200).json().at("/flavors/0/id").asText();
        String id = Servers.create(eastAdmin, name, image, flavor, "\"user_data\": \""
                + Base64.getEncoder().encodeToString(USER_DATA.getBytes(StandardCharsets.UTF_8)) + "\"");
        Servers.waitFor(eastAdmin, id, "ACTIVE");
        return id;
    }

    /** The disk of a server as its cloud snapshots it. */
    private static byte[] snapshot(ApiClient client, String serverId) {
        client.post("/compute/v2.1/servers/" + serverId + "/action", "{\"createImage\": {\"name\": \"probe\"}}").expect(202);
        String imageId = org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
            for (JsonNode image : client.get("/image/v2/images?name=probe").expect(200).json().get("images")) {
                if (image.get("status").asText().equals("active")) {
                    return image.get("id").asText();
                }
            }
            return null;
        }, id -> id != null);
        byte[] data = client.get("/image/v2/images/" + imageId + "/file").expect(200).body();
        client.delete("/image/v2/images/" + imageId).expect(204);
        return data;
    }

    /**
     * The deployed image (qcow2) holds the source disk: the same bytes, then zeros up to the
     * 512-byte sector its virtual size was rounded to.
     */
    private static void assertDiskEquals(String westImage, byte[] sourceDisk) throws Exception {
        java.nio.file.Path qcow2 = java.nio.file.Files.createTempFile("deployed-", ".qcow2");
        java.nio.file.Path raw = java.nio.file.Files.createTempFile("deployed-", ".raw");
        try {
            java.nio.file.Files.write(qcow2, westAdmin.get("/image/v2/images/" + westImage + "/file").expect(200).body());
            Process convert = new ProcessBuilder("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), raw.toString()).start();
            assertThat(convert.waitFor()).isZero();
            byte[] copied = java.nio.file.Files.readAllBytes(raw);
            assertThat(java.util.Arrays.copyOf(copied, sourceDisk.length)).isEqualTo(sourceDisk);
            assertThat(java.util.Arrays.copyOfRange(copied, sourceDisk.length, copied.length)).containsOnly((byte) 0);
            assertThat(copied.length).isLessThan(sourceDisk.length + 512);
        } finally {
            java.nio.file.Files.delete(qcow2);
            java.nio.file.Files.delete(raw);
        }
    }

    private static JsonNode westServer(String name) {
        JsonNode servers = westAdmin.withHeader("OpenStack-API-Version", "compute 2.3").get("/compute/v2.1/servers/detail?name=" + name)
                .expect(200).json().get("servers");
        assertThat(servers).hasSize(1);
        return servers.get(0);
    }

    @Test
    void endpointsSeeTheOtherCloud() {
        assertThat(migration.post("/endpoints/" + destination + "/actions", "{\"validate-connection\": null}").expect(200).json()
                .at("/validate-connection/valid").asBoolean()).isTrue();
        String wrong = migration.post("/endpoints", """
                {"endpoint": {"name": "bad", "type": "openstack", "connection_info": {"auth_url": "%s/identity/v3", "username": "admin",
                 "password": "wrong", "project_name": "admin"}}}""".formatted(west.baseUrl())).expect(200).json().at("/endpoint/id").asText();
        JsonNode invalid = migration.post("/endpoints/" + wrong + "/actions", "{\"validate-connection\": null}").expect(200).json();
        assertThat(invalid.at("/validate-connection/valid").asBoolean()).isFalse();
        assertThat(invalid.at("/validate-connection/message").asText()).contains("refused the credentials");

        // The openstack provider, with good credentials, reaches the same cloud through its APIs.
        String openstack = migration.post("/endpoints", """
                {"endpoint": {"name": "west-os", "type": "openstack", "connection_info": {"auth_url": "%s/identity/v3", "username": "admin",
                 "password": "%s", "project_name": "admin"}}}""".formatted(west.baseUrl(), TestCloud.ADMIN_PASSWORD)).expect(200).json()
                .at("/endpoint/id").asText();
        assertThat(migration.post("/endpoints/" + openstack + "/actions", "{\"validate-connection\": null}").expect(200).json()
                .at("/validate-connection/valid").asBoolean()).isTrue();
        assertThat(migration.get("/endpoints/" + openstack + "/instances").expect(200).json().get("instances")).isNotNull();
        assertThat(migration.get("/endpoints/" + openstack + "/storage").expect(200).json().at("/storage/storage_backends")).isEmpty();
        // Its networks: the other cloud's, through its Networking API.
        assertThat(migration.get("/endpoints/" + openstack + "/networks").expect(200).json().at("/networks/0/id").asText())
                .isEqualTo(westAdmin.get("/network/v2.0/networks?name=default").expect(200).json().at("/networks/0/id").asText());
        // Its destination options: the flavors of that cloud.
        JsonNode flavors = migration.get("/endpoints/" + openstack + "/destination-options").expect(200).json().at("/destination_options/0");
        assertThat(flavors.get("name").asText()).isEqualTo("flavor_name");
        java.util.List<String> westFlavors = new java.util.ArrayList<>();
        westAdmin.get("/compute/v2.1/flavors").expect(200).json().get("flavors").forEach(f -> westFlavors.add(f.get("name").asText()));
        assertThat(westFlavors).isNotEmpty();
        assertThat(flavors.get("values")).extracting(JsonNode::asText).containsExactlyInAnyOrderElementsOf(westFlavors);
        migration.delete("/endpoints/" + openstack).expect(204);
    }

    @Test
    void migrationBootsTheServerOnTheOtherCloud() throws Exception {
        String source = sourceServer("web");
        assertThat(migration.get("/endpoints/" + origin + "/instances").expect(200).json().get("instances"))
                .anySatisfy(i -> assertThat(i.get("name").asText()).isEqualTo("web"));
        // The destination's networks, as its Networking API lists them, through the endpoint.
        JsonNode westNetwork = westAdmin.get("/network/v2.0/networks").expect(200).json().at("/networks/0");
        JsonNode listed = migration.get("/endpoints/" + destination + "/networks").expect(200).json().get("networks");
        assertThat(listed).hasSize(1);
        assertThat(listed.at("/0/id").asText()).isEqualTo(westNetwork.get("id").asText());
        assertThat(listed.at("/0/name").asText()).isEqualTo("default");
        // A map value that names no destination network is refused at creation.
        assertThat(migration.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["web"],
                 "skip_os_morphing": true, "network_map": {"default": "3f1b6a0e-8a53-4bde-9d0f-1d2f6f0b9c11"}}}
                """.formatted(origin, destination)).expect(400).json().at("/badRequest/message").asText())
                .contains("'3f1b6a0e-8a53-4bde-9d0f-1d2f6f0b9c11'").contains("default (" + westNetwork.get("id").asText() + ")");
        westAdmin.post("/compute/v2.1/os-security-groups", "{\"security_group\": {\"name\": \"web-tier\", \"description\": \"t\"}}")
                .expect(200);
        String id = migration.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["web"], "shutdown_instances": true,
                 "skip_os_morphing": true, "network_map": {"default": {"id": "%s", "security_groups": ["web-tier"]}}}}
                """.formatted(origin, destination, westNetwork.get("id").asText())).expect(200).json().at("/migration/id").asText();
        JsonNode done = migration.awaitMigration(id);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");

        assertThat(Servers.show(eastAdmin, source).get("status").asText()).isEqualTo("SHUTOFF");
        JsonNode moved = westServer("web");
        assertThat(moved.get("status").asText()).isEqualTo("ACTIVE");
        // On the mapped network: its addresses are keyed by that network's name.
        assertThat(moved.at("/addresses/default/0/addr").asText()).startsWith("10.0.");
        assertThat(moved.get("security_groups")).extracting(g -> g.get("name").asText()).containsExactly("web-tier");
        JsonNode nic = done.at("/info/web/export_info/devices/nics/0");
        assertThat(nic.get("network_name").asText()).as(done.toPrettyString()).isEqualTo("default");
        assertThat(nic.get("network_id").asText()).isEqualTo(eastAdmin.get("/network/v2.0/networks").expect(200).json().at("/networks/0/id").asText());
        assertThat(new String(Base64.getDecoder().decode(moved.get("OS-EXT-SRV-ATTR:user_data").asText()), StandardCharsets.UTF_8))
                .isEqualTo(USER_DATA);
        assertDiskEquals(done.at("/transfer_result/web/image_id").asText(), snapshot(eastAdmin, source));
    }

    @Test
    void replicaExecutesTwiceAndDeploys() throws Exception {
        String source = sourceServer("db");
        String replica = migration.replica(origin, destination, "db");
        MigrationClient.assertCompleted(migration.awaitExecution(replica, migration.execute(replica)));
        JsonNode second = migration.awaitExecution(replica, migration.execute(replica));
        MigrationClient.assertCompleted(second);
        JsonNode stats = migration.get("/replicas/" + replica).expect(200).json().at("/replica/info/db/replication_stats/0");
        assertThat(stats.get("incremental").asBoolean()).isTrue();
        assertThat(stats.get("blocks_sent").asInt()).isZero();

        String deploy = migration.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica
                + "\", \"skip_os_morphing\": true, \"destination_environment\": {\"instance_name\": \"db-copy\"}}}").expect(200).json().at("/migration/id").asText();
        JsonNode deployed = migration.awaitMigration(deploy);
        assertThat(deployed.get("status").asText()).as(deployed.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(westServer("db-copy").get("status").asText()).isEqualTo("ACTIVE");
        assertDiskEquals(deployed.at("/transfer_result/db/image_id").asText(), snapshot(eastAdmin, source));

        // A deployment that cannot finish (no such flavor) removes the image it uploaded.
        String failing = migration.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica
                + "\", \"skip_os_morphing\": true, \"destination_environment\": {\"instance_name\": \"db-fail\", \"flavor_name\": \"no-such-flavor\"}}}").expect(200)
                .json().at("/migration/id").asText();
        JsonNode failed = migration.awaitMigration(failing);
        assertThat(failed.get("status").asText()).isEqualTo("ERROR");
        assertThat(failed.at("/tasks/1/exception_details").asText()).contains("no-such-flavor");
        assertThat(westAdmin.get("/image/v2/images?name=db-fail-" + failing).expect(200).json().get("images")).isEmpty();
        assertThat(westAdmin.get("/compute/v2.1/servers?name=db-fail").expect(200).json().get("servers")).isEmpty();

        // A NIC the network map leaves out fails the deployment before anything is made on the destination.
        migration.put("/replicas/" + replica, "{\"replica\": {\"network_map\": {\"elsewhere\": \"default\"}}}").expect(200);
        migration.put("/replicas/" + replica, "{\"replica\": {\"network_map\": {\"default\": \"nowhere\"}}}").expect(400);
        String unmapped = migration.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica
                + "\", \"skip_os_morphing\": true, \"destination_environment\": {\"instance_name\": \"db-unmapped\"}}}").expect(200)
                .json().at("/migration/id").asText();
        JsonNode unmappedDone = migration.awaitMigration(unmapped);
        assertThat(unmappedDone.get("status").asText()).isEqualTo("ERROR");
        assertThat(unmappedDone.get("tasks").toString()).contains("network_map has no destination for the source network default");
        assertThat(westAdmin.get("/image/v2/images?name=db-unmapped-" + unmapped).expect(200).json().get("images")).isEmpty();
        assertThat(westAdmin.get("/compute/v2.1/servers?name=db-unmapped").expect(200).json().get("servers")).isEmpty();
    }
}
