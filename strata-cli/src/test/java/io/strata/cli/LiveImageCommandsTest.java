package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code strata live-image} and {@code strata co-migrate} with every option name of Cobalt's
 * client, on two simulated hosts whose transitions take a while (so a terminal sees the progress
 * of several clones): each option is checked where the cloud shows it.
 */
class LiveImageCommandsTest {
    @Test
    void everyCobaltOptionReachesTheClones() throws Exception {
        TestCloud cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(2,
                new StrataConfig.FakeHostSpec(16, 65_536, 1_000, Duration.ofMillis(1500))));
        Path work = Files.createTempDirectory("live-image-cli");
        try {
            StrataCli admin = StrataCli.admin(cloud);
            ApiClient api = cloud.admin().withHeader("OpenStack-API-Version", "compute 2.3");
            Path disk = work.resolve("disk.img");
            Files.write(disk, new byte[64 * 1024]);
            admin.ok("image", "create", "--file", disk.toString(), "--disk-format", "raw", "cirros");
            cloud.admin().post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"clone-key\"}}").expect(200);
            cloud.admin().post("/compute/v2.1/os-security-groups", "{\"security_group\": {\"name\": \"web\", \"description\": \"HTTP in\"}}")
                    .expect(200);
            admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "origin");

            // Cobalt's live-image-create takes the name as a positional; --name works too.
            String live = admin.value("live-image", "create", "origin", "gold", "--wait", "-c", "id");
            assertThat(admin.value("server", "show", live, "-c", "status")).isEqualTo("BLESSED");
            assertThat(admin.value("server", "show", live, "-c", "name")).isEqualTo("gold");
            assertThat(admin.value("live-image", "list", "origin", "-c", "ID")).isEqualTo(live);

            String sourceHost = host(api, admin.value("server", "show", "origin", "-c", "id"));
            String otherHost = otherHost(api, sourceHost);
            Path userData = work.resolve("user-data");
            Files.writeString(userData, "#!/bin/sh\necho hello clones\n");
            StrataCli.Run started = admin.onTerminal().ok("live-image", "start", "gold", "--name", "worker", "--target", "256M",
                    "--user_data", userData.toString(), "--security-groups", "web,default", "--availability-zone", "nova:" + otherHost,
                    "--num-instances", "3", "--key-name", "clone-key", "--params", "role=worker", "--params", "shard=1",
                    "--wait", "-f", "value", "-c", "ID");
            List<String> clones = started.lines();
            assertThat(clones).hasSize(3).doesNotHaveDuplicates();
            // One progress line for all of them while they start, then the final line.
            assertThat(started.err()).containsPattern("Starting clones: [0-2]/3 ACTIVE");
            assertThat(started.err()).contains("3 server(s) started from the live image");
            String encoded = Base64.getEncoder().encodeToString(Files.readAllBytes(userData));
            for (String clone : clones) {
                JsonNode server = api.get("/compute/v2.1/servers/" + clone).expect(200).json().get("server");
                assertThat(server.get("status").asText()).isEqualTo("ACTIVE");
                assertThat(server.get("name").asText()).isEqualTo("worker");
                assertThat(server.get("key_name").asText()).isEqualTo("clone-key");
                assertThat(server.get("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(otherHost);
                assertThat(server.get("OS-EXT-SRV-ATTR:user_data").asText()).isEqualTo(encoded);
                assertThat(server.at("/metadata/launched_from").asText()).isEqualTo(live);
                assertThat(server.at("/metadata/target_memory_mb").asText()).isEqualTo("256");
                List<String> groups = new ArrayList<>();
                server.get("security_groups").forEach(g -> groups.add(g.get("name").asText()));
                assertThat(groups).containsExactlyInAnyOrder("web", "default");
            }
            assertThat(admin.value("live-image", "servers", "gold", "-c", "ID").lines().toList())
                    .containsExactlyInAnyOrderElementsOf(clones);

            // The form of Cobalt's live-image-start: --live-image, the name as the positional.
            String solo = admin.value("live-image", "start", "--live-image", live, "solo", "--wait", "-c", "ID");
            assertThat(admin.value("server", "show", solo, "-c", "name")).isEqualTo("solo");

            // co-migrate --dest moves a clone to the named host.
            admin.ok("co-migrate", clones.get(0), "--dest", sourceHost, "--wait");
            assertThat(host(api, clones.get(0))).isEqualTo(sourceHost);

            admin.run("live-image", "delete", "gold").failsWith(1, "still has launched instances");
            admin.run("live-image", "start", "origin").failsWith(1, "not a live image");
            admin.run("live-image", "start", "gold", "--security-groups", "no-such-group").failsWith(1, "no-such-group");

            List<String> delete = new ArrayList<>(List.of("server", "delete", "--wait", solo));
            delete.addAll(clones);
            admin.ok(delete.toArray(String[]::new));
            assertThat(admin.value("live-image", "servers", "gold", "-c", "ID")).isEmpty();
            admin.ok("server", "delete", "--wait", "origin");
            assertThat(admin.value("server", "show", live, "-c", "status")).isEqualTo("BLESSED");
            admin.ok("live-image", "delete", "gold");
            assertThat(admin.run("server", "show", live).exit()).isNotZero();
        } finally {
            cloud.close();
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static String host(ApiClient admin, String id) {
        return admin.get("/compute/v2.1/servers/" + id).expect(200).json().at("/server/OS-EXT-SRV-ATTR:host").asText();
    }

    static String otherHost(ApiClient admin, String host) {
        for (JsonNode h : admin.get("/compute/v2.1/os-hypervisors").expect(200).json().get("hypervisors")) {
            if (!h.get("hypervisor_hostname").asText().equals(host)) {
                return h.get("hypervisor_hostname").asText();
            }
        }
        throw new AssertionError("only one host");
    }
}
