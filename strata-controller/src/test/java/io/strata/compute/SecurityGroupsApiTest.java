package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** os-security-groups, their rules, and groups on servers (create, add/remove actions, the server's view). */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class SecurityGroupsApiTest {
    private static final String SG = "/compute/v2.1/os-security-groups";
    private static final String RULES = "/compute/v2.1/os-security-group-rules";

    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
        admin = cloud.admin();
        image = Servers.uploadPublicImage(admin, "cirros");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void groupsAndRulesFollowNovasShapesAndChecks() {
        ApiClient member = cloud.newProjectUser("sec-rules", "rita", "member");
        JsonNode listed = member.get(SG).expect(200).json().get("security_groups");
        assertThat(listed).extracting(g -> g.get("name").asText()).containsExactly("default");
        assertThat(fieldNames(listed.get(0))).containsExactly("description", "id", "name", "rules", "tenant_id");

        JsonNode web = member.post(SG, "{\"security_group\": {\"name\": \"web\", \"description\": \"HTTP in\"}}").expect(200).json()
                .get("security_group");
        String webId = web.get("id").asText();
        assertThat(web.get("rules")).isEmpty();
        member.post(SG, "{\"security_group\": {\"name\": \"web\", \"description\": \"again\"}}").expect(400).json().at("/badRequest/message");

        JsonNode ssh = member.post(RULES, "{\"security_group_rule\": {\"parent_group_id\": \"" + webId + "\", \"ip_protocol\": \"tcp\", "
                + "\"from_port\": 22, \"to_port\": \"22\", \"cidr\": \"10.0.0.0/8\"}}").expect(200).json().get("security_group_rule");
        assertThat(fieldNames(ssh)).containsExactly("from_port", "group", "id", "ip_protocol", "ip_range", "parent_group_id", "to_port");
        assertThat(ssh.at("/ip_range/cidr").asText()).isEqualTo("10.0.0.0/8");
        assertThat(ssh.get("to_port").asInt()).isEqualTo(22);
        assertThat(ssh.get("group").isEmpty()).isTrue();

        String defaultId = listed.get(0).get("id").asText();
        JsonNode fromGroup = member.post(RULES, "{\"security_group_rule\": {\"parent_group_id\": \"" + webId + "\", \"ip_protocol\": "
                + "\"icmp\", \"from_port\": -1, \"to_port\": -1, \"group_id\": \"" + defaultId + "\"}}").expect(200).json()
                .get("security_group_rule");
        assertThat(fromGroup.at("/group/name").asText()).isEqualTo("default");
        assertThat(fromGroup.get("ip_range").isEmpty()).isTrue();
        // A cidr beside a group_id is ignored, as Nova ignores it (the openstack CLI sends 0.0.0.0/0 with --remote-group).
        JsonNode bothGiven = member.post(RULES, "{\"security_group_rule\": {\"parent_group_id\": \"" + webId + "\", \"ip_protocol\": "
                + "\"udp\", \"from_port\": 53, \"to_port\": 53, \"cidr\": \"0.0.0.0/0\", \"group_id\": \"" + defaultId + "\"}}")
                .expect(200).json().get("security_group_rule");
        assertThat(bothGiven.at("/group/name").asText()).isEqualTo("default");
        assertThat(bothGiven.get("ip_range").isEmpty()).isTrue();
        member.delete(RULES + "/" + bothGiven.get("id").asText()).expect(202);

        assertThat(rule(member, webId, "\"ip_protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22, \"cidr\": \"10.0.0.0/8\"", 400))
                .isEqualTo("This rule already exists in group " + webId);
        assertThat(rule(member, webId, "\"ip_protocol\": \"gre\", \"from_port\": 1, \"to_port\": 2", 400)).isEqualTo("Invalid IP protocol gre.");
        assertThat(rule(member, webId, "\"ip_protocol\": \"tcp\", \"from_port\": 90, \"to_port\": 80", 400))
                .contains("Former value cannot be greater than the later");
        assertThat(rule(member, webId, "\"ip_protocol\": \"udp\", \"from_port\": 0, \"to_port\": 70000", 400)).startsWith("Invalid port range");
        assertThat(rule(member, webId, "\"ip_protocol\": \"tcp\", \"from_port\": 80, \"to_port\": 80, \"cidr\": \"300.1.1.1/8\"", 400))
                .isEqualTo("Invalid cidr 300.1.1.1/8.");

        JsonNode shown = member.get(SG + "/" + webId).expect(200).json().get("security_group");
        assertThat(shown.get("rules")).hasSize(2);
        member.delete(RULES + "/" + ssh.get("id").asText()).expect(202);
        assertThat(member.get(SG + "/" + webId).expect(200).json().at("/security_group/rules")).hasSize(1);

        ApiClient stranger = cloud.newProjectUser("sec-other", "oscar", "member");
        stranger.get(SG + "/" + webId).expect(404).json().at("/itemNotFound/message");
        member.withHeader("OpenStack-API-Version", "compute 2.36").get(SG).expect(404);
        assertThat(member.delete(SG + "/" + defaultId).expect(400).json().at("/badRequest/message").asText())
                .isEqualTo("Removing default security group not allowed.");
        member.delete(SG + "/" + webId).expect(202);
        member.get(SG + "/" + webId).expect(404);
    }

    @Test
    void serversCarryTheirGroups() {
        ApiClient member = cloud.newProjectUser("sec-servers", "sam", "member");
        String webId = member.post(SG, "{\"security_group\": {\"name\": \"web\", \"description\": \"\"}}").expect(200).json()
                .at("/security_group/id").asText();
        member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"x\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\", "
                + "\"security_groups\": [{\"name\": \"nope\"}]}}").expect(400).json().at("/badRequest/message");
        JsonNode created = member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"web-1\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\", \"security_groups\": [{\"name\": \"web\"}]}}").expect(202).json().get("server");
        assertThat(created.get("security_groups")).extracting(g -> g.get("name").asText()).containsExactly("web");
        String id = created.get("id").asText();
        Servers.waitFor(member, id, "ACTIVE");
        assertThat(groupsOf(member, id)).containsExactly("web");

        Servers.action(member, id, "{\"addSecurityGroup\": {\"name\": \"default\"}}");
        assertThat(groupsOf(member, id)).containsExactly("default", "web");
        // A list reads every listed server's groups at once: each still shows its own.
        String other = member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"plain-1\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\"}}").expect(202).json().at("/server/id").asText();
        Map<String, List<String>> listed = new HashMap<>();
        member.get("/compute/v2.1/servers/detail").expect(200).json().get("servers").forEach(s -> listed.put(s.get("id").asText(),
                StreamSupport.stream(s.get("security_groups").spliterator(), false).map(g -> g.get("name").asText()).sorted().toList()));
        assertThat(listed).containsEntry(id, List.of("default", "web")).containsEntry(other, List.of("default"));
        Servers.deleteAndWait(member, other);
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"addSecurityGroup\": {\"name\": \"default\"}}").expect(400);
        assertThat(member.get("/compute/v2.1/servers/" + id + "/os-security-groups").expect(200).json().get("security_groups"))
                .extracting(g -> g.get("name").asText()).containsExactly("default", "web");
        assertThat(member.delete(SG + "/" + webId).expect(400).json().at("/badRequest/message").asText()).contains("in use");

        Servers.action(member, id, "{\"removeSecurityGroup\": {\"name\": \"web\"}}");
        assertThat(groupsOf(member, id)).containsExactly("default");
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"removeSecurityGroup\": {\"name\": \"web\"}}").expect(400);
        member.delete(SG + "/" + webId).expect(202);
        Servers.deleteAndWait(member, id);
    }

    private static String rule(ApiClient client, String parent, String fields, int status) {
        return client.post(RULES, "{\"security_group_rule\": {\"parent_group_id\": \"" + parent + "\", " + fields + "}}").expect(status)
                .json().at("/badRequest/message").asText();
    }

    private static Set<String> groupsOf(ApiClient client, String server) {
        Set<String> names = new TreeSet<>();
        Servers.show(client, server).get("security_groups").forEach(g -> names.add(g.get("name").asText()));
        return names;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
