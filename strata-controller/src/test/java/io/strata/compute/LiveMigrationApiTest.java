package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Live migration through os-migrateLive (Nova) and co_migrate (Cobalt) across simulated hosts:
 * where the server goes, and the refusals each API documents.
 */
class LiveMigrationApiTest {
    private static TestCloud cloud;
    private static ApiClient admin;
    private static ApiClient member;
    private static String image;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(3, StrataConfig.FakeHostSpec.DEFAULT));
        admin = cloud.admin();
        member = cloud.newProjectUser("zeta", "zoe", "member");
        image = Servers.uploadImage(member, "migratable");
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void osMigrateLiveMovesARunningServer() {
        String id = Servers.create(member, "mover", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String from = host(id);
        String to = otherHost(from);

        admin.post(action(id), "{\"os-migrateLive\": {\"host\": \"" + to + "\", \"block_migration\": \"auto\"}}").expect(202);
        Servers.waitFor(member, id, "ACTIVE");
        assertThat(host(id)).isEqualTo(to);
        assertThat(console(id)).contains("migrated to " + to);

        // Without a host the scheduler picks another one.
        admin.post(action(id), "{\"os-migrateLive\": {\"host\": null, \"block_migration\": false}}").expect(202);
        Servers.waitFor(member, id, "ACTIVE");
        assertThat(host(id)).isNotEqualTo(to);

        assertThat(admin.post(action(id), "{\"os-migrateLive\": {\"host\": \"" + host(id) + "\", \"block_migration\": \"auto\"}}")
                .expect(400).text()).contains("current host");
        assertThat(admin.post(action(id), "{\"os-migrateLive\": {\"host\": \"nowhere\", \"block_migration\": \"auto\"}}")
                .expect(400).text()).contains("could not be found");
        admin.post(action(id), "{\"os-migrateLive\": {\"host\": null}}").expect(400);
        member.post(action(id), "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}").expect(403);

        Servers.action(member, id, "{\"os-stop\": null}");
        Servers.waitFor(member, id, "SHUTOFF");
        admin.post(action(id), "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}").expect(409);
        Servers.deleteAndWait(member, id);
    }

    @Test
    void coMigrateFollowsCobalt() {
        String id = Servers.create(member, "cobalt-mover", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String from = host(id);
        String to = otherHost(from);

        ApiClient.Response moved = member.post(action(id), "{\"co_migrate\": {\"dest\": \"" + to + "\"}}").expect(200);
        assertThat(moved.body()).isEmpty();
        Servers.waitFor(member, id, "ACTIVE");
        assertThat(host(id)).isEqualTo(to);

        // No dest: a random host other than the current one.
        member.post(action(id), "{\"gc_migrate\": {}}").expect(200);
        Servers.waitFor(member, id, "ACTIVE");
        assertThat(host(id)).isNotEqualTo(to);

        assertThat(member.post(action(id), "{\"co_migrate\": {\"dest\": \"" + host(id) + "\"}}").expect(400).text())
                .contains("same host");
        assertThat(member.post(action(id), "{\"co_migrate\": {\"dest\": \"nowhere\"}}").expect(400).text())
                .contains("not running the cobalt service");
        Servers.action(member, id, "{\"pause\": null}");
        Servers.waitFor(member, id, "PAUSED");
        assertThat(member.post(action(id), "{\"co_migrate\": {}}").expect(400).text()).contains("not active");
        Servers.deleteAndWait(member, id);
    }

    private static String host(String id) {
        return Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
    }

    private static String otherHost(String host) {
        for (JsonNode h : admin.get("/compute/v2.1/os-hypervisors").expect(200).json().get("hypervisors")) {
            if (!h.get("hypervisor_hostname").asText().equals(host)) {
                return h.get("hypervisor_hostname").asText();
            }
        }
        throw new AssertionError("only one host");
    }

    private static String console(String id) {
        return member.post(action(id), "{\"os-getConsoleOutput\": {}}").expect(200).json().get("output").asText();
    }

    private static String action(String id) {
        return "/compute/v2.1/servers/" + id + "/action";
    }
}
