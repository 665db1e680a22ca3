package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Compute resources other than servers: versions, microversions, flavors, keypairs, hosts, zones, limits. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ComputeResourcesApiTest {
    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static ApiClient member;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
        admin = cloud.admin();
        member = cloud.newProjectUser("beta", "bob", "member");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void versionDocumentsAndSelfLinks() {
        JsonNode versions = cloud.anonymous().get("/compute/").expect(200).json().get("versions");
        assertThat(versions).extracting(v -> v.get("id").asText()).containsExactly("v2.0", "v2.1");
        for (JsonNode version : versions) {
            String self = version.at("/links/0/href").asText();
            assertThat(cloud.anonymous().get(self).expect(200).json().at("/version/id").asText()).isEqualTo(version.get("id").asText());
        }
        assertThat(versions.get(1).get("version").asText()).isEqualTo(ApiVersion.MAX.toString());
    }

    @Test
    void microversionsAreNegotiatedAndEchoed() {
        ApiClient.Response latest = admin.withHeader("OpenStack-API-Version", "compute latest").get("/compute/v2.1/flavors").expect(200);
        assertThat(latest.header("OpenStack-API-Version")).isEqualTo("compute " + ApiVersion.MAX);
        ApiClient.Response legacy = admin.withHeader("X-OpenStack-Nova-API-Version", "2.5").get("/compute/v2.1/flavors").expect(200);
        assertThat(legacy.header("X-OpenStack-Nova-API-Version")).isEqualTo("2.5");
        assertThat(admin.get("/compute/v2.1/flavors").expect(200).header("OpenStack-API-Version")).isEqualTo("compute 2.1");
        JsonNode tooNew = admin.withHeader("OpenStack-API-Version", "compute 2.999").get("/compute/v2.1/flavors").expect(406).json();
        assertThat(tooNew.at("/notAcceptable/message").asText()).contains("Minimum is 2.1 and maximum is " + ApiVersion.MAX);
        admin.withHeader("OpenStack-API-Version", "compute two").get("/compute/v2.1/flavors").expect(400);
    }

    @Test
    void flavorsHaveNovasExactKeys() {
        JsonNode flavors = member.get("/compute/v2.1/flavors/detail").expect(200).json().get("flavors");
        assertThat(flavors).extracting(f -> f.get("name").asText()).contains("m1.tiny", "m1.small", "m1.medium", "m1.large");
        JsonNode tiny = member.get("/compute/v2.1/flavors/1").expect(200).json().get("flavor");
        assertThat(keys(tiny)).containsExactlyInAnyOrder("id", "name", "links", "OS-FLV-DISABLED:disabled", "disk",
                "OS-FLV-EXT-DATA:ephemeral", "os-flavor-access:is_public", "ram", "swap", "vcpus", "rxtx_factor");
        assertThat(tiny.get("swap").asText()).isEmpty();
        member.get("/compute/v2.1/flavors/nope").expect(404).json().at("/itemNotFound/message");
    }

    @Test
    void adminsManageFlavorsExtraSpecsAndAccess() {
        member.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"x\", \"ram\": 1, \"vcpus\": 1, \"disk\": 0}}").expect(403)
                .json().at("/forbidden/code");
        JsonNode created = admin.post("/compute/v2.1/flavors",
                "{\"flavor\": {\"name\": \"tiny.priv\", \"ram\": 256, \"vcpus\": 1, \"disk\": 1, \"id\": \"priv1\", "
                        + "\"os-flavor-access:is_public\": false}}").expect(200).json().get("flavor");
        assertThat(created.get("id").asText()).isEqualTo("priv1");
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"tiny.priv\", \"ram\": 256, \"vcpus\": 1, \"disk\": 1}}").expect(409);
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"bad\", \"ram\": \"lots\", \"vcpus\": 1, \"disk\": 1}}").expect(400)
                .json().at("/badRequest/message");
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"bad\", \"ram\": 1, \"vcpus\": 1, \"disk\": 1, \"colour\": 1}}").expect(400);
        // A private flavor is invisible to other projects until they get access.
        member.get("/compute/v2.1/flavors/priv1").expect(404);
        String betaId = admin.get("/identity/v3/projects?name=beta").expect(200).json().at("/projects/0/id").asText();
        admin.post("/compute/v2.1/flavors/priv1/action", "{\"addTenantAccess\": {\"tenant\": \"" + betaId + "\"}}").expect(200);
        member.get("/compute/v2.1/flavors/priv1").expect(200);
        admin.post("/compute/v2.1/flavors/priv1/os-extra_specs", "{\"extra_specs\": {\"hw:cpu_policy\": \"dedicated\"}}").expect(200);
        assertThat(member.get("/compute/v2.1/flavors/priv1/os-extra_specs").expect(200).json().at("/extra_specs/hw:cpu_policy").asText())
                .isEqualTo("dedicated");
        admin.delete("/compute/v2.1/flavors/priv1/os-extra_specs/hw:cpu_policy").expect(202);
        admin.delete("/compute/v2.1/flavors/priv1").expect(202);
        admin.get("/compute/v2.1/flavors/priv1").expect(404);
    }

    @Test
    void keypairsAreGeneratedImportedAndPrivateToTheirUser() {
        JsonNode generated = member.withHeader("OpenStack-API-Version", "compute 2.2")
                .post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"gen\"}}").expect(201).json().get("keypair");
        assertThat(generated.get("private_key").asText()).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(generated.get("public_key").asText()).startsWith("ssh-rsa ");
        assertThat(generated.get("fingerprint").asText()).matches("([0-9a-f]{2}:){15}[0-9a-f]{2}");
        String imported = generated.get("public_key").asText();
        JsonNode copy = admin.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"imp\", \"public_key\": \""
                + imported.strip() + "\"}}").expect(200).json().get("keypair");
        assertThat(copy.get("fingerprint").asText()).isEqualTo(generated.get("fingerprint").asText());
        assertThat(copy.has("private_key")).isFalse();
        member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"gen\"}}").expect(409);
        member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"bad\", \"public_key\": \"ssh-rsa notbase64!\"}}").expect(400);
        member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"bad/name\"}}").expect(400);
        assertThat(member.get("/compute/v2.1/os-keypairs").expect(200).json().get("keypairs"))
                .extracting(k -> k.at("/keypair/name").asText()).containsExactly("gen");
        member.get("/compute/v2.1/os-keypairs/imp").expect(404);
        member.delete("/compute/v2.1/os-keypairs/gen").expect(202);
        member.get("/compute/v2.1/os-keypairs/gen").expect(404);
    }

    @Test
    void hypervisorsServicesAndZones() {
        member.get("/compute/v2.1/os-hypervisors").expect(403);
        JsonNode hypervisors = admin.get("/compute/v2.1/os-hypervisors/detail").expect(200).json().get("hypervisors");
        assertThat(hypervisors).hasSize(1);
        JsonNode h = hypervisors.get(0);
        assertThat(h.get("hypervisor_type").asText()).isEqualTo("fake");
        assertThat(h.get("state").asText()).isEqualTo("up");
        assertThat(h.get("memory_mb").asLong()).isPositive();
        JsonNode stats = admin.get("/compute/v2.1/os-hypervisors/statistics").expect(200).json().get("hypervisor_statistics");
        assertThat(stats.get("count").asInt()).isEqualTo(1);
        String host = h.get("hypervisor_hostname").asText();
        JsonNode services = admin.get("/compute/v2.1/os-services").expect(200).json().get("services");
        assertThat(services).extracting(s -> s.get("host").asText()).containsExactly(host);
        admin.put("/compute/v2.1/os-services/disable-log-reason",
                "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\", \"disabled_reason\": \"maintenance\"}").expect(200);
        JsonNode disabled = admin.get("/compute/v2.1/os-services?host=" + host).expect(200).json().at("/services/0");
        assertThat(disabled.get("status").asText()).isEqualTo("disabled");
        assertThat(disabled.get("disabled_reason").asText()).isEqualTo("maintenance");
        admin.put("/compute/v2.1/os-services/enable", "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\"}").expect(200);
        admin.put("/compute/v2.1/os-services/enable", "{\"host\": \"nohost\", \"binary\": \"nova-compute\"}").expect(404);
        JsonNode zones = member.get("/compute/v2.1/os-availability-zone").expect(200).json().get("availabilityZoneInfo");
        assertThat(zones).extracting(z -> z.get("zoneName").asText()).containsExactly("nova");
    }

    @Test
    void limitsReportUsage() {
        JsonNode absolute = member.get("/compute/v2.1/limits").expect(200).json().at("/limits/absolute");
        assertThat(absolute.get("maxTotalKeypairs").asInt()).isEqualTo(100);
        assertThat(absolute.has("totalInstancesUsed")).isTrue();
    }

    @Test
    void unknownRoutesAndBadBodiesAnswerInNovasShape() {
        JsonNode notFound = admin.get("/compute/v2.1/nothing-here").expect(404).json();
        assertThat(notFound.has("itemNotFound")).isTrue();
        admin.post("/compute/v2.1/os-keypairs", "[1, 2").expect(400).json().at("/badRequest/message");
        cloud.anonymous().get("/compute/v2.1/flavors").expect(401);
    }

    private static Set<String> keys(JsonNode node) {
        Set<String> keys = new TreeSet<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            keys.add(it.next());
        }
        return keys;
    }
}
