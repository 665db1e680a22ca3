package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** lock / unlock and os-resetState. */
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
        Servers.deleteAndWait(member, id);
    }
}
