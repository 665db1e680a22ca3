package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.api.Json;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A cold move interrupted by a controller stop is finished or undone at the next start: the
 * server ends ACTIVE on its source or VERIFY_RESIZE on its destination, never lost and never
 * running twice. Each simulated hypervisor action takes 10 s, twice the 5 s a stopping
 * controller waits for its tasks, so the stop lands in the middle of the step the test picks.
 */
class ColdMoveRecoveryTest {
    private static final Duration ACTION = Duration.ofSeconds(10);

    @Test
    void aMoveInterruptedWhilePoweringOffIsUndone() {
        TestCloud cloud = start();
        try {
            ApiClient admin = cloud.admin();
            String id = activeServer(admin);
            String source = Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
            Servers.action(admin, id, "{\"resize\": {\"flavorRef\": \"2\"}}");
            awaitTask(admin, id, "resize_migrating");

            cloud = cloud.restart();
            admin = cloud.admin();
            JsonNode server = Servers.waitFor(admin, id, "ACTIVE", Duration.ofSeconds(40));
            assertThat(server.get("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(source);
            assertThat(server.at("/flavor/id").asText()).isEqualTo("1");
            assertThat(server.get("OS-EXT-STS:power_state").asInt()).isEqualTo(1);
            assertThat(vmsOf(cloud, id)).containsExactly(source + ":RUNNING");
            assertThat(migration(admin, id).get("status").asText()).isEqualTo("error");
        } finally {
            cloud.close();
        }
    }

    @Test
    void aMoveInterruptedWhileTheDestinationIsBuiltEndsOnOneSideOnly() {
        TestCloud cloud = start();
        try {
            ApiClient admin = cloud.admin();
            String id = activeServer(admin);
            String source = Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
            admin.post("/compute/v2.1/servers/" + id + "/action", "{\"migrate\": null}").expect(202);
            awaitTask(admin, id, "resize_finish");

            cloud = cloud.restart();
            ApiClient after = cloud.admin();
            Awaitility.await().atMost(Duration.ofSeconds(40)).until(() -> {
                JsonNode s = Servers.show(after, id);
                return s.get("OS-EXT-STS:task_state").isNull()
                        && List.of("ACTIVE", "VERIFY_RESIZE").contains(s.get("status").asText());
            });
            JsonNode server = Servers.show(after, id);
            String host = server.get("OS-EXT-SRV-ATTR:host").asText();
            if (server.get("status").asText().equals("ACTIVE")) {
                // Undone: back on the source, running, nothing left on the destination.
                assertThat(host).isEqualTo(source);
                assertThat(vmsOf(cloud, id)).containsExactly(source + ":RUNNING");
            } else {
                // Finished: runs on the destination; the source VM is kept powered off until confirmed.
                assertThat(host).isNotEqualTo(source);
                assertThat(vmsOf(cloud, id)).containsExactlyInAnyOrder(host + ":RUNNING", source + ":SHUTDOWN");
                after.post("/compute/v2.1/servers/" + id + "/action", "{\"confirmResize\": null}").expect(204);
                Servers.waitFor(after, id, "ACTIVE", Duration.ofSeconds(40));
                assertThat(vmsOf(cloud, id)).containsExactly(host + ":RUNNING");
            }
        } finally {
            cloud.close();
        }
    }

    @Test
    void aSourceKeptForARevertStillHoldsItsRoomAfterARestart() {
        // Two hosts with room for one m1.tiny each (768 MB usable): while a migrated server waits
        // in VERIFY_RESIZE, its source VM still takes the room on the source host.
        TestCloud cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(2,
                new StrataConfig.FakeHostSpec(4, 512, 100, Duration.ZERO)));
        try {
            ApiClient admin = cloud.admin();
            String image = Servers.uploadImage(admin, "img");
            String first = Servers.create(admin, "first", image, "1", null);
            Servers.waitFor(admin, first, "ACTIVE");
            String source = Servers.show(admin, first).get("OS-EXT-SRV-ATTR:host").asText();
            admin.post("/compute/v2.1/servers/" + first + "/action", "{\"migrate\": null}").expect(202);
            Servers.waitFor(admin, first, "VERIFY_RESIZE");

            cloud = cloud.restart();
            admin = cloud.admin();
            assertThat(Servers.show(admin, first).get("status").asText()).isEqualTo("VERIFY_RESIZE");
            String second = Servers.create(admin, "second", image, "1", null);
            JsonNode refused = Servers.waitFor(admin, second, "ERROR");
            assertThat(refused.at("/fault/message").asText()).contains("No valid host");

            // Reverted, the server is back on its source and the other host has room again.
            admin.post("/compute/v2.1/servers/" + first + "/action", "{\"revertResize\": null}").expect(202);
            Servers.waitFor(admin, first, "ACTIVE");
            assertThat(Servers.show(admin, first).get("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(source);
            String third = Servers.create(admin, "third", image, "1", null);
            assertThat(Servers.waitFor(admin, third, "ACTIVE").get("OS-EXT-SRV-ATTR:host").asText()).isNotEqualTo(source);
        } finally {
            cloud.close();
        }
    }

    private static TestCloud start() {
        return TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(2, new StrataConfig.FakeHostSpec(16, 65_536, 1_000, ACTION)));
    }

    private static String activeServer(ApiClient admin) {
        String image = Servers.uploadImage(admin, "img");
        String id = Servers.create(admin, "mover", image, "1", null);
        Servers.waitFor(admin, id, "ACTIVE", Duration.ofSeconds(40));
        return id;
    }

    private static void awaitTask(ApiClient admin, String id, String task) {
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                .until(() -> task.equals(Servers.show(admin, id).get("OS-EXT-STS:task_state").asText()));
    }

    private static JsonNode migration(ApiClient admin, String id) {
        return admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id).expect(200).json().at("/migrations/0");
    }

    /** "host:POWER_STATE" for each VM of {@code id} the simulated hosts hold (their state files, flushed every second). */
    private static List<String> vmsOf(TestCloud cloud, String id) {
        Path dir = cloud.dataDir().resolve("fake");
        List<String>[] found = new List[1];
        // Let the state files catch up with the last change.
        Awaitility.await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> true);
        try (var files = Files.list(dir)) {
            found[0] = files.flatMap(file -> {
                try {
                    String host = file.getFileName().toString().replace(".json", "");
                    List<String> vms = new java.util.ArrayList<>();
                    for (JsonNode vm : Json.MAPPER.readTree(file.toFile())) {
                        if (vm.get("id").asText().equals(id)) {
                            vms.add(host + ":" + vm.get("powerState").asText());
                        }
                    }
                    return vms.stream();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return found[0];
    }
}
