package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
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

/** evacuate: a server on a host whose service is down is rebuilt from its image on another host. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ServerEvacuationTest {
    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind, config -> config.withFakeHosts(2, StrataConfig.FakeHostSpec.DEFAULT));
        admin = cloud.admin();
        image = Servers.uploadPublicImage(admin, "cirros");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void evacuateRebuildsElsewhereOnlyWhenTheHostIsDown() {
        ApiClient member = cloud.newProjectUser("evac", "eve", "member");
        String id = Servers.create(member, "evacuee", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        String failed = Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText();
        ApiClient v214 = admin.withHeader("OpenStack-API-Version", "compute 2.14");

        member.post("/compute/v2.1/servers/" + id + "/action", "{\"evacuate\": {}}").expect(403);
        assertThat(v214.post("/compute/v2.1/servers/" + id + "/action", "{\"evacuate\": {}}").expect(400).json()
                .at("/badRequest/message").asText()).isEqualTo("Compute service of " + failed + " is still in use.");

        forceDown(failed, true);
        v214.post("/compute/v2.1/servers/" + id + "/action", "{\"evacuate\": {}}").expect(200);
        JsonNode rebuilt = Servers.waitFor(admin, id, "ACTIVE");
        assertThat(rebuilt.get("OS-EXT-SRV-ATTR:host").asText()).isNotEqualTo(failed);
        assertThat(rebuilt.at("/addresses/default/0/addr").asText()).startsWith("10.0.");
        JsonNode actions = admin.get("/compute/v2.1/servers/" + id + "/os-instance-actions").expect(200).json().get("instanceActions");
        assertThat(actions.get(0).get("action").asText()).isEqualTo("evacuate");

        // Before 2.14 the answer carries the admin password.
        String other = rebuilt.get("OS-EXT-SRV-ATTR:host").asText();
        forceDown(failed, false);
        forceDown(other, true);
        JsonNode legacy = admin.post("/compute/v2.1/servers/" + id + "/action", "{\"evacuate\": {\"onSharedStorage\": false, "
                + "\"adminPass\": \"s3cret\"}}").expect(200).json();
        assertThat(legacy.get("adminPass").asText()).isEqualTo("s3cret");
        assertThat(Servers.waitFor(admin, id, "ACTIVE").get("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(failed);
        forceDown(other, false);
        Servers.deleteAndWait(member, id);
    }

    @Test
    void anEvacuatedCloneOfALiveImageStartsAgainFromTheLiveImage() {
        ApiClient member = cloud.newProjectUser("evac-live", "liv", "member");
        String origin = Servers.create(member, "origin", image, "1", null);
        Servers.waitFor(member, origin, "ACTIVE");
        String live = member.post("/compute/v2.1/servers/" + origin + "/action", "{\"co_bless\": {}}").expect(200).json().get(0).get("id")
                .asText();
        Servers.waitFor(member, live, "BLESSED");
        String clone = member.post("/compute/v2.1/servers/" + live + "/action", "{\"co_launch\": {}}").expect(200).json().get(0).get("id")
                .asText();
        Servers.waitFor(member, clone, "ACTIVE");
        String failed = Servers.show(admin, clone).get("OS-EXT-SRV-ATTR:host").asText();

        forceDown(failed, true);
        try {
            admin.withHeader("OpenStack-API-Version", "compute 2.14").post("/compute/v2.1/servers/" + clone + "/action", "{\"evacuate\": {}}")
                    .expect(200);
            JsonNode rebuilt = Servers.waitFor(admin, clone, "ACTIVE");
            assertThat(rebuilt.get("OS-EXT-SRV-ATTR:host").asText()).isNotEqualTo(failed);
            assertThat(rebuilt.at("/metadata/launched_from").asText()).isEqualTo(live);
            // Launched from the live image again (the fake's clone console says so), not cold-booted from the image.
            assertThat(Servers.console(member, clone)).contains("resumed from live image " + live);
            JsonNode evacuation = admin.withHeader("OpenStack-API-Version", "compute 2.23")
                    .get("/compute/v2.1/os-migrations?instance_uuid=" + clone).expect(200).json().get("migrations").get(0);
            assertThat(evacuation.get("migration_type").asText()).isEqualTo("evacuation");
            assertThat(evacuation.get("status").asText()).isEqualTo("done");
        } finally {
            forceDown(failed, false);
        }
        Servers.deleteAndWait(member, clone);
        member.post("/compute/v2.1/servers/" + live + "/action", "{\"co_discard\": null}").expect(200);
        Servers.deleteAndWait(member, origin);
    }

    private static void forceDown(String host, boolean down) {
        admin.withHeader("OpenStack-API-Version", "compute 2.11").put("/compute/v2.1/os-services/force-down",
                "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\", \"forced_down\": " + down + "}").expect(200);
    }
}
