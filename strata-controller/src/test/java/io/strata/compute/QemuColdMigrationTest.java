package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import io.strata.testing.TestGuest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cold moves of a real guest between the two QEMU hosts of one cloud: what the guest wrote to its
 * root disk before the move is on the disk after it, a resize gives the guest the new flavor's
 * CPUs, memory and disk size, and confirm leaves nothing of the VM on the source host.
 */
class QemuColdMigrationTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    /** A sector in the gap before the test disk's first partition (it starts at 1 MiB): free to scribble on. */
    private static final int MARK_SECTOR = 100;
    private static TestCloud cloud;
    private static ApiClient admin;
    private static String image;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withDriver("qemu").withAccel("tcg").withQemuHosts(2));
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
    void resizeKeepsTheDiskAndGivesTheNewFlavorAndRevertKeepsTheOldOne() {
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"grow\", \"id\": \"grow\", \"ram\": 640, \"vcpus\": 2, \"disk\": 2}}")
                .expect(200);
        String id = Servers.create(admin, "cold-mover", image, "1", null);
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        String source = host(id);
        String mark = "STRATA-DISK-MARK-" + UUID.randomUUID();
        try (GuestAgentClient guest = guestAgent(id)) {
            guest.shell("printf " + mark + " | dd of=/dev/vda bs=512 seek=" + MARK_SECTOR + " conv=notrunc 2>/dev/null; sync");
            assertThat(readMark(guest)).startsWith(mark);
            assertThat(guest.shell("nproc").strip()).isEqualTo("1");
        }

        // Diagnostics read from QMP and /proc: the guest has used CPU and read its disk.
        JsonNode diagnostics = admin.get("/compute/v2.1/servers/" + id + "/diagnostics").expect(200).json();
        assertThat(diagnostics.get("memory").asLong()).isEqualTo(512 * 1024);
        assertThat(diagnostics.get("cpu0_time").asLong()).isPositive();
        assertThat(diagnostics.get("memory-rss").asLong()).isPositive();
        assertThat(diagnostics.get("vda_read").asLong()).isPositive();
        assertThat(diagnostics.get("vda_write_req").asLong()).isPositive();
        // NIC counters come from the guest agent (user-mode networking keeps none in QEMU): known, not -1.
        assertThat(diagnostics.get("vnet0_rx_packets").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(diagnostics.get("vnet0_tx_packets").asLong()).isPositive();

        Servers.action(admin, id, "{\"resize\": {\"flavorRef\": \"grow\"}}");
        Servers.waitFor(admin, id, "VERIFY_RESIZE", BOOT);
        String destination = host(id);
        assertThat(destination).isNotEqualTo(source);
        try (GuestAgentClient guest = guestAgent(id)) {
            assertThat(readMark(guest)).startsWith(mark);
            assertThat(guest.shell("nproc").strip()).isEqualTo("2");
            assertThat(admin.get("/compute/v2.1/servers/" + id + "/diagnostics").expect(200).json().has("cpu1_time")).isTrue();
            long sectors = Long.parseLong(guest.shell("cat /sys/block/vda/size").strip());
            assertThat(sectors * 512).isEqualTo(2L * 1024 * 1024 * 1024);
            long memKb = Long.parseLong(guest.shell("awk '/MemTotal/ {print $2}' /proc/meminfo").strip());
            assertThat(memKb).isGreaterThan(512 * 1024);
            // What the guest writes on the destination is lost by a revert, as in Nova: the source disk comes back.
            guest.shell("printf OVERWRITTEN-ON-DESTINATION | dd of=/dev/vda bs=512 seek=" + MARK_SECTOR + " conv=notrunc 2>/dev/null; sync");
        }
        // The source VM is kept, powered off, for a revert.
        assertThat(runDir(source, id).resolve("disk.qcow2")).exists();
        assertThat(QemuServersApiTest.qemuProcesses(id)).isEqualTo(1);

        Servers.action(admin, id, "{\"revertResize\": null}");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        assertThat(host(id)).isEqualTo(source);
        assertThat(runDir(destination, id)).doesNotExist();
        try (GuestAgentClient guest = guestAgent(id)) {
            assertThat(readMark(guest)).startsWith(mark);
            assertThat(guest.shell("nproc").strip()).isEqualTo("1");
        }

        // A plain migrate, confirmed: the guest runs on the other host with its disk, and nothing is left behind.
        admin.post("/compute/v2.1/servers/" + id + "/action", "{\"migrate\": null}").expect(202);
        Servers.waitFor(admin, id, "VERIFY_RESIZE", BOOT);
        assertThat(host(id)).isEqualTo(destination);
        admin.post("/compute/v2.1/servers/" + id + "/action", "{\"confirmResize\": null}").expect(204);
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        assertThat(runDir(source, id)).doesNotExist();
        try (GuestAgentClient guest = guestAgent(id)) {
            assertThat(readMark(guest)).startsWith(mark);
        }
        JsonNode migrations = admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id).expect(200).json().get("migrations");
        assertThat(migrations).hasSize(2);
        assertThat(migrations.get(0).get("status").asText()).isEqualTo("confirmed");
        assertThat(migrations.get(1).get("status").asText()).isEqualTo("reverted");

        Servers.deleteAndWait(admin, id);
        assertThat(QemuServersApiTest.qemuProcesses(id)).isZero();
        assertThat(runDir(source, id)).doesNotExist();
        assertThat(runDir(destination, id)).doesNotExist();
    }

    private static String readMark(GuestAgentClient guest) {
        return guest.shell("dd if=/dev/vda bs=512 skip=" + MARK_SECTOR + " count=1 2>/dev/null | tr -d '\\000'");
    }

    /** The all-in-one process's QEMU hosts: the first runs VMs under qemu/, the second (named "-2") under qemu-2/. */
    private static Path runDir(String host, String id) {
        return cloud.dataDir().resolve(host.endsWith("-2") ? "qemu-2" : "qemu").resolve(id);
    }

    private static GuestAgentClient guestAgent(String id) {
        Path socket = runDir(host(id), id).resolve("qga.sock");
        // The agent answers once the guest has booted far enough to start it.
        return await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
            GuestAgentClient client = GuestAgentClient.connect(socket, Duration.ofSeconds(30));
            client.ping();
            return client;
        }, c -> true);
    }

    private static String host(String id) {
        return Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
    }
}
