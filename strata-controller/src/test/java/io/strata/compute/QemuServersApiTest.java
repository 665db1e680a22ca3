package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import io.strata.testing.TestGuest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real guests through the Compute API: {@code strata up --driver qemu} in a test, the test guest
 * registered through the Image API, every server action, the console and the config drive as the
 * guest sees them (read through its guest agent), and a delete that leaves nothing behind.
 */
class QemuServersApiTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static TestCloud cloud;
    private static ApiClient admin;
    private static String image;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withDriver("qemu").withAccel("tcg"));
        admin = cloud.admin();
        image = TestGuest.register(admin, "guest");
    }

    @AfterAll
    static void stop() {
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    void bootsWithItsConfigDriveAndReportsTheHypervisor() throws IOException {
        String publicKey = admin.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"guest-key\"}}")
                .expect(200).json().at("/keypair/public_key").asText();
        String userData = Base64.getEncoder().encodeToString("hello from user data\n".getBytes(StandardCharsets.UTF_8));
        String id = Servers.create(admin, "web-1", image, "1",
                "\"user_data\": \"" + userData + "\", \"metadata\": {\"role\": \"web\"}, \"key_name\": \"guest-key\"");
        JsonNode server = Servers.waitFor(admin, id, "ACTIVE", BOOT);
        awaitConsole(id, TestGuest.READY, 1);

        assertThat(server.at("/metadata/ssh_port").asText()).matches("[0-9]+");
        assertThat(qemuCommandLine(id)).contains("-kernel").contains("-initrd").contains("hostfwd=tcp:")
                .contains(":" + server.at("/metadata/ssh_port").asText() + "-:22");
        assertThat(server.at("/addresses/default/0/addr").asText()).startsWith("10.0.");

        try (GuestAgentClient guest = guestAgent(id)) {
            assertThat(guest.shell("cat /run/user_data")).isEqualTo("hello from user data\n");
            String metaData = guest.shell("cat /run/meta_data.json");
            assertThat(metaData).contains(id).contains("\"role\"").contains("\"web\"").contains(publicKey.strip());
            assertThat(guest.shell("hostname").strip()).isEqualTo("web-1");
            // The guest's NIC got the address the API shows, from the user-mode network's DHCP.
            assertThat(guest.shell("ip -4 addr show")).contains(server.at("/addresses/default/0/addr").asText() + "/");
            // Direct kernel boot from the image's kernel_id / ramdisk_id, with its os_command_line
            // (TestGuest.register puts the MANIFEST's command line there: nokaslr, movablecore=50%).
            assertThat(guest.shell("cat /proc/cmdline")).contains("nokaslr").contains("movablecore=50%");
            // ... on a NIC with the server's own MAC.
            assertThat(guest.shell("cat /sys/class/net/eth0/address").strip())
                    .isEqualTo(server.at("/addresses/default/0/OS-EXT-IPS-MAC:mac_addr").asText()).startsWith("fa:16:3e:");
        }

        // The root disk: a qcow2 overlay on the image's file, grown to the flavor's root_gb.
        long rootGb = admin.get("/compute/v2.1/flavors/1").expect(200).json().at("/flavor/disk").asLong();
        assertThat(rootGb).isPositive();
        Path disk = cloud.dataDir().resolve("qemu").resolve(id).resolve("disk.qcow2");
        JsonNode diskInfo = new ObjectMapper().readTree(run("qemu-img", "info", "--output=json", "-U", disk.toString()));
        assertThat(diskInfo.path("format").asText()).isEqualTo("qcow2");
        assertThat(diskInfo.path("virtual-size").asLong()).isEqualTo(rootGb * 1024 * 1024 * 1024);
        assertThat(diskInfo.path("backing-filename").asText()).isNotBlank();

        JsonNode hypervisor = admin.get("/compute/v2.1/os-hypervisors/detail").expect(200).json().at("/hypervisors/0");
        assertThat(hypervisor.get("hypervisor_type").asText()).isEqualTo("QEMU");
        // The accelerator guests run with, in cpu_info (a JSON string before microversion 2.28).
        JsonNode cpuInfo = hypervisor.get("cpu_info");
        JsonNode cpu = cpuInfo.isTextual() ? new ObjectMapper().readTree(cpuInfo.asText()) : cpuInfo;
        assertThat(cpu.path("accelerator").asText()).isEqualTo("tcg");

        deleteAndCheckNothingLeft(id);
    }

    @Test
    void everyActionOnARealGuest() {
        String id = Servers.create(admin, "actions-1", image, "1", null);
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        awaitConsole(id, TestGuest.READY, 1);

        Servers.action(admin, id, "{\"os-stop\": null}");
        Servers.waitFor(admin, id, "SHUTOFF", BOOT);
        assertThat(qemuProcesses(id)).isZero();
        Servers.action(admin, id, "{\"os-start\": null}");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        awaitConsole(id, TestGuest.READY, 2);

        Servers.action(admin, id, "{\"reboot\": {\"type\": \"SOFT\"}}");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        awaitConsole(id, TestGuest.READY, 3);
        Servers.action(admin, id, "{\"reboot\": {\"type\": \"HARD\"}}");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        awaitConsole(id, TestGuest.READY, 4);

        Servers.action(admin, id, "{\"pause\": null}");
        Servers.waitFor(admin, id, "PAUSED", BOOT);
        Servers.action(admin, id, "{\"unpause\": null}");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);

        // Suspend is Nova's managed save: the process ends, the memory is on disk; resume
        // continues the same boot (no new ready marker) and the console counter goes on.
        int before = TestGuest.lastCounter(console(id, 0));
        Servers.action(admin, id, "{\"suspend\": null}");
        Servers.waitFor(admin, id, "SUSPENDED", BOOT);
        assertThat(qemuProcesses(id)).isZero();
        Servers.action(admin, id, "{\"resume\": null}");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        await().atMost(BOOT).until(() -> TestGuest.lastCounter(console(id, 0)) > before + 1);
        assertThat(count(console(id, 0), TestGuest.READY)).isEqualTo(4);

        String tail = console(id, 3);
        assertThat(tail.split("\n")).hasSizeLessThanOrEqualTo(3);

        deleteAndCheckNothingLeft(id);
    }

    private void deleteAndCheckNothingLeft(String id) {
        Servers.deleteAndWait(admin, id);
        assertThat(cloud.dataDir().resolve("qemu").resolve(id)).doesNotExist();
        assertThat(Path.of("/dev/shm/strata").resolve(id)).doesNotExist();
        assertThat(qemuProcesses(id)).isZero();
    }

    private static String run(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertThat(process.waitFor()).as(String.join(" ", command) + ": " + output).isZero();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return output;
    }

    private static GuestAgentClient guestAgent(String id) {
        Path socket = cloud.dataDir().resolve("qemu").resolve(id).resolve("qga.sock");
        return GuestAgentClient.connect(socket, Duration.ofSeconds(30));
    }

    private static String console(String id, int lines) {
        String body = lines > 0 ? "{\"os-getConsoleOutput\": {\"length\": " + lines + "}}" : "{\"os-getConsoleOutput\": {}}";
        return admin.post("/compute/v2.1/servers/" + id + "/action", body).expect(200).json().get("output").asText();
    }

    private static void awaitConsole(String id, String text, int occurrences) {
        await().atMost(BOOT).pollInterval(Duration.ofMillis(200)).until(() -> count(console(id, 0), text) >= occurrences);
    }

    private static int count(String log, String text) {
        int n = 0;
        for (int i = log.indexOf(text); i >= 0; i = log.indexOf(text, i + text.length())) {
            n++;
        }
        return n;
    }

    /** The command line of this VM's QEMU process, arguments separated by spaces. */
    private static String qemuCommandLine(String id) throws IOException {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).toList()) {
                try {
                    String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                    if (cmdline.startsWith("qemu-system") && cmdline.contains(id)) {
                        return cmdline;
                    }
                } catch (IOException e) {
                    // the process ended meanwhile
                }
            }
        }
        throw new AssertionError("no QEMU process for " + id);
    }

    /** QEMU processes whose command line names this VM (0 once it is stopped or gone). */
    static long qemuProcesses(String id) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).filter(p -> {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    return cmdline.startsWith("qemu-system") && cmdline.contains(id);
                } catch (IOException e) {
                    return false;
                }
            }).count();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
