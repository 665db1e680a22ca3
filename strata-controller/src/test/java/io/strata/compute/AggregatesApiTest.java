package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** os-aggregates, the zones they define and the aggregate scheduler filters, across three fake hosts. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class AggregatesApiTest {
    private static final String AGG = "/compute/v2.1/os-aggregates";

    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static ApiClient member;
    private static String memberProject;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind, config -> config.withFakeHosts(3, StrataConfig.FakeHostSpec.DEFAULT));
        admin = cloud.admin();
        member = cloud.newProjectUser("agg-tenant", "agnes", "member");
        memberProject = admin.get("/identity/v3/projects?name=agg-tenant").expect(200).json().at("/projects/0/id").asText();
        image = Servers.uploadPublicImage(admin, "cirros");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void crudWithNovasShapesAndStatusCodes() {
        JsonNode created = admin.post(AGG, "{\"aggregate\": {\"name\": \"rack-1\"}}").expect(200).json().get("aggregate");
        assertThat(fieldNames(created)).containsExactlyInAnyOrder("availability_zone", "created_at", "deleted", "deleted_at", "id", "name",
                "updated_at");
        assertThat(created.get("availability_zone").isNull()).isTrue();
        int id = created.get("id").asInt();
        admin.post(AGG, "{\"aggregate\": {\"name\": \"rack-1\"}}").expect(409).json().at("/conflictingRequest/message");
        admin.post(AGG, "{\"aggregate\": {\"name\": \"\"}}").expect(400).json().at("/badRequest/message");
        admin.post(AGG, "{\"aggregate\": {\"name\": \"x\", \"colour\": \"red\"}}").expect(400);
        member.get(AGG).expect(403).json().at("/forbidden/message");

        JsonNode shown = admin.withHeader("OpenStack-API-Version", "compute 2.41").get(AGG + "/" + id).expect(200).json().get("aggregate");
        assertThat(fieldNames(shown)).containsExactlyInAnyOrder("availability_zone", "created_at", "deleted", "deleted_at", "hosts", "id",
                "metadata", "name", "updated_at", "uuid");
        assertThat(fieldNames(admin.get(AGG + "/" + id).expect(200).json().get("aggregate"))).doesNotContain("uuid");
        admin.get(AGG + "/9999").expect(404).json().at("/itemNotFound/message");

        JsonNode renamed = admin.put(AGG + "/" + id, "{\"aggregate\": {\"name\": \"rack-one\"}}").expect(200).json().get("aggregate");
        assertThat(renamed.get("name").asText()).isEqualTo("rack-one");
        assertThat(renamed.get("updated_at").isNull()).isFalse();

        JsonNode withMeta = action(id, "{\"set_metadata\": {\"metadata\": {\"ssd\": \"true\", \"gpu\": \"no\"}}}", 200);
        assertThat(withMeta.at("/metadata/ssd").asText()).isEqualTo("true");
        JsonNode removed = action(id, "{\"set_metadata\": {\"metadata\": {\"gpu\": null}}}", 200);
        assertThat(fieldNames(removed.get("metadata"))).containsExactly("ssd");

        JsonNode withHost = action(id, "{\"add_host\": {\"host\": \"compute-0001\"}}", 200);
        assertThat(withHost.get("hosts")).extracting(JsonNode::asText).containsExactly("compute-0001");
        assertThat(admin.post(AGG + "/" + id + "/action", "{\"add_host\": {\"host\": \"compute-0001\"}}").expect(409).json()
                .at("/conflictingRequest/message").asText()).isEqualTo("Aggregate " + id + " already has host compute-0001.");
        assertThat(admin.post(AGG + "/" + id + "/action", "{\"add_host\": {\"host\": \"nowhere\"}}").expect(404).json()
                .at("/itemNotFound/message").asText()).isEqualTo("Compute host nowhere could not be found.");
        assertThat(admin.delete(AGG + "/" + id).expect(400).json().at("/badRequest/message").asText()).contains("not empty");
        assertThat(admin.get(AGG).expect(200).json().get("aggregates")).extracting(a -> a.get("name").asText()).contains("rack-one");

        action(id, "{\"remove_host\": {\"host\": \"compute-0001\"}}", 200);
        assertThat(admin.post(AGG + "/" + id + "/action", "{\"remove_host\": {\"host\": \"compute-0001\"}}").expect(404).json()
                .at("/itemNotFound/message").asText()).isEqualTo("Cannot remove host compute-0001 in aggregate " + id);
        admin.delete(AGG + "/" + id).expect(200);
        admin.get(AGG + "/" + id).expect(404);
    }

    @Test
    void aggregateZoneIsTheHostsZoneForUsersAndTheScheduler() {
        int id = admin.post(AGG, "{\"aggregate\": {\"name\": \"zone-a\", \"availability_zone\": \"az-a\"}}").expect(200).json()
                .at("/aggregate/id").asInt();
        action(id, "{\"add_host\": {\"host\": \"compute-0002\"}}", 200);
        JsonNode zones = member.get("/compute/v2.1/os-availability-zone").expect(200).json().get("availabilityZoneInfo");
        assertThat(zones).extracting(z -> z.get("zoneName").asText()).contains("az-a", "nova");
        JsonNode services = admin.get("/compute/v2.1/os-services?host=compute-0002").expect(200).json().get("services");
        assertThat(services.get(0).get("zone").asText()).isEqualTo("az-a");

        // A host is in one zone only.
        int other = admin.post(AGG, "{\"aggregate\": {\"name\": \"zone-b\", \"availability_zone\": \"az-b\"}}").expect(200).json()
                .at("/aggregate/id").asInt();
        assertThat(admin.post(AGG + "/" + other + "/action", "{\"add_host\": {\"host\": \"compute-0002\"}}").expect(409).json()
                .at("/conflictingRequest/message").asText()).contains("already in availability zone(s) ['az-a']");

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(Servers.create(member, "in-az-" + i, image, "1", "\"availability_zone\": \"az-a\""));
        }
        for (String server : ids) {
            assertThat(Servers.waitFor(member, server, "ACTIVE").get("OS-EXT-AZ:availability_zone").asText()).isEqualTo("az-a");
            assertThat(Servers.show(admin, server).get("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("compute-0002");
        }
        ids.forEach(server -> Servers.deleteAndWait(member, server));

        action(id, "{\"remove_host\": {\"host\": \"compute-0002\"}}", 200);
        assertThat(admin.get("/compute/v2.1/os-services?host=compute-0002").expect(200).json().at("/services/0/zone").asText())
                .isEqualTo("nova");
        admin.delete(AGG + "/" + id).expect(200);
        admin.delete(AGG + "/" + other).expect(200);
    }

    @Test
    void flavorExtraSpecsPlaceOnlyOnMatchingAggregates() {
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"ssd.small\", \"id\": \"ssd-small\", \"ram\": 512, \"vcpus\": 1, "
                + "\"disk\": 1}}").expect(200);
        admin.post("/compute/v2.1/flavors/ssd-small/os-extra_specs",
                "{\"extra_specs\": {\"aggregate_instance_extra_specs:ssd\": \"true\", \"hw:cpu_policy\": \"shared\"}}").expect(200);
        int id = admin.post(AGG, "{\"aggregate\": {\"name\": \"fast-disks\"}}").expect(200).json().at("/aggregate/id").asInt();
        action(id, "{\"add_host\": {\"host\": \"compute-0003\"}}", 200);
        action(id, "{\"set_metadata\": {\"metadata\": {\"ssd\": \"true\"}}}", 200);

        Set<String> hostsUsed = new TreeSet<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ids.add(Servers.create(admin, "ssd-" + i, image, "ssd-small", null));
        }
        for (String server : ids) {
            Servers.waitFor(admin, server, "ACTIVE");
            hostsUsed.add(Servers.show(admin, server).get("OS-EXT-SRV-ATTR:host").asText());
        }
        assertThat(hostsUsed).containsExactly("compute-0003");

        // No aggregate matches any more: no valid host.
        action(id, "{\"set_metadata\": {\"metadata\": {\"ssd\": \"false\"}}}", 200);
        String failed = Servers.create(admin, "ssd-nowhere", image, "ssd-small", null);
        assertThat(Servers.waitFor(admin, failed, "ERROR").at("/fault/message").asText()).contains("No valid host was found");
        ids.add(failed);
        ids.forEach(server -> Servers.deleteAndWait(admin, server));
        action(id, "{\"remove_host\": {\"host\": \"compute-0003\"}}", 200);
        admin.delete(AGG + "/" + id).expect(200);
    }

    @Test
    void tenantIsolationKeepsOtherProjectsOffTheAggregate() {
        int id = admin.post(AGG, "{\"aggregate\": {\"name\": \"dedicated\"}}").expect(200).json().at("/aggregate/id").asInt();
        action(id, "{\"add_host\": {\"host\": \"compute-0001\"}}", 200);
        action(id, "{\"set_metadata\": {\"metadata\": {\"filter_tenant_id\": \"" + memberProject + "\"}}}", 200);

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ids.add(Servers.create(admin, "outsider-" + i, image, "1", null));
        }
        for (String server : ids) {
            Servers.waitFor(admin, server, "ACTIVE");
            assertThat(Servers.show(admin, server).get("OS-EXT-SRV-ATTR:host").asText()).isNotEqualTo("compute-0001");
        }
        ids.forEach(server -> Servers.deleteAndWait(admin, server));

        // With the other hosts disabled, only the member's project can still boot.
        setService("compute-0002", "disable");
        setService("compute-0003", "disable");
        String insider = Servers.create(member, "insider", image, "1", null);
        Servers.waitFor(member, insider, "ACTIVE");
        assertThat(Servers.show(admin, insider).get("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("compute-0001");
        String outsider = Servers.create(admin, "outsider", image, "1", null);
        assertThat(Servers.waitFor(admin, outsider, "ERROR").at("/fault/message").asText()).contains("No valid host was found");
        setService("compute-0002", "enable");
        setService("compute-0003", "enable");
        Servers.deleteAndWait(member, insider);
        Servers.deleteAndWait(admin, outsider);
        action(id, "{\"remove_host\": {\"host\": \"compute-0001\"}}", 200);
        admin.delete(AGG + "/" + id).expect(200);
    }

    private static void setService(String host, String verb) {
        admin.put("/compute/v2.1/os-services/" + verb, "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\"}").expect(200);
    }

    private static JsonNode action(int id, String body, int status) {
        return admin.post(AGG + "/" + id + "/action", body).expect(status).json().get("aggregate");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
