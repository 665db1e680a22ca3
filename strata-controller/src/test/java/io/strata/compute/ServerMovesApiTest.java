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
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Cold migrate and resize across simulated hosts: VERIFY_RESIZE, confirm and revert, the refusals
 * Nova's API answers, and the os-migrations records of every kind of move, on H2 and PostgreSQL.
 */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ServerMovesApiTest {
    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static ApiClient member;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind, config -> config.withFakeHosts(3, StrataConfig.FakeHostSpec.DEFAULT));
        admin = cloud.admin();
        member = cloud.newProjectUser("movers", "max", "member");
        image = Servers.uploadImage(member, "movable");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void resizeMovesToANewFlavorOnAnotherHostAndConfirmRemovesTheSource() {
        String id = Servers.create(member, "grower", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String source = host(id);

        Servers.action(member, id, "{\"resize\": {\"flavorRef\": \"2\"}}");
        JsonNode resized = Servers.waitFor(admin, id, "VERIFY_RESIZE");
        String destination = resized.get("OS-EXT-SRV-ATTR:host").asText();
        assertThat(destination).isNotEqualTo(source);
        assertThat(resized.at("/flavor/id").asText()).isEqualTo("2");
        JsonNode v247 = admin.withHeader("OpenStack-API-Version", "compute 2.47").get("/compute/v2.1/servers/" + id).expect(200).json()
                .get("server");
        assertThat(v247.at("/flavor/original_name").asText()).isEqualTo("m1.small");
        assertThat(v247.at("/flavor/ram").asInt()).isEqualTo(2048);
        assertThat(resized.get("OS-EXT-STS:vm_state").asText()).isEqualTo("resized");
        assertThat(resized.get("OS-EXT-STS:power_state").asInt()).isEqualTo(1);
        // The guest's console (the fake's disk) came along, and the source VM is kept for a revert.
        assertThat(console(id)).contains("login:").contains("moved to " + destination + " with 1 vCPUs and 2048 MB");
        assertVmsOn(source, id, 1);
        assertVmsOn(destination, id, 1);

        JsonNode migration = migrationOf(id, "resize");
        assertThat(migration.get("status").asText()).isEqualTo("finished");
        assertThat(migration.get("source_compute").asText()).isEqualTo(source);
        assertThat(migration.get("dest_compute").asText()).isEqualTo(destination);
        assertThat(migration.get("old_instance_type_id").asInt()).isEqualTo(1);
        assertThat(migration.get("new_instance_type_id").asInt()).isEqualTo(2);

        // The action history shows the steps the compute service ran, to admins.
        JsonNode resizeAction = actionNamed(id, "resize");
        JsonNode events = admin.get("/compute/v2.1/servers/" + id + "/os-instance-actions/" + resizeAction.get("request_id").asText())
                .expect(200).json().at("/instanceAction/events");
        assertThat(events).hasSize(1);
        assertThat(events.get(0).get("event").asText()).isEqualTo("compute_resize_instance");
        assertThat(events.get(0).get("result").asText()).isEqualTo("Success");
        assertThat(events.get(0).get("finish_time").asText()).isGreaterThanOrEqualTo(events.get(0).get("start_time").asText());
        assertThat(member.get("/compute/v2.1/servers/" + id + "/os-instance-actions/" + resizeAction.get("request_id").asText())
                .expect(200).json().at("/instanceAction").has("events")).isFalse();
        JsonNode createEvents = admin.get("/compute/v2.1/servers/" + id + "/os-instance-actions/"
                + actionNamed(id, "create").get("request_id").asText()).expect(200).json().at("/instanceAction/events");
        assertThat(createEvents.get(0).get("event").asText()).isEqualTo("compute__do_build_and_run_instance");
        assertThat(createEvents.get(0).get("result").asText()).isEqualTo("Success");

        member.post(action(id), "{\"confirmResize\": null}").expect(204);
        JsonNode confirmed = Servers.waitFor(member, id, "ACTIVE");
        assertThat(confirmed.at("/flavor/id").asText()).isEqualTo("2");
        assertThat(host(id)).isEqualTo(destination);
        assertVmsOn(source, id, 0);
        assertThat(migrationOf(id, "resize").get("status").asText()).isEqualTo("confirmed");
        member.post(action(id), "{\"confirmResize\": null}").expect(409);
        Servers.deleteAndWait(member, id);
    }

    @Test
    void migrateOfAStoppedServerAndRevertPutItBackAsItWas() {
        String id = Servers.create(member, "sleeper", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        Servers.action(member, id, "{\"os-stop\": null}");
        Servers.waitFor(member, id, "SHUTOFF");
        String source = host(id);

        member.post(action(id), "{\"migrate\": null}").expect(403);
        admin.post(action(id), "{\"migrate\": null}").expect(202);
        JsonNode moved = Servers.waitFor(admin, id, "VERIFY_RESIZE");
        String destination = moved.get("OS-EXT-SRV-ATTR:host").asText();
        assertThat(destination).isNotEqualTo(source);
        assertThat(moved.get("OS-EXT-STS:power_state").asInt()).isEqualTo(4);   // still off: it was off
        assertThat(moved.at("/flavor/id").asText()).isEqualTo("1");

        member.post(action(id), "{\"revertResize\": null}").expect(202);
        JsonNode reverted = Servers.waitFor(member, id, "SHUTOFF");
        assertThat(host(id)).isEqualTo(source);
        assertThat(reverted.at("/flavor/id").asText()).isEqualTo("1");
        assertVmsOn(destination, id, 0);
        assertVmsOn(source, id, 1);
        JsonNode migration = migrationOf(id, "migration");
        assertThat(migration.get("status").asText()).isEqualTo("reverted");
        assertThat(migration.get("old_instance_type_id").asInt()).isEqualTo(migration.get("new_instance_type_id").asInt());

        // A running server reverted runs again on its source.
        Servers.action(member, id, "{\"os-start\": null}");
        Servers.waitFor(member, id, "ACTIVE");
        Servers.action(member, id, "{\"resize\": {\"flavorRef\": \"2\"}}");
        Servers.waitFor(member, id, "VERIFY_RESIZE");
        member.post(action(id), "{\"revertResize\": null}").expect(202);
        JsonNode running = Servers.waitFor(member, id, "ACTIVE");
        assertThat(running.get("OS-EXT-STS:power_state").asInt()).isEqualTo(1);
        assertThat(running.at("/flavor/id").asText()).isEqualTo("1");
        assertThat(host(id)).isEqualTo(source);
        Servers.deleteAndWait(member, id);
        assertVmsOn(source, id, 0);
        assertVmsOn(destination, id, 0);
    }

    @Test
    void refusalsAsNovaAnswersThem() {
        String id = Servers.create(member, "refused", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        assertThat(message(member.post(action(id), "{\"resize\": {\"flavorRef\": \"1\"}}").expect(400)))
                .isEqualTo("When resizing, instances must change flavor!");
        assertThat(message(member.post(action(id), "{\"resize\": {\"flavorRef\": \"no-such\"}}").expect(400)))
                .contains("could not be found");
        member.post(action(id), "{\"resize\": {}}").expect(400);
        member.post(action(id), "{\"resize\": {\"flavorRef\": \"2\", \"colour\": \"red\"}}").expect(400);
        assertThat(message(member.post(action(id), "{\"confirmResize\": null}").expect(409))).contains("vm_state active");
        member.post(action(id), "{\"revertResize\": null}").expect(409);
        // Naming a host needs 2.56 (above the 2.47 Strata serves): Nova's body is {"migrate": null} until then.
        assertThat(message(admin.post(action(id), "{\"migrate\": {\"host\": \"" + otherHost(host(id)) + "\"}}").expect(400)))
                .contains("is not of type 'null'");
        admin.withHeader("OpenStack-API-Version", "compute 2.47").post(action(id), "{\"migrate\": {}}").expect(400);
        // A flavor no host has room for: accepted, then NoValidHost; the server stays where it runs and the event says Error.
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"huge\", \"id\": \"huge\", \"ram\": 100000000, "
                + "\"vcpus\": 1, \"disk\": 1}}").expect(200);
        String before = host(id);
        admin.post(action(id), "{\"resize\": {\"flavorRef\": \"huge\"}}").expect(202);
        Servers.waitFor(member, id, "ACTIVE");
        assertThat(host(id)).isEqualTo(before);
        assertThat(migrationOf(id, "resize").get("status").asText()).isEqualTo("error");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(admin.get("/compute/v2.1/servers/"
                + id + "/os-instance-actions/" + actionNamed(id, "resize").get("request_id").asText()).expect(200).json()
                .at("/instanceAction/events/0/result").asText()).isEqualTo("Error"));

        Servers.action(member, id, "{\"pause\": null}");
        Servers.waitFor(member, id, "PAUSED");
        member.post(action(id), "{\"resize\": {\"flavorRef\": \"2\"}}").expect(409);
        admin.post("/compute/v2.1/os-migrations", "{}").expect(405);
        member.get("/compute/v2.1/os-migrations").expect(403);
        Servers.deleteAndWait(member, id);
    }

    @Test
    void migrateAndEveryMoveIsListedPagedAndFiltered() {
        String id = Servers.create(member, "traveller", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String source = host(id);
        admin.post(action(id), "{\"migrate\": null}").expect(202);
        Servers.waitFor(admin, id, "VERIFY_RESIZE");
        String target = host(id);
        assertThat(target).isNotEqualTo(source);
        admin.post(action(id), "{\"confirmResize\": null}").expect(204);
        Servers.waitFor(member, id, "ACTIVE");

        admin.post(action(id), "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}").expect(202);
        Servers.waitFor(member, id, "ACTIVE");
        JsonNode live = migrationOf(id, "live-migration");
        assertThat(live.get("status").asText()).isEqualTo("completed");
        assertThat(live.get("source_compute").asText()).isEqualTo(target);
        assertThat(live.get("dest_compute").asText()).isEqualTo(host(id));
        // Links only for live migrations under way (ServerMigrationsApiTest); uuid, user_id, project_id only from 2.59 / 2.80.
        assertThat(live.has("links")).isFalse();
        assertThat(live.has("uuid")).isFalse();
        assertThat(live.has("user_id")).isFalse();
        assertThat(live.has("project_id")).isFalse();

        // Filters, and the pre-2.23 shape without migration_type.
        JsonNode byServer = admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id).expect(200).json();
        assertThat(byServer.get("migrations")).hasSize(2);
        assertThat(byServer.has("migrations_links")).isFalse();
        assertThat(byServer.get("migrations").get(0).has("migration_type")).isFalse();
        assertThat(admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&status=confirmed").expect(200).json()
                .get("migrations")).hasSize(1);
        assertThat(admin.get("/compute/v2.1/os-migrations?host=" + target + "&instance_uuid=" + id).expect(200).json()
                .get("migrations")).hasSize(2);
        assertThat(admin.get("/compute/v2.1/os-migrations?source_compute=" + target + "&instance_uuid=" + id).expect(200).json()
                .get("migrations")).hasSize(1);
        String project = Servers.show(admin, id).get("tenant_id").asText();
        assertThat(admin.get("/compute/v2.1/os-migrations?project_id=" + project + "&instance_uuid=" + id).expect(200).json()
                .get("migrations")).hasSize(2);
        assertThat(admin.get("/compute/v2.1/os-migrations?project_id=other&instance_uuid=" + id).expect(200).json()
                .get("migrations")).isEmpty();
        String adminUser = admin.get("/identity/v3/users?name=admin").expect(200).json().at("/users/0/id").asText();
        String memberUser = admin.get("/identity/v3/users?name=max").expect(200).json().at("/users/0/id").asText();
        assertThat(admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&user_id=" + adminUser).expect(200).json()
                .get("migrations")).hasSize(2);
        assertThat(admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&user_id=" + memberUser).expect(200).json()
                .get("migrations")).isEmpty();

        // Paging: newest first, one at a time, following migrations_links.
        JsonNode first = admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&limit=1").expect(200).json();
        assertThat(first.get("migrations")).hasSize(1);
        assertThat(first.at("/migrations/0/id").asInt()).isEqualTo(byServer.at("/migrations/0/id").asInt());
        String next = first.at("/migrations_links/0/href").asText();
        assertThat(first.at("/migrations_links/0/rel").asText()).isEqualTo("next");
        assertThat(next).contains("instance_uuid=" + id).contains("limit=1").contains("marker=");
        JsonNode second = admin.get(next.substring(next.indexOf("/compute/"))).expect(200).json();
        assertThat(second.get("migrations")).hasSize(1);
        assertThat(second.at("/migrations/0/id").asInt()).isEqualTo(byServer.at("/migrations/1/id").asInt());
        String last = second.at("/migrations_links/0/href").asText();
        JsonNode third = admin.get(last.substring(last.indexOf("/compute/"))).expect(200).json();
        assertThat(third.get("migrations")).isEmpty();
        assertThat(third.has("migrations_links")).isFalse();
        assertThat(message(admin.get("/compute/v2.1/os-migrations?marker=no-such-migration").expect(400))).contains("no-such-migration");
        admin.get("/compute/v2.1/os-migrations?limit=-1").expect(400);
        admin.get("/compute/v2.1/os-migrations?limit=many").expect(400);

        // changes-since / changes-before bound updated_at.
        String updated = byServer.at("/migrations/0/updated_at").asText();
        JsonNode since = admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&changes-since=" + updated).expect(200).json();
        assertThat(since.get("migrations")).hasSize(1);
        assertThat(admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&changes-before=" + updated).expect(200).json()
                .get("migrations")).hasSize(2);
        assertThat(admin.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&changes-since=2999-01-01T00:00:00Z").expect(200)
                .json().get("migrations")).isEmpty();
        assertThat(message(admin.get("/compute/v2.1/os-migrations?changes-since=2020-01-02T00:00:00Z&changes-before=2020-01-01T00:00:00Z")
                .expect(400))).contains("changes-since must be less than or equal to changes-before");
        admin.get("/compute/v2.1/os-migrations?changes-since=yesterday").expect(400);

        // The server migrations sub-resource only knows live migrations.
        ApiClient v223 = admin.withHeader("OpenStack-API-Version", "compute 2.23");
        String cold = String.valueOf(byServer.at("/migrations/1/id").asInt());
        assertThat(message(v223.get("/compute/v2.1/servers/" + id + "/migrations/" + cold).expect(404))).contains("is not live-migration");
        Servers.deleteAndWait(member, id);
    }

    @Test
    void evacuateToANamedHost() {
        String id = Servers.create(member, "evacuee", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String failed = host(id);
        String target = otherHost(failed);
        String third = thirdHost(failed, target);
        ApiClient v229 = admin.withHeader("OpenStack-API-Version", "compute 2.29");
        forceDown(failed, true);
        try {
            assertThat(message(v229.post(action(id), "{\"evacuate\": {\"host\": \"nowhere\"}}").expect(404))).contains("nowhere");
            v229.post(action(id), "{\"evacuate\": {\"host\": \"" + failed + "\"}}").expect(400);
            forceDown(third, true);
            assertThat(message(v229.post(action(id), "{\"evacuate\": {\"host\": \"" + third + "\"}}").expect(400))).contains("unavailable");
            forceDown(third, false);
            disable(third, true);
            assertThat(message(v229.post(action(id), "{\"evacuate\": {\"host\": \"" + third + "\"}}").expect(400))).contains("disabled");
            disable(third, false);

            v229.post(action(id), "{\"evacuate\": {\"host\": \"" + target + "\"}}").expect(200);
            Servers.waitFor(admin, id, "ACTIVE");
            assertThat(host(id)).isEqualTo(target);
            JsonNode evacuation = migrationOf(id, "evacuation");
            assertThat(evacuation.get("status").asText()).isEqualTo("done");
            assertThat(evacuation.get("source_compute").asText()).isEqualTo(failed);
            assertThat(evacuation.get("dest_compute").asText()).isEqualTo(target);
        } finally {
            forceDown(failed, false);
        }
        Servers.deleteAndWait(member, id);
    }

    @Test
    void diagnosticsForAdmins() throws InterruptedException {
        String id = Servers.create(member, "diagnosed", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        member.get("/compute/v2.1/servers/" + id + "/diagnostics").expect(403);
        JsonNode first = admin.get("/compute/v2.1/servers/" + id + "/diagnostics").expect(200).json();
        assertThat(first.get("memory").asLong()).isEqualTo(512 * 1024);
        assertThat(first.get("cpu0_time").asLong()).isPositive();
        assertThat(first.has("cpu1_time")).isFalse();
        assertThat(first.get("vda_read").asLong()).isPositive();
        assertThat(first.get("vnet0_rx_packets").asLong()).isPositive();
        Thread.sleep(1_100);
        JsonNode later = admin.get("/compute/v2.1/servers/" + id + "/diagnostics").expect(200).json();
        assertThat(later.get("cpu0_time").asLong()).isGreaterThan(first.get("cpu0_time").asLong());
        assertThat(later.get("vda_write").asLong()).isGreaterThan(first.get("vda_write").asLong());

        Servers.action(member, id, "{\"os-stop\": null}");
        Servers.waitFor(member, id, "SHUTOFF");
        JsonNode stopped = admin.get("/compute/v2.1/servers/" + id + "/diagnostics").expect(200).json();
        assertThat(stopped.get("cpu0_time").asLong()).isZero();
        assertThat(stopped.get("memory-actual").asLong()).isZero();
        admin.get("/compute/v2.1/servers/no-such-server/diagnostics").expect(404);
        Servers.deleteAndWait(member, id);
    }

    private static JsonNode actionNamed(String id, String name) {
        for (JsonNode a : admin.get("/compute/v2.1/servers/" + id + "/os-instance-actions").expect(200).json().get("instanceActions")) {
            if (a.get("action").asText().equals(name)) {
                return a;
            }
        }
        throw new AssertionError("no action " + name + " on " + id);
    }

    private static JsonNode migrationOf(String id, String type) {
        ApiClient v223 = admin.withHeader("OpenStack-API-Version", "compute 2.23");
        JsonNode all = v223.get("/compute/v2.1/os-migrations?instance_uuid=" + id + "&migration_type=" + type).expect(200).json()
                .get("migrations");
        assertThat(all.size()).as("migrations of type %s for %s", type, id).isGreaterThan(0);
        JsonNode newest = all.get(0);
        assertThat(newest.get("instance_uuid").asText()).isEqualTo(id);
        assertThat(newest.get("migration_type").asText()).isEqualTo(type);
        return newest;
    }

    /** The VMs the simulated host itself holds for {@code id} (its state file, flushed every second), running or not. */
    private static void assertVmsOn(String host, String id, int expected) {
        Path state = cloud.dataDir().resolve("fake").resolve(host + ".json");
        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            int found = 0;
            if (Files.exists(state)) {
                for (JsonNode vm : Json.MAPPER.readTree(state.toFile())) {
                    found += vm.get("id").asText().equals(id) ? 1 : 0;
                }
            }
            assertThat(found).as("VMs of %s on %s", id, host).isEqualTo(expected);
        });
    }

    private static String host(String id) {
        return Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
    }

    private static String otherHost(String host) {
        return thirdHost(host, host);
    }

    private static String thirdHost(String a, String b) {
        for (JsonNode h : admin.get("/compute/v2.1/os-hypervisors").expect(200).json().get("hypervisors")) {
            String name = h.get("hypervisor_hostname").asText();
            if (!name.equals(a) && !name.equals(b)) {
                return name;
            }
        }
        throw new AssertionError("not enough hosts");
    }

    private static void forceDown(String host, boolean down) {
        admin.withHeader("OpenStack-API-Version", "compute 2.11").put("/compute/v2.1/os-services/force-down",
                "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\", \"forced_down\": " + down + "}").expect(200);
    }

    private static void disable(String host, boolean disabled) {
        admin.put("/compute/v2.1/os-services/" + (disabled ? "disable" : "enable"),
                "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\"}").expect(200);
    }

    private static String message(ApiClient.Response response) {
        JsonNode body = response.json();
        return body.elements().next().get("message").asText();
    }

    private static String console(String id) {
        return member.post(action(id), "{\"os-getConsoleOutput\": {}}").expect(200).json().get("output").asText();
    }

    private static String action(String id) {
        return "/compute/v2.1/servers/" + id + "/action";
    }
}
