package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.testing.ApiClient;
import io.strata.testing.RemoteQemuAgents;
import io.strata.testing.Servers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cold and live migration between two real agent servers (QEMU driver) that share no storage: the
 * destination copies the powered-off VM's disk layer from the source's agent, checked against the
 * size and SHA-256 the source listed, and what the guest wrote to its disk is there on the new host.
 * A live migration builds the incoming VM on the destination's own copies of the Glance images.
 */
class QemuRemoteMovesTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final int MARK_SECTOR = 100;
    private static RemoteQemuAgents hosts;
    private static ApiClient admin;
    private static Path dirA;
    private static Path dirB;
    private static String image;

    @BeforeAll
    static void start() throws Exception {
        hosts = RemoteQemuAgents.start("cold-a", "cold-b");
        admin = hosts.admin();
        dirA = hosts.dir(0);
        dirB = hosts.dir(1);
        image = hosts.image();
        // Only the two agents take servers: the controller's own host is out of the choice.
        for (JsonNode h : admin.get("/compute/v2.1/os-hypervisors").expect(200).json().get("hypervisors")) {
            String name = h.get("hypervisor_hostname").asText();
            if (!name.startsWith("cold-")) {
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
    void theDiskLayerTravelsToAHostWithoutSharedStorage() throws Exception {
        String id = Servers.create(admin, "cold-remote", image, "1", "\"availability_zone\": \"nova:cold-a\"");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        assertThat(host(id)).isEqualTo("cold-a");
        String mark = "STRATA-REMOTE-MARK-" + UUID.randomUUID();
        try (GuestAgentClient guest = guestAgent(dirA, id)) {
            guest.shell("printf " + mark + " | dd of=/dev/vda bs=512 seek=" + MARK_SECTOR + " conv=notrunc 2>/dev/null; sync");
        }

        admin.post("/compute/v2.1/servers/" + id + "/action", "{\"migrate\": null}").expect(202);
        Servers.waitFor(admin, id, "VERIFY_RESIZE", BOOT);
        assertThat(host(id)).isEqualTo("cold-b");
        assertThat(dirB.resolve("qemu").resolve(id).resolve("disk.qcow2")).exists();
        assertThat(backingOf(dirB.resolve("qemu").resolve(id).resolve("disk.qcow2"))).startsWith(dirB.toString());
        // The guest runs on B from the copied layer: what it wrote on A is there.
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> {
            try (GuestAgentClient guest = guestAgent(dirB, id)) {
                return readMark(guest).startsWith(mark);
            } catch (RuntimeException e) {
                return false;
            }
        });
        // The copy's staging directory is gone; the source VM is kept (powered off) for a revert.
        try (Stream<Path> staged = Files.exists(dirB.resolve("live-image-copies")) ? Files.list(dirB.resolve("live-image-copies")) : Stream.empty()) {
            assertThat(staged.toList()).isEmpty();
        }
        assertThat(dirA.resolve("qemu").resolve(id).resolve("disk.qcow2")).exists();

        admin.post("/compute/v2.1/servers/" + id + "/action", "{\"confirmResize\": null}").expect(204);
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(dirA.resolve("qemu").resolve(id)));
        Servers.deleteAndWait(admin, id);
    }

    @Test
    void aSnapshotOfAServerOnAnAgentBecomesAnImage() throws Exception {
        String id = Servers.create(admin, "snapped", image, "1", "\"availability_zone\": \"nova:cold-a\"");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        String mark = "STRATA-SNAPSHOT-MARK-" + UUID.randomUUID();
        try (GuestAgentClient guest = guestAgent(dirA, id)) {
            guest.shell("printf " + mark + " | dd of=/dev/vda bs=512 seek=" + MARK_SECTOR + " conv=notrunc 2>/dev/null; sync");
        }
        ApiClient.Response created = admin.post("/compute/v2.1/servers/" + id + "/action", "{\"createImage\": {\"name\": \"snap\"}}")
                .expect(202);
        String snapshot = created.header("Location").replaceAll(".*/", "");
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1))
                .until(() -> "active".equals(admin.get("/image/v2/images/" + snapshot).expect(200).json().path("status").asText()));
        // The agent wrote it on its host, the controller fetched it, and the agent kept nothing.
        byte[] data = admin.get("/image/v2/images/" + snapshot + "/file").expect(200).body();
        assertThat(new String(data, java.nio.charset.StandardCharsets.ISO_8859_1)).contains(mark);
        try (Stream<Path> left = Files.list(dirA.resolve("snapshots"))) {
            assertThat(left.toList()).isEmpty();
        }
        Servers.deleteAndWait(admin, id);
    }

    @Test
    void aRunningGuestLiveMigratesToAHostWithoutSharedStorage() throws Exception {
        String id = Servers.create(admin, "live-remote", image, "1", "\"availability_zone\": \"nova:cold-a\"");
        Servers.waitFor(admin, id, "ACTIVE", BOOT);
        assertThat(host(id)).isEqualTo("cold-a");
        String mark = "STRATA-LIVE-MARK-" + UUID.randomUUID();
        try (GuestAgentClient guest = guestAgent(dirA, id)) {
            guest.shell("printf " + mark + " | dd of=/dev/vda bs=512 seek=" + MARK_SECTOR + " conv=notrunc 2>/dev/null; sync; "
                    + "echo " + mark + " > /tmp/in-memory");
        }
        admin.send("POST", "/compute/v2.1/servers/" + id + "/action",
                "{\"os-migrateLive\": {\"host\": \"cold-b\", \"block_migration\": \"auto\"}}",
                java.util.Map.of("OpenStack-API-Version", "compute 2.30")).expect(202);
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> host(id).equals("cold-b")
                && "ACTIVE".equals(Servers.show(admin, id).get("status").asText()));
        // The guest went on running: its memory (a file in its RAM-backed /tmp) and its disk came along.
        try (GuestAgentClient guest = guestAgent(dirB, id)) {
            assertThat(guest.shell("cat /tmp/in-memory").strip()).isEqualTo(mark);
            assertThat(guest.shell("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=" + MARK_SECTOR
                    + " count=1 2>/dev/null | tr -d '\\000'")).startsWith(mark);
        }
        // B's disk stands on B's own copy of the image, not on a path of A's.
        assertThat(backingOf(dirB.resolve("qemu").resolve(id).resolve("disk.qcow2"))).startsWith(dirB.toString());
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(dirA.resolve("qemu").resolve(id)));
        Servers.deleteAndWait(admin, id);
    }

    @Test
    void aLiveImageCloneCoMigratesToAHostWithoutTheImage() throws Exception {
        String source = Servers.create(admin, "golden", image, "1", "\"availability_zone\": \"nova:cold-a\"");
        Servers.waitFor(admin, source, "ACTIVE", BOOT);
        String live = action(source, "{\"co_bless\": {}}").expect(200).json().get(0).get("id").asText();
        Servers.waitFor(admin, live, "BLESSED", BOOT);
        String clone = action(live, "{\"co_launch\": {\"name\": \"wanderer\", \"availability_zone\": \"nova:cold-a\"}}").expect(200)
                .json().get(0).get("id").asText();
        Servers.waitFor(admin, clone, "ACTIVE", BOOT);
        assertThat(host(clone)).isEqualTo("cold-a");
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> {
            try (GuestAgentClient guest = guestAgent(dirA, clone)) {
                return guest.shell("hostname").strip().equals("wanderer");
            } catch (RuntimeException e) {
                return false;
            }
        });
        int before = counter(dirA, clone);
        assertThat(dirB.resolve("live-image-copies").resolve(live)).doesNotExist();

        action(clone, "{\"co_migrate\": {\"dest\": \"cold-b\"}}").expect(200);
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> host(clone).equals("cold-b")
                && "ACTIVE".equals(Servers.show(admin, clone).get("status").asText()));
        // B copied the live image to receive the clone on, and the clone's memory went on there.
        assertThat(dirB.resolve("live-image-copies").resolve(live)).isDirectory();
        assertThat(backingOf(dirB.resolve("qemu").resolve(clone).resolve("disk.qcow2"))).startsWith(dirB.toString());
        await().atMost(BOOT).until(() -> counter(dirB, clone) > before);
        try (GuestAgentClient guest = guestAgent(dirB, clone)) {
            assertThat(guest.shell("hostname").strip()).isEqualTo("wanderer");
        }
        Servers.deleteAndWait(admin, clone);
        Servers.deleteAndWait(admin, source);
        admin.post("/compute/v2.1/servers/" + live + "/action", "{\"co_discard\": null}").expect(200);
    }

    private static ApiClient.Response action(String id, String body) {
        return admin.post("/compute/v2.1/servers/" + id + "/action", body);
    }

    private static int counter(Path agentDir, String id) {
        try (GuestAgentClient guest = guestAgent(agentDir, id)) {
            return Integer.parseInt(guest.shell("cat /run/counter").strip());
        }
    }

    private static String backingOf(Path overlay) throws Exception {
        Process info = new ProcessBuilder("qemu-img", "info", "-U", "--output=json", overlay.toString()).redirectErrorStream(true).start();
        String json = new String(info.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(info.waitFor()).as(json).isZero();
        return io.strata.api.Json.MAPPER.readTree(json).path("full-backing-filename").asText();
    }

    private static GuestAgentClient guestAgent(Path agentDir, String id) {
        return GuestAgentClient.connect(agentDir.resolve("qemu").resolve(id).resolve("qga.sock"), Duration.ofSeconds(30));
    }

    private static String readMark(GuestAgentClient guest) {
        return guest.shell("dd if=/dev/vda bs=512 skip=" + MARK_SECTOR + " count=1 2>/dev/null | tr -d '\\000'");
    }

    private static String host(String id) {
        return Servers.host(admin, id);
    }
}
