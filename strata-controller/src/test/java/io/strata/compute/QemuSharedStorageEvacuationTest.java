package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.server.ClusterSettings;
import io.strata.testing.ApiClient;
import io.strata.testing.RemoteQemuAgents;
import io.strata.testing.Servers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Nova's evacuate on shared storage with real QEMU: two agents whose VM disks are in one shared
 * instance directory. When the host of a server dies (agent gone, QEMU killed), the leader
 * rebuilds the server on the other host from its disk there, so what the guest wrote survives;
 * the dead host, when it comes back, removes its stale VM but not the disk the other host owns
 * now. An admin's evacuate of a server on a host forced down takes the same path.
 */
class QemuSharedStorageEvacuationTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final int MARK_SECTOR = 100;
    private static RemoteQemuAgents hosts;
    private static ApiClient admin;
    private static Path shared;

    @BeforeAll
    static void start() throws Exception {
        hosts = RemoteQemuAgents.startSharing(config -> config.withCluster(config.cluster().withHeartbeat(Duration.ofSeconds(1), 3)
                .withEvacuate(ClusterSettings.Evacuate.AUTO)), "sh-a", "sh-b");
        admin = hosts.admin();
        shared = hosts.shared();
        // Only the two agents take servers: the controller's own host is out of the choice.
        for (JsonNode h : admin.get("/compute/v2.1/os-hypervisors").expect(200).json().get("hypervisors")) {
            String name = h.get("hypervisor_hostname").asText();
            if (!name.startsWith("sh-")) {
                admin.put("/compute/v2.1/os-services/disable", "{\"host\": \"" + name + "\", \"binary\": \"nova-compute\"}").expect(200);
            }
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) {
            hosts.close();
        }
    }

    @Test
    void aDeadHostsServerComesBackOnTheHostSharingItsDiskWithWhatTheGuestWrote() throws Exception {
        String id = Servers.create(admin, "on-shared", hosts.image(), "1", "\"availability_zone\": \"nova:sh-a\"");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        assertThat(Servers.host(admin, id)).isEqualTo("sh-a");
        // The disk is on the shared storage, owned by A; A's run directory links to it.
        assertThat(shared.resolve(id).resolve("disk.qcow2")).isRegularFile();
        assertThat(Files.isSymbolicLink(runDir(0, id).resolve("disk.qcow2"))).isTrue();
        assertThat(owner(id)).isEqualTo("sh-a");
        String mark = writeMark(0, id, "STRATA-SHARED-MARK-");
        // A second server whose disk is A's own, not on the shared storage (as after a migration):
        // rebuilding it elsewhere would lose its disk, so it stays on A with a fault.
        String local = Servers.create(admin, "on-local", hosts.image(), "1", "\"availability_zone\": \"nova:sh-a\"");
        Servers.waitFor(admin, local, "ACTIVE", BOOT);
        String localMark = writeMark(0, local, "STRATA-LOCAL-MARK-");
        Files.move(shared.resolve(local).resolve("disk.qcow2"), runDir(0, local).resolve("disk.qcow2"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.delete(shared.resolve(local).resolve("host"));
        Files.delete(shared.resolve(local));

        // Host A dies: no more heartbeats, its guests gone with it.
        hosts.kill(0);
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> "sh-b".equals(Servers.host(admin, id))
                && "ACTIVE".equals(Servers.show(admin, id).get("status").asText()));
        assertThat(readMarkEventually(1, id)).startsWith(mark);
        assertThat(owner(id)).isEqualTo("sh-b");
        assertThat(Files.isSymbolicLink(runDir(1, id).resolve("disk.qcow2"))).isTrue();
        // It went as an evacuation from A to B (after the host-down fault the monitor set).
        JsonNode migration = evacuationOf(id, "sh-a");
        assertThat(migration.get("dest_compute").asText()).isEqualTo("sh-b");
        assertThat(migration.get("status").asText()).isEqualTo("done");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .until(() -> "failed".equals(evacuationOf(local, "sh-a").get("status").asText()));
        JsonNode stayed = Servers.show(admin, local);
        assertThat(stayed.get("status").asText()).isEqualTo("ERROR");
        assertThat(Servers.host(admin, local)).isEqualTo("sh-a");
        assertThat(stayed.path("fault").path("message").asText()).contains("not on its shared instance storage");

        // A comes back: its agent removes the stale VM, but the disk is B's now and stays.
        hosts.restart(0);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> !Files.exists(runDir(0, id)));
        assertThat(shared.resolve(id).resolve("disk.qcow2")).isRegularFile();
        assertThat(owner(id)).isEqualTo("sh-b");
        try (GuestAgentClient guest = guestAgent(1, id)) {
            assertThat(readMark(guest)).startsWith(mark);
        }
        // The server that stayed is A's again, disk and all: a hard reboot brings it back there.
        assertThat(runDir(0, local).resolve("disk.qcow2")).isRegularFile();
        Servers.action(admin, local, "{\"reboot\": {\"type\": \"HARD\"}}");
        Servers.waitFor(admin, local, "ACTIVE", BOOT);
        assertThat(Servers.host(admin, local)).isEqualTo("sh-a");
        assertThat(readMarkEventually(0, local)).startsWith(localMark);
        Servers.deleteAndWait(admin, local);

        // An admin's evacuate of a server on a host forced down (Nova's force-down + evacuate)
        // takes the same path: B is forced down and dies, the admin sends the server back to A.
        String second = writeMark(1, id, "STRATA-SHARED-MARK-2-");
        forceDown("sh-b", true);
        hosts.kill(1);
        admin.withHeader("OpenStack-API-Version", "compute 2.29")
                .post("/compute/v2.1/servers/" + id + "/action", "{\"evacuate\": {\"host\": \"sh-a\"}}").expect(200);
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> "sh-a".equals(Servers.host(admin, id))
                && "ACTIVE".equals(Servers.show(admin, id).get("status").asText()));
        assertThat(readMarkEventually(0, id)).startsWith(second);
        assertThat(owner(id)).isEqualTo("sh-a");
        forceDown("sh-b", false);

        // Deleting the server removes its disk from the shared storage (A owns it).
        Servers.deleteAndWait(admin, id);
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(shared.resolve(id)));
        hosts.restart(1);
    }

    @Test
    void aLiveMigrationOrABlessTakesTheDiskOffTheSharedStorageWithoutLosingIt() throws Exception {
        // Live migration: the destination receives the disk into its own run directory, and the
        // source's copy on the shared storage goes with the source VM.
        String moved = Servers.create(admin, "moved", hosts.image(), "1", "\"availability_zone\": \"nova:sh-a\"");
        Servers.waitFor(admin, moved, "ACTIVE", BOOT);
        assertThat(shared.resolve(moved).resolve("disk.qcow2")).isRegularFile();
        String mark = writeMark(0, moved, "STRATA-MOVED-MARK-");
        admin.send("POST", "/compute/v2.1/servers/" + moved + "/action",
                "{\"os-migrateLive\": {\"host\": \"sh-b\", \"block_migration\": \"auto\"}}",
                java.util.Map.of("OpenStack-API-Version", "compute 2.30")).expect(202);
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> "sh-b".equals(Servers.host(admin, moved))
                && "ACTIVE".equals(Servers.show(admin, moved).get("status").asText()));
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(shared.resolve(moved)));
        assertThat(Files.isSymbolicLink(runDir(1, moved).resolve("disk.qcow2"))).isFalse();
        assertThat(readMarkEventually(1, moved)).startsWith(mark);
        Servers.deleteAndWait(admin, moved);

        // Bless: the live image takes the disk itself (not the link to the shared storage), so
        // its clones still start once the source and its directory there are gone.
        String golden = Servers.create(admin, "golden", hosts.image(), "1", "\"availability_zone\": \"nova:sh-a\"");
        Servers.waitFor(admin, golden, "ACTIVE", BOOT);
        String live = admin.post("/compute/v2.1/servers/" + golden + "/action", "{\"co_bless\": {}}").expect(200).json().get(0).get("id")
                .asText();
        Servers.waitFor(admin, live, "BLESSED", BOOT);
        Path imageDisk = hosts.dir(0).resolve("live-images").resolve(live).resolve("disk.qcow2");
        assertThat(imageDisk).isRegularFile();
        assertThat(Files.isSymbolicLink(imageDisk)).isFalse();
        Servers.deleteAndWait(admin, golden);
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(shared.resolve(golden)));
        String clone = admin.post("/compute/v2.1/servers/" + live + "/action",
                "{\"co_launch\": {\"name\": \"clone\", \"availability_zone\": \"nova:sh-a\"}}").expect(200).json().get(0).get("id")
                .asText();
        Servers.waitFor(admin, clone, "ACTIVE", BOOT);
        Servers.deleteAndWait(admin, clone);
        admin.post("/compute/v2.1/servers/" + live + "/action", "{\"co_discard\": null}").expect(200);
    }

    private static String writeMark(int host, String id, String prefix) {
        String mark = prefix + UUID.randomUUID();
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
            try (GuestAgentClient guest = guestAgent(host, id)) {
                // fsync: the guest flushes its disk (as a file system's journal commit would), so
                // the write is on the shared storage, not in the dying QEMU's qcow2 metadata cache.
                guest.shell("printf " + mark + " | dd of=/dev/vda bs=512 seek=" + MARK_SECTOR + " conv=notrunc,fsync 2>/dev/null; sync");
                return true;
            }
        });
        return mark;
    }

    /** The mark on the disk as the guest on {@code host} reads it, once its guest agent answers. */
    private static String readMarkEventually(int host, String id) {
        String[] read = new String[1];
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
            try (GuestAgentClient guest = guestAgent(host, id)) {
                read[0] = readMark(guest);
                return true;
            }
        });
        return read[0];
    }

    private static String readMark(GuestAgentClient guest) {
        return guest.shell("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=" + MARK_SECTOR + " count=1 2>/dev/null | tr -d '\\000'");
    }

    private static JsonNode evacuationOf(String id, String source) {
        for (JsonNode m : admin.withHeader("OpenStack-API-Version", "compute 2.23").get("/compute/v2.1/os-migrations?instance_uuid=" + id)
                .expect(200).json().get("migrations")) {
            if ("evacuation".equals(m.get("migration_type").asText()) && source.equals(m.get("source_compute").asText())) {
                return m;
            }
        }
        throw new AssertionError("no evacuation of " + id + " from " + source);
    }

    private static void forceDown(String host, boolean down) {
        admin.withHeader("OpenStack-API-Version", "compute 2.11").put("/compute/v2.1/os-services/force-down",
                "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\", \"forced_down\": " + down + "}").expect(200);
    }

    private static String owner(String id) throws Exception {
        return Files.readString(shared.resolve(id).resolve("host")).strip();
    }

    private static Path runDir(int host, String id) {
        return hosts.dir(host).resolve("qemu").resolve(id);
    }

    private static GuestAgentClient guestAgent(int host, String id) {
        return GuestAgentClient.connect(runDir(host, id).resolve("qga.sock"), Duration.ofSeconds(30));
    }
}
