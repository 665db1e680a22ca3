package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** lock / unlock, os-resetState, createBackup with rotation, and the os-instance-actions history. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ServerAdminActionsTest {
    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static ApiClient member;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
        admin = cloud.admin();
        member = cloud.newProjectUser("admin-actions", "ada", "member");
        image = Servers.uploadPublicImage(admin, "cirros");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void lockedServersRefuseActionsFromNonAdmins() {
        String id = Servers.create(member, "lockable", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        Servers.action(member, id, "{\"lock\": null}");
        JsonNode shown = member.withHeader("OpenStack-API-Version", "compute 2.9").get("/compute/v2.1/servers/" + id).expect(200).json();
        assertThat(shown.at("/server/locked").asBoolean()).isTrue();
        assertThat(member.post("/compute/v2.1/servers/" + id + "/action", "{\"os-stop\": null}").expect(409).json()
                .at("/conflictingRequest/message").asText()).isEqualTo("Instance " + id + " is locked");
        member.put("/compute/v2.1/servers/" + id + "/metadata", "{\"metadata\": {\"a\": \"b\"}}").expect(409);
        member.delete("/compute/v2.1/servers/" + id).expect(409);

        // Admins act on locked servers.
        Servers.action(admin, id, "{\"os-stop\": null}");
        Servers.waitFor(member, id, "SHUTOFF");
        Servers.action(member, id, "{\"unlock\": null}");
        Servers.action(member, id, "{\"os-start\": null}");
        Servers.waitFor(member, id, "ACTIVE");
        Servers.deleteAndWait(member, id);
    }

    @Test
    void resetStateIsForAdminsAndForcesTheState() {
        String id = Servers.create(member, "stuck", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"os-resetState\": {\"state\": \"error\"}}").expect(403);
        admin.post("/compute/v2.1/servers/" + id + "/action", "{\"os-resetState\": {\"state\": \"stopped\"}}").expect(400);
        Servers.action(admin, id, "{\"os-resetState\": {\"state\": \"error\"}}");
        assertThat(Servers.show(member, id).get("status").asText()).isEqualTo("ERROR");
        Servers.action(admin, id, "{\"os-resetState\": {\"state\": \"active\"}}");
        JsonNode active = Servers.show(member, id);
        assertThat(active.get("status").asText()).isEqualTo("ACTIVE");
        assertThat(active.get("OS-EXT-STS:task_state").isNull()).isTrue();
        admin.post("/compute/v2.1/servers/nope/action", "{\"os-resetState\": {\"state\": \"active\"}}").expect(404);
        // Deletes are immediate, so nothing is ever soft-deleted: restore is refused as Nova refuses it.
        assertThat(member.post("/compute/v2.1/servers/" + id + "/action", "{\"restore\": null}").expect(409).json()
                .at("/conflictingRequest/message").asText()).isEqualTo("Cannot 'restore' instance " + id + " while it is in vm_state active");
        Servers.deleteAndWait(member, id);
    }

    @Test
    void forceDeleteRemovesAServerInAnyStateUnlessLockedForNonAdmins() {
        // As Nova's forceDelete: any vm_state and task_state, the owner may, a locked server refuses non-admins.
        String errored = Servers.create(member, "doomed", image, "1", null);
        Servers.waitFor(member, errored, "ACTIVE");
        Servers.action(admin, errored, "{\"os-resetState\": {\"state\": \"error\"}}");
        Servers.action(admin, errored, "{\"lock\": null}");
        assertThat(member.post("/compute/v2.1/servers/" + errored + "/action", "{\"forceDelete\": null}").expect(409).json()
                .at("/conflictingRequest/message").asText()).isEqualTo("Instance " + errored + " is locked");
        assertThat(Servers.show(member, errored).get("status").asText()).isEqualTo("ERROR");
        admin.post("/compute/v2.1/servers/" + errored + "/action", "{\"forceDelete\": null}").expect(202);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> member.get("/compute/v2.1/servers/" + errored).status() == 404);

        String active = Servers.create(member, "doomed-too", image, "1", null);
        Servers.waitFor(member, active, "ACTIVE");
        member.post("/compute/v2.1/servers/" + active + "/action", "{\"forceDelete\": null}").expect(202);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> member.get("/compute/v2.1/servers/" + active).status() == 404);
        // Its resources came back once: the project's usage is zero again.
        JsonNode absolute = member.get("/compute/v2.1/limits").expect(200).json().at("/limits/absolute");
        assertThat(absolute.get("totalInstancesUsed").asLong()).isZero();
        member.post("/compute/v2.1/servers/" + active + "/action", "{\"forceDelete\": null}").expect(404);
    }

    @Test
    void createBackupKeepsTheNewestOfEachType() {
        String id = Servers.create(member, "backed-up", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        List<String> daily = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            daily.add(backup(id, "daily-" + i, "daily", 2));
        }
        String weekly = backup(id, "weekly-1", "weekly", 1);
        assertThat(backupsOf(id, "daily")).containsExactlyInAnyOrder(daily.get(1), daily.get(2));
        assertThat(backupsOf(id, "weekly")).containsExactly(weekly);
        JsonNode image = member.get("/image/v2/images/" + weekly).expect(200).json();
        assertThat(image.get("image_type").asText()).isEqualTo("backup");
        assertThat(image.get("backup_type").asText()).isEqualTo("weekly");

        member.post("/compute/v2.1/servers/" + id + "/action", "{\"createBackup\": {\"name\": \"b\", \"backup_type\": \"daily\"}}")
                .expect(400);
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"createBackup\": {\"name\": \"b\", \"backup_type\": \"daily\", "
                + "\"rotation\": -1}}").expect(400);
        // Rotation 0 makes no backup and deletes those of the type.
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"createBackup\": {\"name\": \"b\", \"backup_type\": \"daily\", "
                + "\"rotation\": 0}}").expect(202);
        assertThat(backupsOf(id, "daily")).isEmpty();
        assertThat(backupsOf(id, "weekly")).containsExactly(weekly);
        Servers.deleteAndWait(member, id);
    }

    @Test
    void instanceActionsRecordWhatWasAsked() {
        String id = Servers.create(member, "audited", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String stopRequest = member.post("/compute/v2.1/servers/" + id + "/action", "{\"os-stop\": null}").expect(202)
                .header("x-openstack-request-id");
        Servers.waitFor(member, id, "SHUTOFF");
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"os-getConsoleOutput\": {}}").expect(200);
        Servers.action(member, id, "{\"os-start\": null}");
        Servers.waitFor(member, id, "ACTIVE");
        // Refused requests are not history.
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"os-start\": null}").expect(409);
        Servers.action(member, id, "{\"lock\": null}");
        Servers.action(member, id, "{\"unlock\": null}");

        JsonNode actions = member.get("/compute/v2.1/servers/" + id + "/os-instance-actions").expect(200).json().get("instanceActions");
        assertThat(actions).extracting(a -> a.get("action").asText()).containsExactly("unlock", "lock", "start", "stop", "create");
        JsonNode stop = actions.get(3);
        assertThat(stop.get("request_id").asText()).isEqualTo(stopRequest);
        assertThat(stop.get("instance_uuid").asText()).isEqualTo(id);
        assertThat(stop.get("start_time").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}");

        JsonNode shown = member.get("/compute/v2.1/servers/" + id + "/os-instance-actions/" + stopRequest).expect(200).json()
                .get("instanceAction");
        assertThat(shown.get("action").asText()).isEqualTo("stop");
        assertThat(shown.has("events")).isFalse();
        assertThat(admin.get("/compute/v2.1/servers/" + id + "/os-instance-actions/" + stopRequest).expect(200).json()
                .at("/instanceAction").has("events")).isTrue();
        member.get("/compute/v2.1/servers/" + id + "/os-instance-actions/req-nope").expect(404).json().at("/itemNotFound/message");
        Servers.deleteAndWait(member, id);
    }

    private static String backup(String server, String name, String type, int rotation) {
        String imageId = member.withHeader("OpenStack-API-Version", "compute 2.45").post("/compute/v2.1/servers/" + server + "/action",
                "{\"createBackup\": {\"name\": \"" + name + "\", \"backup_type\": \"" + type + "\", \"rotation\": " + rotation + "}}")
                .expect(202).json().get("image_id").asText();
        // The task clears after the upload and the rotation.
        Servers.waitFor(member, server, "ACTIVE");
        return imageId;
    }

    private static List<String> backupsOf(String server, String type) {
        List<String> ids = new ArrayList<>();
        for (JsonNode image : member.get("/image/v2/images?limit=1000").expect(200).json().get("images")) {
            if (server.equals(image.path("instance_uuid").asText()) && "backup".equals(image.path("image_type").asText())
                    && type.equals(image.path("backup_type").asText())) {
                ids.add(image.get("id").asText());
            }
        }
        return ids;
    }
}
