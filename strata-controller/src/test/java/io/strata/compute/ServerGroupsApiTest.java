package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** os-server-groups and their policies in the scheduler, across three fake hosts. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ServerGroupsApiTest {
    private static final String GROUPS = "/compute/v2.1/os-server-groups";

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
        member = cloud.newProjectUser("sg-tenant", "sergio", "member");
        image = Servers.uploadPublicImage(admin, "cirros");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void crudFollowsNovasShapesAndMicroversions() {
        JsonNode group = member.post(GROUPS, "{\"server_group\": {\"name\": \"web\", \"policies\": [\"anti-affinity\"]}}").expect(200)
                .json().get("server_group");
        assertThat(fieldNames(group)).containsExactlyInAnyOrder("id", "name", "policies", "members", "metadata");
        assertThat(group.get("policies")).extracting(JsonNode::asText).containsExactly("anti-affinity");
        String id = group.get("id").asText();
        JsonNode newer = member.withHeader("OpenStack-API-Version", "compute 2.13").get(GROUPS + "/" + id).expect(200).json()
                .get("server_group");
        assertThat(fieldNames(newer)).contains("project_id", "user_id");

        member.post(GROUPS, "{\"server_group\": {\"name\": \"s\", \"policies\": [\"soft-affinity\"]}}").expect(400);
        String soft = member.withHeader("OpenStack-API-Version", "compute 2.15")
                .post(GROUPS, "{\"server_group\": {\"name\": \"s\", \"policies\": [\"soft-affinity\"]}}").expect(200).json()
                .at("/server_group/id").asText();
        member.post(GROUPS, "{\"server_group\": {\"name\": \"two\", \"policies\": [\"affinity\", \"anti-affinity\"]}}").expect(400);
        member.post(GROUPS, "{\"server_group\": {\"name\": \"none\"}}").expect(400);

        assertThat(member.get(GROUPS).expect(200).json().get("server_groups")).extracting(g -> g.get("id").asText()).contains(id, soft);
        assertThat(admin.get(GROUPS).expect(200).json().get("server_groups")).extracting(g -> g.get("id").asText()).doesNotContain(id);
        assertThat(admin.get(GROUPS + "?all_projects=True").expect(200).json().get("server_groups"))
                .extracting(g -> g.get("id").asText()).contains(id);
        ApiClient stranger = cloud.newProjectUser("sg-other", "stella", "member");
        stranger.get(GROUPS + "/" + id).expect(404).json().at("/itemNotFound/message");

        member.delete(GROUPS + "/" + id).expect(204);
        member.delete(GROUPS + "/" + soft).expect(204);
        member.get(GROUPS + "/" + id).expect(404);
    }

    @Test
    void antiAffinitySpreadsMembersAndRefusesAFourthHost() {
        String group = group("spread", "anti-affinity", "2.1");
        List<String> ids = boot(group, 3);
        assertThat(hostsOf(ids)).hasSize(3);
        JsonNode shown = member.get(GROUPS + "/" + group).expect(200).json().get("server_group");
        assertThat(shown.get("members")).extracting(JsonNode::asText).containsExactlyInAnyOrderElementsOf(ids);

        String extra = createInGroup("spread-extra", group);
        assertThat(Servers.waitFor(member, extra, "ERROR").at("/fault/message").asText()).contains("No valid host was found");
        ids.add(extra);
        cleanup(ids, group);
    }

    @Test
    void aMemberForcedOntoAHostCountsForTheMembersScheduledAfterIt() {
        String group = admin.post(GROUPS, "{\"server_group\": {\"name\": \"forced\", \"policies\": [\"anti-affinity\"]}}").expect(200)
                .json().at("/server_group/id").asText();
        String forcedHost = admin.get("/compute/v2.1/os-hypervisors").expect(200).json().at("/hypervisors/0/hypervisor_hostname").asText();
        List<String> ids = new ArrayList<>();
        ids.add(admin.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"pinned\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\", \"availability_zone\": \"nova:" + forcedHost + "\"}, \"os:scheduler_hints\": {\"group\": \""
                + group + "\"}}").expect(202).json().at("/server/id").asText());
        for (int i = 0; i < 2; i++) {
            ids.add(admin.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"free-" + i + "\", \"imageRef\": \"" + image
                    + "\", \"flavorRef\": \"1\"}, \"os:scheduler_hints\": {\"group\": \"" + group + "\"}}").expect(202).json()
                    .at("/server/id").asText());
        }
        ids.forEach(id -> Servers.waitFor(admin, id, "ACTIVE"));
        assertThat(Servers.show(admin, ids.get(0)).get("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(forcedHost);
        assertThat(hostsOf(ids)).hasSize(3);
        ids.forEach(id -> Servers.deleteAndWait(admin, id));
        admin.delete(GROUPS + "/" + group).expect(204);
    }

    @Test
    void affinityKeepsMembersTogether() {
        String group = group("together", "affinity", "2.1");
        List<String> ids = boot(group, 3);
        assertThat(hostsOf(ids)).hasSize(1);
        cleanup(ids, group);
    }

    @Test
    void softAntiAffinityPrefersEmptyHosts() {
        String group = group("prefer-spread", "soft-anti-affinity", "2.15");
        List<String> ids = boot(group, 4);
        assertThat(hostsOf(ids)).hasSize(3);
        cleanup(ids, group);
    }

    @Test
    void groupQuotasAreEnforced() {
        ApiClient limited = cloud.newProjectUser("sg-limited", "lionel", "member");
        String project = admin.get("/identity/v3/projects?name=sg-limited").expect(200).json().at("/projects/0/id").asText();
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"server_groups\": 1, \"server_group_members\": 2}}")
                .expect(200);
        String group = limited.post(GROUPS, "{\"server_group\": {\"name\": \"only\", \"policies\": [\"affinity\"]}}").expect(200).json()
                .at("/server_group/id").asText();
        assertThat(limited.post(GROUPS, "{\"server_group\": {\"name\": \"second\", \"policies\": [\"affinity\"]}}").expect(403).json()
                .at("/forbidden/message").asText()).isEqualTo("Quota exceeded, too many server groups.");
        assertThat(limited.get("/compute/v2.1/limits").expect(200).json().at("/limits/absolute/totalServerGroupsUsed").asInt()).isEqualTo(1);
        assertThat(limited.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"m\", \"imageRef\": \"" + image + "\", \"flavorRef\": "
                + "\"1\", \"min_count\": 3}, \"os:scheduler_hints\": {\"group\": \"" + group + "\"}}").expect(403).json()
                .at("/forbidden/message").asText()).isEqualTo("Quota exceeded, too many servers in group");
        limited.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"m\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\"}, "
                + "\"os:scheduler_hints\": {\"group\": \"not-a-uuid\"}}").expect(400);
        limited.delete(GROUPS + "/" + group).expect(204);
    }

    private static String group(String name, String policy, String version) {
        return member.withHeader("OpenStack-API-Version", "compute " + version)
                .post(GROUPS, "{\"server_group\": {\"name\": \"" + name + "\", \"policies\": [\"" + policy + "\"]}}").expect(200).json()
                .at("/server_group/id").asText();
    }

    private static List<String> boot(String group, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(createInGroup("member-" + i, group));
        }
        ids.forEach(id -> Servers.waitFor(member, id, "ACTIVE"));
        return ids;
    }

    private static String createInGroup(String name, String group) {
        return member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"" + name + "\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\"}, \"os:scheduler_hints\": {\"group\": \"" + group + "\"}}").expect(202).json()
                .at("/server/id").asText();
    }

    private static Set<String> hostsOf(List<String> ids) {
        Set<String> hosts = new HashSet<>();
        ids.forEach(id -> hosts.add(Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText()));
        return hosts;
    }

    private static void cleanup(List<String> ids, String group) {
        ids.forEach(id -> Servers.deleteAndWait(member, id));
        member.delete(GROUPS + "/" + group).expect(204);
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
