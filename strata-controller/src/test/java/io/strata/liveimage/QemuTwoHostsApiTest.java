package io.strata.liveimage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import io.strata.testing.TestGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two QEMU hosts in one cloud (strata up --qemu-hosts 2): a clone of a live image starts on the
 * host that did not bless it, and its memory continues the blessed guest's.
 */
class QemuTwoHostsApiTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
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
    void aCloneStartsOnTheOtherHost() {
        String source = Servers.create(admin, "two-hosts", image, "1", null);
        Servers.waitFor(admin, source, "ACTIVE", BOOT);
        await().atMost(BOOT).until(() -> lastCounter(console(source)) >= 2);
        String sourceHost = host(source);
        String otherHost = otherHost(sourceHost);
        // Random data in the guest's RAM (its root is an initramfs): what every clone must see intact.
        String blessedSum = shell(source, "dd if=/dev/urandom of=/blessed bs=1M count=32 2>/dev/null; md5sum /blessed");

        String live = action(source, "{\"co_bless\": {}}").expect(200).json().get(0).get("id").asText();
        Servers.waitFor(admin, live, "BLESSED", BOOT);
        int atBless = lastCounter(console(source));

        String clone = action(live, "{\"co_launch\": {\"availability_zone\": \"nova:" + otherHost + "\"}}").expect(200).json().get(0)
                .get("id").asText();
        Servers.waitFor(admin, clone, "ACTIVE", BOOT);
        assertThat(host(clone)).isEqualTo(otherHost);
        await().atMost(BOOT).until(() -> lastCounter(console(clone)) > atBless);
        assertThat(console(clone)).doesNotContain(TestGuest.READY);
        awaitPersonalised(clone);
        assertThat(shell(clone, "md5sum /blessed")).isEqualTo(blessedSum);
        String cloneSum = shell(clone, "dd if=/dev/urandom of=/cloned bs=1M count=32 2>/dev/null; md5sum /cloned");

        // co_migrate with memory streaming: the clone moves back to the blessing host and its
        // counter keeps counting there; then os-migrateLive moves it once more.
        int beforeMigration = lastCounter(console(clone));
        action(clone, "{\"co_migrate\": {\"dest\": \"" + sourceHost + "\"}}").expect(200);
        Servers.waitFor(admin, clone, "ACTIVE", BOOT);
        assertThat(host(clone)).isEqualTo(sourceHost);
        await().atMost(BOOT).until(() -> lastCounter(console(clone)) > beforeMigration);
        assertThat(console(clone)).doesNotContain(TestGuest.READY);
        assertThat(shell(clone, "md5sum /blessed /cloned")).isEqualTo(blessedSum + cloneSum);
        admin.post("/compute/v2.1/servers/" + clone + "/action", "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}")
                .expect(202);
        Servers.waitFor(admin, clone, "ACTIVE", BOOT);
        assertThat(host(clone)).isEqualTo(otherHost);
        int afterTwo = lastCounter(console(clone));
        await().atMost(BOOT).until(() -> lastCounter(console(clone)) > afterTwo);
        assertThat(shell(clone, "md5sum /blessed /cloned")).isEqualTo(blessedSum + cloneSum);
        assertThat(console(clone)).doesNotContain("Oops").doesNotContain("BUG:");

        Servers.deleteAndWait(admin, clone);
        Servers.deleteAndWait(admin, source);
        action(live, "{\"co_discard\": null}").expect(200);
    }

    /** Runs a shell command in the guest through its agent, on whichever host runs it now. */
    static String shell(String id, String script) {
        try (GuestAgentClient guest = GuestAgentClient.connect(runDir(id).resolve("qga.sock"), Duration.ofSeconds(30))) {
            return guest.shell(script);
        }
    }

    /** The driver personalises a clone in the background over the one agent connection: wait until it has. */
    static void awaitPersonalised(String id) {
        await().atMost(BOOT).pollInterval(Duration.ofSeconds(1)).until(() -> shell(id, "cat /run/meta_data.json").contains(id));
    }

    /** Host 1 runs its VMs under data-dir/qemu, host 2 under data-dir/qemu-2 (LocalAgents). */
    static Path runDir(String id) {
        Path first = cloud.dataDir().resolve("qemu").resolve(id);
        return Files.isDirectory(first) ? first : cloud.dataDir().resolve("qemu-2").resolve(id);
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

    static String otherHost(String host) {
        for (JsonNode h : admin.get("/compute/v2.1/os-hypervisors").expect(200).json().get("hypervisors")) {
            if (!h.get("hypervisor_hostname").asText().equals(host)) {
                return h.get("hypervisor_hostname").asText();
            }
        }
        throw new AssertionError("only one host");
    }

    static int lastCounter(String log) {
        return TestGuest.lastCounter(log);
    }
}
