package io.strata.network;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The read-only Networking API of a real server: the one network, its subnet, filters, errors, the catalog. */
class NetworkApiTest {
    private static TestCloud cloud;
    private static ApiClient member;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start();
        member = cloud.newProjectUser("delta", "dora", "member");
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void listsAndShowsTheOneNetworkAndItsSubnet() {
        JsonNode networks = member.get("/network/v2.0/networks").expect(200).json().get("networks");
        assertThat(networks).hasSize(1);
        JsonNode network = networks.get(0);
        assertThat(network.get("name").asText()).isEqualTo("default");
        assertThat(network.get("status").asText()).isEqualTo("ACTIVE");
        assertThat(network.get("shared").asBoolean()).isTrue();
        assertThat(network.get("router:external").asBoolean()).isFalse();
        assertThat(network.get("id").asText()).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
        String id = network.get("id").asText();
        assertThat(member.get("/network/v2.0/networks/" + id).expect(200).json().at("/network/name").asText()).isEqualTo("default");

        String subnetId = network.at("/subnets/0").asText();
        JsonNode subnet = member.get("/network/v2.0/subnets/" + subnetId).expect(200).json().get("subnet");
        assertThat(subnet.get("network_id").asText()).isEqualTo(id);
        assertThat(subnet.get("cidr").asText()).isEqualTo("10.0.0.0/16");
        assertThat(subnet.get("gateway_ip").asText()).isEqualTo("10.0.0.1");
        assertThat(subnet.at("/allocation_pools/0/start").asText()).isEqualTo("10.0.0.2");
        assertThat(subnet.at("/allocation_pools/0/end").asText()).isEqualTo("10.0.255.254");
        assertThat(member.get("/network/v2.0/subnets?network_id=" + id).expect(200).json().get("subnets")).hasSize(1);

        // The same id after a restart: a network map that names it stays valid.
        cloud = cloud.restart();
        member = ApiClient.login(cloud.baseUrl(), "dora", "pw-dora", "delta");
        assertThat(member.get("/network/v2.0/networks").expect(200).json().at("/networks/0/id").asText()).isEqualTo(id);
    }

    @Test
    void filtersAsNeutronDoes() {
        String id = member.get("/network/v2.0/networks").expect(200).json().at("/networks/0/id").asText();
        assertThat(count("name=default")).isEqualTo(1);
        assertThat(count("name=other")).isZero();
        assertThat(count("name=other&name=default")).as("several values of one attribute: any").isEqualTo(1);
        assertThat(count("id=" + id)).isEqualTo(1);
        assertThat(count("shared=True")).isEqualTo(1);
        assertThat(count("shared=false")).isZero();
        assertThat(count("router:external=True")).isZero();
        assertThat(count("router%3Aexternal=False")).isEqualTo(1);
        assertThat(count("status=ACTIVE&admin_state_up=true")).isEqualTo(1);
        assertThat(count("tags=web")).isZero();
        assertThat(count("marker=" + id)).as("nothing after the one network").isZero();
        JsonNode projected = member.get("/network/v2.0/networks?fields=id&fields=name").expect(200).json().at("/networks/0");
        List<String> keys = new ArrayList<>();
        projected.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactlyInAnyOrder("id", "name");
    }

    @Test
    void errorsInNeutronsShape() {
        JsonNode missing = member.get("/network/v2.0/networks/4a3b7c1e-0000-4000-8000-000000000000").expect(404).json().get("NeutronError");
        assertThat(missing.get("type").asText()).isEqualTo("NetworkNotFound");
        assertThat(missing.get("message").asText()).isEqualTo("Network 4a3b7c1e-0000-4000-8000-000000000000 could not be found.");
        assertThat(missing.get("detail").asText()).isEmpty();
        assertThat(member.get("/network/v2.0/subnets/nope").expect(404).json().at("/NeutronError/type").asText()).isEqualTo("SubnetNotFound");
        JsonNode badFilter = member.get("/network/v2.0/networks?colour=blue").expect(400).json().get("NeutronError");
        assertThat(badFilter.get("type").asText()).isEqualTo("HTTPBadRequest");
        assertThat(badFilter.get("message").asText()).contains("colour");
        assertThat(member.get("/network/v2.0/networks?shared=maybe").expect(400).json().at("/NeutronError/type").asText())
                .isEqualTo("HTTPBadRequest");
        // Read-only: nothing can be created.
        assertThat(member.post("/network/v2.0/networks", "{\"network\": {\"name\": \"x\"}}").expect(405).json().at("/NeutronError/type").asText())
                .isEqualTo("HTTPMethodNotAllowed");
        assertThat(member.get("/network/v2.0/ports").expect(404).json().at("/NeutronError/type").asText()).isEqualTo("HTTPNotFound");
        cloud.anonymous().get("/network/v2.0/networks").expect(401);
    }

    @Test
    void securityGroupsAndRulesThroughNeutronAreComputesGroups() {
        String sg = "/network/v2.0/security-groups";
        String rules = "/network/v2.0/security-group-rules";
        JsonNode created = member.post(sg, "{\"security_group\": {\"name\": \"web\", \"description\": \"http in\"}}").expect(201).json()
                .get("security_group");
        String id = created.get("id").asText();
        assertThat(created.get("project_id").asText()).isNotEmpty();
        assertThat(created.get("security_group_rules")).isEmpty();
        String defaultId = member.get(sg + "?name=default").expect(200).json().at("/security_groups/0/id").asText();
        assertThat(defaultId).isNotEmpty();

        // tcp without ports is every port; icmp from a remote group.
        JsonNode tcp = member.post(rules, "{\"security_group_rule\": {\"security_group_id\": \"" + id + "\", \"direction\": \"ingress\", "
                + "\"ethertype\": \"IPv4\", \"protocol\": \"tcp\", \"remote_ip_prefix\": \"10.0.0.0/8\"}}").expect(201).json()
                .get("security_group_rule");
        assertThat(tcp.get("port_range_min").isNull()).isTrue();
        assertThat(tcp.get("remote_ip_prefix").asText()).isEqualTo("10.0.0.0/8");
        member.post(rules, "{\"security_group_rule\": {\"security_group_id\": \"" + id + "\", \"direction\": \"ingress\", "
                + "\"protocol\": \"icmp\", \"remote_group_id\": \"" + defaultId + "\"}}").expect(201);
        member.post(rules, "{\"security_group_rule\": {\"security_group_id\": \"" + id + "\", \"direction\": \"ingress\", "
                + "\"protocol\": \"6\", \"port_range_min\": 22, \"port_range_max\": 22}}").expect(201);
        // The same group through Compute's proxy API, as Nova shows Neutron's.
        JsonNode viaCompute = member.get("/compute/v2.1/os-security-groups/" + id)
                .expect(200).json().get("security_group");
        assertThat(viaCompute.get("rules")).hasSize(3);
        assertThat(member.get(rules + "?security_group_id=" + id).expect(200).json().get("security_group_rules")).hasSize(3);
        assertThat(member.get(rules + "?security_group_id=" + id + "&remote_group_id=" + defaultId).expect(200).json()
                .get("security_group_rules")).hasSize(1);

        // Refusals, in Neutron's shape, leave nothing behind.
        member.post(rules, "{\"security_group_rule\": {\"security_group_id\": \"" + id + "\", \"direction\": \"egress\"}}").expect(400);
        member.post(rules, "{\"security_group_rule\": {\"security_group_id\": \"" + id + "\", \"direction\": \"ingress\", "
                + "\"ethertype\": \"IPv6\"}}").expect(400);
        member.post(rules, "{\"security_group_rule\": {\"security_group_id\": \"" + id + "\", \"direction\": \"ingress\", "
                + "\"protocol\": \"gre\"}}").expect(400);
        JsonNode duplicate = member.post(rules, "{\"security_group_rule\": {\"security_group_id\": \"" + id + "\", \"direction\": "
                + "\"ingress\", \"protocol\": \"tcp\", \"remote_ip_prefix\": \"10.0.0.0/8\"}}").expect(409).json();
        assertThat(duplicate.at("/NeutronError/type").asText()).isEqualTo("SecurityGroupRuleExists");
        assertThat(member.get(rules + "?security_group_id=" + id).expect(200).json().get("security_group_rules")).hasSize(3);
        JsonNode missing = member.get(sg + "/no-such-group").expect(404).json();
        assertThat(missing.at("/NeutronError/type").asText()).isEqualTo("SecurityGroupNotFound");

        String tcpId = tcp.get("id").asText();
        assertThat(member.get(rules + "/" + tcpId).expect(200).json().at("/security_group_rule/protocol").asText()).isEqualTo("tcp");
        member.delete(rules + "/" + tcpId).expect(204);
        member.get(rules + "/" + tcpId).expect(404);
        assertThat(member.put(sg + "/" + id, "{\"security_group\": {\"description\": \"web in\"}}").expect(200).json()
                .at("/security_group/description").asText()).isEqualTo("web in");
        member.delete(sg + "/" + id).expect(204);
        member.get(sg + "/" + id).expect(404);

        // The quotas the openstack client reads for `quota show`.
        String project = member.get(sg + "?name=default").expect(200).json().at("/security_groups/0/project_id").asText();
        JsonNode quota = member.get("/network/v2.0/quotas/" + project).expect(200).json().get("quota");
        assertThat(quota.get("security_group").asLong()).isEqualTo(10);
        assertThat(quota.get("security_group_rule").asLong()).isEqualTo(20);
        member.get("/network/v2.0/quotas/someone-else").expect(403);
    }

    @Test
    void versionDiscoveryAndCatalog() {
        JsonNode version = cloud.anonymous().get("/network").expect(200).json().at("/versions/0");
        assertThat(version.get("id").asText()).isEqualTo("v2.0");
        assertThat(version.at("/links/0/href").asText()).isEqualTo(cloud.baseUrl() + "/network/v2.0/");
        JsonNode catalog = member.get("/identity/v3/auth/catalog").expect(200).json().get("catalog");
        JsonNode network = null;
        for (JsonNode service : catalog) {
            if (service.get("type").asText().equals("network")) {
                network = service;
            }
        }
        assertThat(network).as("the catalog's network service").isNotNull();
        assertThat(network.at("/endpoints/0/url").asText()).isEqualTo(cloud.baseUrl() + "/network");
    }

    private static int count(String query) {
        return member.get("/network/v2.0/networks?" + query).expect(200).json().get("networks").size();
    }
}
