package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server migrations sub-resource (2.22-2.24) while a live migration is under way: simulated
 * hosts that take three seconds per step keep it running long enough to look at, on H2 and PostgreSQL.
 */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ServerMigrationsApiTest {
    private static final Duration STEP = Duration.ofSeconds(3);

    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static ApiClient member;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind, config -> config.withFakeHosts(2, new StrataConfig.FakeHostSpec(16, 65_536, 1_000, STEP)));
        admin = cloud.admin();
        member = cloud.newProjectUser("watchers", "wanda", "member");
        image = Servers.uploadImage(member, "watched");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void aLiveMigrationUnderWayIsListedShownAndRefusedForceAndAbort() {
        String id = Servers.create(member, "watched", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String source = Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
        ApiClient v223 = at("2.23");
        String list = "/compute/v2.1/servers/" + id + "/migrations";

        at("2.22").get(list).expect(404);
        assertThat(v223.get(list).expect(200).json().get("migrations")).isEmpty();
        member.withHeader("OpenStack-API-Version", "compute 2.23").get(list).expect(403);
        v223.get("/compute/v2.1/servers/no-such-server/migrations").expect(404);

        admin.post(action(id), "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}").expect(202);
        JsonNode running = Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> v223.get(list).expect(200).json().get("migrations"),
                        l -> l.size() == 1 && l.get(0).get("status").asText().equals("running")).get(0);
        String migration = running.get("id").asText();
        assertThat(running.get("server_uuid").asText()).isEqualTo(id);
        assertThat(running.get("source_compute").asText()).isEqualTo(source);
        assertThat(running.get("dest_compute").asText()).isNotEqualTo(source);
        assertThat(running.get("memory_total_bytes").isNull()).isTrue();
        assertThat(running.has("uuid")).isFalse();
        assertThat(running.has("user_id")).isFalse();

        JsonNode shown = v223.get(list + "/" + migration).expect(200).json().get("migration");
        assertThat(shown).isEqualTo(running);
        assertThat(message(v223.get(list + "/999999").expect(404))).contains("In-progress live migration 999999 is not found");
        v223.get(list + "/abc").expect(404);

        // os-migrations links the migration under way to this sub-resource.
        JsonNode listed = v223.get("/compute/v2.1/os-migrations?instance_uuid=" + id).expect(200).json().at("/migrations/0");
        assertThat(listed.get("status").asText()).isEqualTo("running");
        assertThat(listed.at("/links/0/rel").asText()).isEqualTo("self");
        assertThat(listed.at("/links/0/href").asText()).endsWith("/compute/v2.1/servers/" + id + "/migrations/" + migration);
        assertThat(listed.at("/links/1/href").asText()).endsWith("/compute/servers/" + id + "/migrations/" + migration);

        // Nova would ask the driver to pause the guest or cancel the copy; Strata's drivers cannot: 409, nothing changes.
        String force = list + "/" + migration + "/action";
        at("2.21").post(force, "{\"force_complete\": null}").expect(404);
        assertThat(message(at("2.22").post(force, "{\"force_complete\": null}").expect(409))).contains("not supported");
        at("2.22").post(force, "{\"force_complete\": {}}").expect(400);
        assertThat(message(at("2.22").post(force, "{\"pause\": null}").expect(400))).contains("no such action");
        assertThat(message(at("2.22").post(list + "/999999/action", "{\"force_complete\": null}").expect(400)))
                .contains("Migration 999999 not found for instance " + id);
        v223.delete(list + "/" + migration).expect(404);
        assertThat(message(at("2.24").delete(list + "/" + migration).expect(409))).contains("not supported");
        assertThat(message(at("2.24").delete(list + "/999999").expect(404))).contains("Migration 999999 not found");
        member.withHeader("OpenStack-API-Version", "compute 2.24").delete(list + "/" + migration).expect(403);

        Servers.waitFor(member, id, "ACTIVE");
        assertThat(Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText()).isNotEqualTo(source);
        // Over: no longer listed or shown, and force / abort find a server that is not migrating.
        assertThat(v223.get(list).expect(200).json().get("migrations")).isEmpty();
        assertThat(message(v223.get(list + "/" + migration).expect(404))).contains("is not in progress");
        assertThat(v223.get("/compute/v2.1/os-migrations?instance_uuid=" + id).expect(200).json().at("/migrations/0").has("links"))
                .isFalse();
        assertThat(message(at("2.22").post(force, "{\"force_complete\": null}").expect(409)))
                .isEqualTo("Cannot 'force_complete' instance " + id + " while it is in task_state None");
        assertThat(message(at("2.24").delete(list + "/" + migration).expect(409)))
                .isEqualTo("Cannot 'abort live migration' instance " + id + " while it is in task_state None");
        Servers.deleteAndWait(member, id);
    }

    private static ApiClient at(String version) {
        return admin.withHeader("OpenStack-API-Version", "compute " + version);
    }

    private static String action(String id) {
        return "/compute/v2.1/servers/" + id + "/action";
    }

    private static String message(ApiClient.Response response) {
        JsonNode body = response.json();
        return body.elements().next().get("message").asText();
    }
}
