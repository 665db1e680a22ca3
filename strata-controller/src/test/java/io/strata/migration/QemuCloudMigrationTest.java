package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import io.strata.testing.TestGuest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two {@code strata up --driver qemu} clouds on loopback: a running real guest (the test guest,
 * direct kernel boot) migrates from one to the other with the {@code strata} provider; on the
 * destination it boots, with the same disk content (compared through both clouds' snapshots)
 * and the same user data (read inside the guest through its agent).
 */
class QemuCloudMigrationTest {
    private static final Duration BOOT = Duration.ofSeconds(180);
    private static final String USER_DATA = "hello from the source cloud\n";
    private static TestCloud east;
    private static TestCloud west;

    @BeforeAll
    static void start() {
        east = TestCloud.start(TestDatabases.Kind.H2, config -> config.withDriver("qemu").withAccel("tcg"));
        west = TestCloud.start(TestDatabases.Kind.H2, config -> config.withDriver("qemu").withAccel("tcg"));
    }

    /** Guests outlive their controller by design: delete every server before closing the clouds. */
    @AfterAll
    static void stop() {
        for (TestCloud cloud : new TestCloud[] {east, west}) {
            if (cloud == null) {
                continue;
            }
            try {
                ApiClient admin = cloud.admin();
                for (JsonNode server : admin.get("/compute/v2.1/servers?all_tenants=1").expect(200).json().get("servers")) {
                    Servers.deleteAndWait(admin, server.get("id").asText());
                }
            } finally {
                cloud.close();
            }
        }
    }

    @Test
    void aRunningGuestMovesAndBootsOnTheOtherCloud() throws Exception {
        ApiClient eastAdmin = east.admin();
        ApiClient westAdmin = west.admin();
        String image = TestGuest.register(eastAdmin, "guest");
        String source = Servers.create(eastAdmin, "web", image, "1",
                "\"user_data\": \"" + Base64.getEncoder().encodeToString(USER_DATA.getBytes(StandardCharsets.UTF_8)) + "\"");
        Servers.waitFor(eastAdmin, source, "ACTIVE", BOOT);
        awaitConsole(eastAdmin, source, TestGuest.READY);

        MigrationClient migration = new MigrationClient(eastAdmin);
        String origin = endpoint(migration, "east", east);
        String destination = endpoint(migration, "west", west);
        String id = migration.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["web"], "shutdown_instances": true,
                 "skip_os_morphing": true}}
                """.formatted(origin, destination)).expect(200).json().at("/migration/id").asText();
        JsonNode done = migration.awaitMigration(id);
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(Servers.show(eastAdmin, source).get("status").asText()).isEqualTo("SHUTOFF");

        String moved = done.at("/transfer_result/web/instance_id").asText();
        Servers.waitFor(westAdmin, moved, "ACTIVE", BOOT);
        awaitConsole(westAdmin, moved, TestGuest.READY);
        try (GuestAgentClient guest = GuestAgentClient.connect(west.dataDir().resolve("qemu").resolve(moved).resolve("qga.sock"),
                Duration.ofSeconds(60))) {
            assertThat(guest.shell("cat /run/user_data")).isEqualTo(USER_DATA);
        }

        // The disk the destination booted is the source's disk: the deployed image against a snapshot of the stopped source.
        Path deployed = download(westAdmin, done.at("/transfer_result/web/image_id").asText());
        Path original = download(eastAdmin, snapshot(eastAdmin, source));
        assertThat(sha256(raw(deployed))).isEqualTo(sha256(raw(original)));
    }

    @Test
    void aReplicaFollowsWritesInsideTheGuestAndDeploys() throws Exception {
        ApiClient eastAdmin = east.admin();
        ApiClient westAdmin = west.admin();
        String image = TestGuest.register(eastAdmin, "guest-r");
        String source = Servers.create(eastAdmin, "db", image, "1", null);
        Servers.waitFor(eastAdmin, source, "ACTIVE", BOOT);
        awaitConsole(eastAdmin, source, TestGuest.READY);

        MigrationClient migration = new MigrationClient(eastAdmin);
        String replica = migration.replica(endpoint(migration, "east-r", east), endpoint(migration, "west-r", west), "db");
        MigrationClient.assertCompleted(migration.awaitExecution(replica, migration.execute(replica)));

        // The guest writes 128 KiB into its own disk; the next execution sends only what changed.
        try (GuestAgentClient guest = guestAgent(east, source)) {
            guest.shell("dd if=/dev/urandom of=/dev/vda bs=64k count=2 seek=40 conv=fsync 2>/dev/null; sync; echo done");
        }
        MigrationClient.assertCompleted(migration.awaitExecution(replica, migration.execute(replica)));
        JsonNode stats = migration.get("/replicas/" + replica).expect(200).json().at("/replica/info/db/replication_stats");
        JsonNode root = stats.get(0);
        assertThat(root.get("disk_id").asText()).isEqualTo("root");
        assertThat(root.get("incremental").asBoolean()).isTrue();
        assertThat(root.get("blocks_sent").asInt()).isBetween(2, 4);
        assertThat(stats.get(1).get("blocks_sent").asInt()).as("the kernel did not change").isZero();

        String deploy = migration.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica
                + "\", \"skip_os_morphing\": true, \"destination_environment\": {\"instance_name\": \"db-copy\"}}}").expect(200).json().at("/migration/id").asText();
        JsonNode deployed = migration.awaitMigration(deploy);
        assertThat(deployed.get("status").asText()).as(deployed.toPrettyString()).isEqualTo("COMPLETED");
        String copy = deployed.at("/transfer_result/db/instance_id").asText();
        Servers.waitFor(westAdmin, copy, "ACTIVE", BOOT);
        awaitConsole(westAdmin, copy, TestGuest.READY);
        try (GuestAgentClient guest = guestAgent(west, copy); GuestAgentClient original = guestAgent(east, source)) {
            String read = "dd if=/dev/vda bs=64k count=2 skip=40 2>/dev/null | md5sum";
            assertThat(guest.shell(read)).isEqualTo(original.shell(read));
        }
    }

    private static GuestAgentClient guestAgent(TestCloud cloud, String server) {
        return GuestAgentClient.connect(cloud.dataDir().resolve("qemu").resolve(server).resolve("qga.sock"), Duration.ofSeconds(60));
    }

    private static String endpoint(MigrationClient migration, String name, TestCloud cloud) {
        return migration.post("/endpoints", """
                {"endpoint": {"name": "%s", "type": "strata", "connection_info": {"auth_url": "%s/identity/v3", "username": "admin",
                 "password": "%s", "project_name": "admin"}}}
                """.formatted(name, cloud.baseUrl(), TestCloud.ADMIN_PASSWORD)).expect(200).json().at("/endpoint/id").asText();
    }

    private static void awaitConsole(ApiClient client, String id, String text) {
        await().atMost(BOOT).pollInterval(Duration.ofMillis(500)).until(() -> client.post("/compute/v2.1/servers/" + id + "/action",
                "{\"os-getConsoleOutput\": {}}").expect(200).json().get("output").asText().contains(text));
    }

    /** An image's data, streamed to a file (images are too big for memory). */
    private static Path download(ApiClient client, String imageId) throws Exception {
        Path file = Files.createTempFile("img-", ".img");
        java.net.http.HttpResponse<Path> response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(client.baseUrl() + "/image/v2/images/" + imageId + "/file")).header("X-Auth-Token", client.token()).build(),
                java.net.http.HttpResponse.BodyHandlers.ofFile(file));
        assertThat(response.statusCode()).isEqualTo(200);
        return file;
    }

    private static String snapshot(ApiClient client, String serverId) {
        client.post("/compute/v2.1/servers/" + serverId + "/action", "{\"createImage\": {\"name\": \"probe\"}}").expect(202);
        String imageId = await().atMost(Duration.ofSeconds(120)).until(() -> {
            for (JsonNode image : client.get("/image/v2/images?name=probe").expect(200).json().get("images")) {
                if (image.get("status").asText().equals("active")) {
                    return image.get("id").asText();
                }
            }
            return null;
        }, found -> found != null);
        return imageId;
    }

    /** The disk content as raw bytes, whatever the image format. */
    private static Path raw(Path file) throws Exception {
        Path raw = Files.createTempFile("img-", ".raw");
        Process convert = new ProcessBuilder("qemu-img", "convert", "-O", "raw", file.toString(), raw.toString()).start();
        assertThat(convert.waitFor()).isZero();
        Files.delete(file);
        return raw;
    }

    private static String sha256(Path file) throws Exception {
        try {
            return HostDirs.checksum(file, Files.size(file));
        } finally {
            Files.delete(file);
        }
    }
}
