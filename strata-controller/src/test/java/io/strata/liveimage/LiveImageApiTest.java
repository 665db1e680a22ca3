package io.strata.liveimage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Cobalt extension through the Compute API on the fake driver, on H2 and PostgreSQL: the
 * documented flow (bless, launch, list, delete clones, delete the original, discard), the older
 * gc_* names, and the rules users rely on.
 */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class LiveImageApiTest {
    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient member;
    private static ApiClient other;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
        member = cloud.newProjectUser("delta", "dora", "member");
        other = cloud.newProjectUser("epsilon", "eve", "member");
        image = Servers.uploadImage(member, "base");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void theCobaltFlow() {
        String source = Servers.create(member, "web", image, "1", null);
        Servers.waitFor(member, source, "ACTIVE");

        JsonNode blessed = action(member, source, "{\"co_bless\": {\"name\": \"web-live\"}}").expect(200).json();
        assertThat(blessed.isArray()).isTrue();
        assertThat(blessed).hasSize(1);
        String live = blessed.get(0).get("id").asText();
        assertThat(blessed.get(0).get("name").asText()).isEqualTo("web-live");
        assertThat(blessed.get(0).at("/metadata/blessed_from").asText()).isEqualTo(source);
        JsonNode liveImage = Servers.waitFor(member, live, "BLESSED");
        assertThat(liveImage.get("OS-EXT-STS:vm_state").asText()).isEqualTo("blessed");
        Servers.waitFor(member, source, "ACTIVE");

        String userData = Base64.getEncoder().encodeToString("clone data".getBytes(StandardCharsets.UTF_8));
        JsonNode launched = action(member, live, "{\"gc_launch\": {\"name\": \"clone\", \"num_instances\": 2, \"user_data\": \"" + userData
                + "\", \"guest\": {\"role\": \"worker\"}, \"security_groups\": null, \"availability_zone\": null, \"key_name\": null, "
                + "\"scheduler_hints\": {}}}").expect(200).json();
        assertThat(launched).hasSize(2);
        List<String> clones = new ArrayList<>();
        for (JsonNode clone : launched) {
            clones.add(clone.get("id").asText());
            assertThat(clone.get("name").asText()).isEqualTo("clone");
            assertThat(clone.at("/metadata/launched_from").asText()).isEqualTo(live);
        }
        assertThat(clones.get(0)).isNotEqualTo(clones.get(1));
        JsonNode first = Servers.waitFor(member, clones.get(0), "ACTIVE");
        JsonNode second = Servers.waitFor(member, clones.get(1), "ACTIVE");
        assertThat(first.at("/addresses/default/0/addr").asText()).isNotEqualTo(second.at("/addresses/default/0/addr").asText());
        String console = member.post("/compute/v2.1/servers/" + clones.get(0) + "/action", "{\"os-getConsoleOutput\": {}}")
                .expect(200).json().get("output").asText();
        assertThat(console).contains("resumed from live image");

        assertThat(ids(action(member, live, "{\"co_list_launched\": null}").expect(200).json())).containsExactlyInAnyOrderElementsOf(clones);
        assertThat(ids(action(member, source, "{\"gc_list_blessed\": {}}").expect(200).json())).containsExactly(live);

        // Rules: no discard while clones live (409 naming them), no plain delete of a live image.
        ApiClient.Response refused = action(member, live, "{\"co_discard\": null}").expect(409);
        assertThat(refused.text()).contains(clones.get(0)).contains(clones.get(1));
        assertThat(member.delete("/compute/v2.1/servers/" + live).expect(400).text()).contains("discard it instead");
        // Another project cannot see it, let alone launch from it.
        action(other, live, "{\"co_launch\": {}}").expect(404);

        clones.forEach(id -> Servers.deleteAndWait(member, id));
        assertThat(action(member, live, "{\"co_list_launched\": null}").expect(200).json()).isEmpty();
        // The original may go; its live image stays.
        Servers.deleteAndWait(member, source);
        Servers.waitFor(member, live, "BLESSED");

        ApiClient.Response discarded = action(member, live, "{\"co_discard\": null}").expect(200);
        assertThat(discarded.text()).isEqualTo("null");
        member.get("/compute/v2.1/servers/" + live).expect(404);
        action(member, live, "{\"co_launch\": {}}").expect(404);
    }

    @Test
    void blessAndLaunchAreRefusedWhereCobaltRefusesThem() {
        String server = Servers.create(member, "rules", image, "1", null);
        Servers.waitFor(member, server, "ACTIVE");
        assertThat(action(member, server, "{\"co_launch\": {}}").expect(400).text()).contains("is not a live image");
        assertThat(action(member, server, "{\"co_discard\": {}}").expect(400).text()).contains("is not a live image");

        Servers.action(member, server, "{\"os-stop\": null}");
        Servers.waitFor(member, server, "SHUTOFF");
        assertThat(action(member, server, "{\"co_bless\": {}}").expect(400).text()).contains("is not active");
        Servers.action(member, server, "{\"os-start\": null}");
        Servers.waitFor(member, server, "ACTIVE");

        // Without a name the live image is "<server>-<n>", as Cobalt names it.
        JsonNode blessed = action(member, server, "{\"gc_bless\": null}").expect(200).json();
        String live = blessed.get(0).get("id").asText();
        assertThat(blessed.get(0).get("name").asText()).isEqualTo("rules-0");
        Servers.waitFor(member, live, "BLESSED");
        assertThat(action(member, live, "{\"co_bless\": {}}").expect(400).text()).contains("already a live image");
        assertThat(action(member, server, "{\"co_bless\": {}}").expect(400).text()).contains("cannot be blessed again");

        assertThat(action(member, live, "{\"co_launch\": {\"num_instances\": 0}}").expect(400).text()).contains("at least 1");
        assertThat(action(member, live, "{\"co_launch\": {\"num_instances\": \"many\"}}").expect(400).text()).contains("integer");
        action(member, live, "{\"co_launch\": {\"key_name\": \"no-such-key\"}}").expect(400);
        action(member, live, "{\"co_launch\": {\"user_data\": \"not base64!\"}}").expect(400);
        action(member, live, "{\"co_launch\": {\"target\": \"lots\"}}").expect(400);
        // Each param may be long, but all of them must fit where they are kept: a 400, and no clone
        // row left behind (this launch was a 500 after the rows were written).
        String half = "x".repeat(2500);
        assertThat(action(member, live, "{\"co_launch\": {\"num_instances\": 2, \"guest\": {\"a\": \"" + half + "\", \"b\": \"" + half
                + "\"}}}").expect(400).text()).contains("at most 4000 are allowed");
        assertThat(action(member, live, "{\"co_list_launched\": null}").expect(200).json()).isEmpty();
        assertThat(member.get("/compute/v2.1/servers?name=rules-0-clone").expect(200).json().get("servers")).isEmpty();

        // A default-named clone, then everything goes.
        JsonNode clone = action(member, live, "{\"co_launch\": {\"target\": \"256M\"}}").expect(200).json().get(0);
        assertThat(clone.get("name").asText()).isEqualTo("rules-0-clone");
        Servers.waitFor(member, clone.get("id").asText(), "ACTIVE");
        Servers.deleteAndWait(member, clone.get("id").asText());
        Servers.deleteAndWait(member, server);
        action(member, live, "{\"co_discard\": {}}").expect(200);
    }

    @Test
    void quotasCountLiveImagesAndClones() {
        ApiClient quotaUser = cloud.newProjectUser("theta-" + kind.name().toLowerCase(), "tom-" + kind.name().toLowerCase(), "member");
        ApiClient admin = cloud.admin();
        String project = admin.get("/identity/v3/projects?name=theta-" + kind.name().toLowerCase()).expect(200).json()
                .at("/projects/0/id").asText();
        String base = Servers.uploadImage(quotaUser, "quota-base");
        String server = Servers.create(quotaUser, "quota-origin", base, "1", null);
        Servers.waitFor(quotaUser, server, "ACTIVE");
        // The server and its live image use two instances; room for one clone, not two.
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 3}}").expect(200);
        String live = action(quotaUser, server, "{\"co_bless\": {}}").expect(200).json().get(0).get("id").asText();
        Servers.waitFor(quotaUser, live, "BLESSED");
        assertThat(action(quotaUser, live, "{\"co_launch\": {\"num_instances\": 2}}").expect(413).text()).contains("Quota exceeded");
        assertThat(action(quotaUser, live, "{\"co_list_launched\": null}").expect(200).json()).isEmpty();
        String clone = action(quotaUser, live, "{\"co_launch\": {}}").expect(200).json().get(0).get("id").asText();
        Servers.waitFor(quotaUser, clone, "ACTIVE");
        Servers.deleteAndWait(quotaUser, clone);
        Servers.deleteAndWait(quotaUser, server);
        action(quotaUser, live, "{\"co_discard\": null}").expect(200);
    }

    @Test
    void clonesJoinTheSecurityGroupsTheLaunchNames() {
        ApiClient user = cloud.newProjectUser("iota-" + kind.name().toLowerCase(), "ian-" + kind.name().toLowerCase(), "member");
        String base = Servers.uploadImage(user, "groups-base");
        user.post("/compute/v2.1/os-security-groups", "{\"security_group\": {\"name\": \"web\", \"description\": \"HTTP in\"}}")
                .expect(200);
        String server = Servers.create(user, "grouped", base, "1", null);
        Servers.waitFor(user, server, "ACTIVE");
        String live = action(user, server, "{\"co_bless\": {}}").expect(200).json().get(0).get("id").asText();
        Servers.waitFor(user, live, "BLESSED");

        // As python-cobaltclient sends them (--security-groups web,default), and without any.
        String named = action(user, live, "{\"co_launch\": {\"security_groups\": [\"web\", \"default\"]}}").expect(200).json().get(0)
                .get("id").asText();
        String plain = action(user, live, "{\"co_launch\": {\"security_groups\": null}}").expect(200).json().get(0).get("id").asText();
        assertThat(groupNames(Servers.waitFor(user, named, "ACTIVE"))).containsExactlyInAnyOrder("web", "default");
        assertThat(groupNames(Servers.waitFor(user, plain, "ACTIVE"))).containsExactly("default");
        assertThat(user.get("/compute/v2.1/servers/" + named + "/os-security-groups").expect(200).json().get("security_groups"))
                .extracting(g -> g.get("name").asText()).containsExactlyInAnyOrder("web", "default");

        // An unknown group is refused before any clone exists.
        assertThat(action(user, live, "{\"co_launch\": {\"security_groups\": [\"no-such-group\"]}}").expect(400).text())
                .contains("no-such-group");
        // The older gc_* names of list and discard answer as the co_* ones.
        assertThat(ids(action(user, live, "{\"gc_list_launched\": null}").expect(200).json())).containsExactlyInAnyOrder(named, plain);
        assertThat(action(user, live, "{\"gc_discard\": null}").expect(409).text()).contains(named).contains(plain);
        Servers.deleteAndWait(user, named);
        Servers.deleteAndWait(user, plain);
        Servers.deleteAndWait(user, server);
        assertThat(action(user, live, "{\"gc_discard\": null}").expect(200).text()).isEqualTo("null");
        user.get("/compute/v2.1/servers/" + live).expect(404);
    }

    @Test
    void aGroupSchedulerHintMakesTheClonesMembersOfTheServerGroup() {
        ApiClient user = cloud.newProjectUser("kappa-" + kind.name().toLowerCase(), "kim-" + kind.name().toLowerCase(), "member");
        String base = Servers.uploadImage(user, "hint-base");
        String group = user.post("/compute/v2.1/os-server-groups", "{\"server_group\": {\"name\": \"pack\", \"policies\": [\"affinity\"]}}")
                .expect(200).json().at("/server_group/id").asText();
        String server = Servers.create(user, "hinted", base, "1", null);
        Servers.waitFor(user, server, "ACTIVE");
        String live = action(user, server, "{\"co_bless\": {}}").expect(200).json().get(0).get("id").asText();
        Servers.waitFor(user, live, "BLESSED");

        List<String> clones = ids(action(user, live, "{\"co_launch\": {\"num_instances\": 2, \"scheduler_hints\": {\"group\": \"" + group
                + "\", \"other\": \"ignored\"}}}").expect(200).json());
        clones.forEach(id -> Servers.waitFor(user, id, "ACTIVE"));
        assertThat(ids(user.get("/compute/v2.1/os-server-groups/" + group).expect(200).json().at("/server_group/members"), ""))
                .containsExactlyInAnyOrderElementsOf(clones);

        assertThat(action(user, live, "{\"co_launch\": {\"scheduler_hints\": {\"group\": \"not-a-uuid\"}}}").expect(400).text())
                .contains("not a 'uuid'");
        action(user, live, "{\"co_launch\": {\"scheduler_hints\": {\"group\": \"" + java.util.UUID.randomUUID() + "\"}}}").expect(400);
        assertThat(action(user, live, "{\"co_list_launched\": null}").expect(200).json()).hasSize(2);
        clones.forEach(id -> Servers.deleteAndWait(user, id));
        Servers.deleteAndWait(user, server);
        action(user, live, "{\"co_discard\": null}").expect(200);
    }

    @Test
    void cobaltInfoListsCapabilities() {
        JsonNode info = member.get("/compute/v2.1/cobaltinfo").expect(200).json();
        assertThat(ids(info.get("capabilities"), "")).contains("user-data", "num-instances", "bless-name", "launch-name");
        assertThat(member.get("/compute/v2.1/gcinfo").expect(200).json()).isEqualTo(info);
    }

    private static ApiClient.Response action(ApiClient client, String id, String body) {
        return client.post("/compute/v2.1/servers/" + id + "/action", body);
    }

    private static List<String> groupNames(JsonNode server) {
        return ids(server.get("security_groups"), "name");
    }

    private static List<String> ids(JsonNode servers) {
        return ids(servers, "id");
    }

    private static List<String> ids(JsonNode nodes, String field) {
        List<String> ids = new ArrayList<>();
        nodes.forEach(n -> ids.add(field.isEmpty() ? n.asText() : n.get(field).asText()));
        return ids;
    }
}
