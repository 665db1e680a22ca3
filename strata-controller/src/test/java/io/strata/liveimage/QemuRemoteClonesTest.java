package io.strata.liveimage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.testing.ApiClient;
import io.strata.testing.RemoteQemuAgents;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import io.strata.testing.TestGuest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clones on a remote agent that shares no storage with the host that blessed the live image: a
 * real controller with its own QEMU host (the all-in-one's) and two real agent servers (QEMU
 * driver, each with its own data directory). The clones' host copies the image from the blessing
 * host's agent (whether it is another agent or the controller's own host), or from the controller
 * when the controller's own host blessed it, once for all clones, and
 * they resume the blessed guest's memory there with their own identity; discarding the image
 * removes the copy.
 */
class QemuRemoteClonesTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static RemoteQemuAgents hosts;
    private static ApiClient admin;
    private static Path dirA;
    private static Path dirB;
    private static String image;
    private static TestCloud cloud;

    @BeforeAll
    static void start() throws Exception {
        hosts = RemoteQemuAgents.start("remote-a", "remote-b");
        cloud = hosts.cloud();
        admin = hosts.admin();
        dirA = hosts.dir(0);
        dirB = hosts.dir(1);
        image = hosts.image();
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) {
            hosts.close();
        }
    }

    @Test
    void clonesOfAnotherAgentsImageStartFromACopy() throws Exception {
        clonesStartOnAHostWithoutTheImageFiles("remote-a", dirA, "remote-b", dirB, 2);
    }

    @Test
    void clonesOfAnAgentsImageOnTheControllersOwnHostStartFromACopy() throws Exception {
        clonesStartOnAHostWithoutTheImageFiles("remote-a", dirA, localHost(), cloud.dataDir(), 1);
    }

    @Test
    void clonesOfTheControllersOwnHostsImageStartFromACopy() throws Exception {
        clonesStartOnAHostWithoutTheImageFiles(localHost(), cloud.dataDir(), "remote-b", dirB, 1);
    }

    /** The QEMU host inside the controller process. */
    private static String localHost() {
        String local = null;
        for (JsonNode h : admin.get("/compute/v2.1/os-hypervisors").expect(200).json().get("hypervisors")) {
            if (!h.get("hypervisor_hostname").asText().startsWith("remote-")) {
                local = h.get("hypervisor_hostname").asText();
            }
        }
        assertThat(local).isNotNull();
        return local;
    }

    private void clonesStartOnAHostWithoutTheImageFiles(String sourceHost, Path sourceDir, String targetHost, Path targetDir,
            int clonesWanted) throws Exception {
        String source = Servers.create(admin, "origin", image, "1", "\"availability_zone\": \"nova:" + sourceHost + "\"");
        Servers.waitFor(admin, source, "ACTIVE", BOOT);
        assertThat(host(source)).isEqualTo(sourceHost);
        await().atMost(BOOT).until(() -> lastCounter(console(source)) >= 2);

        String live = action(source, "{\"co_bless\": {}}").expect(200).json().get(0).get("id").asText();
        Servers.waitFor(admin, live, "BLESSED", BOOT);
        int atBless = lastCounter(console(source));
        assertThat(sourceDir.resolve("live-images").resolve(live).resolve("ram")).exists();
        assertThat(targetDir.resolve("live-images").resolve(live)).doesNotExist();

        // Clones at once on the other host: one copy serves all.
        JsonNode launched = action(live, "{\"co_launch\": {\"name\": \"far\", \"num_instances\": " + clonesWanted + ", "
                + "\"availability_zone\": \"nova:" + targetHost + "\", \"guest\": {\"role\": \"far\"}}}").expect(200).json();
        List<String> clones = new ArrayList<>();
        launched.forEach(c -> clones.add(c.get("id").asText()));
        assertThat(clones).hasSize(clonesWanted);
        for (String clone : clones) {
            JsonNode server = Servers.waitFor(admin, clone, "ACTIVE", BOOT);
            assertThat(host(clone)).isEqualTo(targetHost);
            String ip = server.at("/addresses/default/0/addr").asText();
            Path socket = targetDir.resolve("qemu").resolve(clone).resolve("qga.sock");
            TestGuest.awaitPersonalised(socket, clone, BOOT);
            try (GuestAgentClient guest = GuestAgentClient.connect(socket, Duration.ofSeconds(30))) {
                // Memory continued from the bless: the counter did not start again, no boot happened.
                int counter = Integer.parseInt(guest.shell("cat /run/counter").strip());
                assertThat(counter).isGreaterThanOrEqualTo(atBless);
                assertThat(guest.shell("cat /run/strata-params")).isEqualTo("role=far\n");
                assertThat(guest.shell("hostname").strip()).isEqualTo("far");
                assertThat(guest.shell("ip -4 addr show")).contains(ip + "/");
            }
            assertThat(console(clone)).doesNotContain(TestGuest.READY);
        }
        // The clones run from the target host's own copy, boot files included, and nothing half-fetched is left.
        Path copy = targetDir.resolve("live-image-copies").resolve(live);
        assertThat(copy.resolve("ram")).exists();
        assertThat(copy.resolve("boot-kernel")).exists();
        assertThat(sha256(copy.resolve("ram"))).isEqualTo(sha256(sourceDir.resolve("live-images").resolve(live).resolve("ram")));
        assertThat(Files.readString(copy.resolve("live-image.json"))).contains(copy.toString()).doesNotContain(sourceDir.toString());
        try (Stream<Path> entries = Files.list(copy.getParent())) {
            assertThat(entries.map(p -> p.getFileName().toString()).toList()).containsExactly(live);
        }
        for (String clone : clones) {
            assertThat(new String(Files.readAllBytes(targetDir.resolve("qemu").resolve(clone).resolve("vm.json")),
                    StandardCharsets.UTF_8)).doesNotContain(sourceDir.toString());
        }

        for (String clone : clones) {
            Servers.deleteAndWait(admin, clone);
        }
        Servers.deleteAndWait(admin, source);
        action(live, "{\"co_discard\": null}").expect(200);
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(copy) && !Files.exists(sourceDir.resolve("live-images").resolve(live)));
        await().atMost(Duration.ofSeconds(30)).until(() -> qemuProcesses(sourceDir) + qemuProcesses(targetDir) == 0);
    }

    static ApiClient.Response action(String id, String body) {
        return admin.post("/compute/v2.1/servers/" + id + "/action", body);
    }

    static String console(String id) {
        return Servers.console(admin, id);
    }

    static String host(String id) {
        return Servers.host(admin, id);
    }

    static int lastCounter(String log) {
        return TestGuest.lastCounter(log);
    }

    private static String sha256(Path file) throws Exception {
        java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int read; (read = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, read);
            }
        }
        return java.util.HexFormat.of().formatHex(digest.digest());
    }

    /** QEMU processes whose command line names a file under {@code dataDir}. */
    private static long qemuProcesses(Path dataDir) throws Exception {
        try (var procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).filter(p -> {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    return cmdline.startsWith("qemu-system") && cmdline.contains(dataDir.toString());
                } catch (java.io.IOException e) {
                    return false;
                }
            }).count();
        }
    }
}
