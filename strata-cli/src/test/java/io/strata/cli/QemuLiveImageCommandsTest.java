package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import io.strata.testing.TestGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Cobalt's documented flow through {@code bin/strata}'s commands on real guests (QEMU, TCG):
 * create a server, bless it, start two clones, list them, delete them, delete the original, delete
 * the live image; inside each clone the blessed guest's counter goes on and the params and user
 * data given on the command line have arrived, with the clone's own metadata (its id, its keypair).
 */
class QemuLiveImageCommandsTest {
    private static final Duration BOOT = Duration.ofSeconds(120);

    @Test
    void theCobaltFlowThroughTheCliOnRealGuests() throws Exception {
        TestCloud cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withDriver("qemu").withAccel("tcg"));
        Path work = Files.createTempDirectory("live-image-cli");
        try {
            ApiClient api = cloud.admin();
            TestGuest.register(api, "guest");
            StrataCli admin = StrataCli.admin(cloud);
            String publicKey = api.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"cli-key\"}}").expect(200).json()
                    .at("/keypair/public_key").asText().strip();
            admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "guest", "--wait", "--wait-timeout", "120", "origin");
            String origin = admin.value("server", "show", "origin", "-c", "id");
            await().atMost(BOOT).until(() -> TestGuest.lastCounter(Servers.console(api, origin)) >= 3);

            String live = admin.value("live-image", "create", "origin", "--name", "origin-live", "--wait", "--wait-timeout", "120",
                    "-c", "id");
            assertThat(admin.value("server", "show", live, "-c", "status")).isEqualTo("BLESSED");
            int atBless = TestGuest.lastCounter(Servers.console(api, origin));

            Path userData = work.resolve("user-data");
            Files.writeString(userData, "from the command line\n");
            List<String> clones = admin.ok("live-image", "start", "origin-live", "--name", "cli-worker", "--num-instances", "2",
                    "--user_data", userData.toString(), "--params", "role=worker", "--params", "zone=a=b", "--key-name", "cli-key", "--wait", "--wait-timeout",
                    "120", "-f", "value", "-c", "ID").lines();
            assertThat(clones).hasSize(2).doesNotHaveDuplicates();
            assertThat(admin.value("live-image", "servers", "origin-live", "-c", "ID").lines().toList())
                    .containsExactlyInAnyOrderElementsOf(clones);

            for (String clone : clones) {
                Path socket = cloud.dataDir().resolve("qemu").resolve(clone).resolve("qga.sock");
                TestGuest.awaitPersonalised(socket, clone, BOOT);
                try (GuestAgentClient guest = GuestAgentClient.connect(socket, Duration.ofSeconds(30))) {
                    // The blessed guest's memory went on: its counter did not start over and keeps counting.
                    int counter = Integer.parseInt(guest.shell("cat /run/counter").strip());
                    assertThat(counter).isGreaterThanOrEqualTo(atBless);
                    await().atMost(BOOT).until(() -> Integer.parseInt(guest.shell("cat /run/counter").strip()) > counter);
                    assertThat(guest.shell("cat /run/strata-params")).isEqualTo("role=worker\nzone=a=b\n");
                    assertThat(guest.shell("cat /run/user_data")).isEqualTo("from the command line\n");
                    assertThat(guest.shell("hostname").strip()).isEqualTo("cli-worker");
                    // The keypair named by --key-name is in the clone's own metadata.
                    assertThat(guest.shell("cat /run/meta_data.json")).contains(publicKey);
                }
                assertThat(Servers.console(api, clone)).doesNotContain(TestGuest.READY);
            }

            admin.run("live-image", "delete", "origin-live").failsWith(1, "still has launched instances");
            List<String> delete = new ArrayList<>(List.of("server", "delete", "--wait"));
            delete.addAll(clones);
            admin.ok(delete.toArray(String[]::new));
            assertThat(admin.value("live-image", "servers", "origin-live", "-c", "ID")).isEmpty();
            admin.ok("server", "delete", "--wait", "origin");
            admin.ok("live-image", "delete", "origin-live");
            assertThat(admin.run("server", "show", live).exit()).isNotZero();
            await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(cloud.dataDir().resolve("live-images").resolve(live)));
        } finally {
            cloud.close();
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
