package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The server lifecycle through the Compute API, on the fake driver, on H2 and PostgreSQL. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ServersApiTest {
    /** The keys of Nova's server body at 2.1 for an admin; strict clients reject others. */
    private static final Set<String> SERVER_KEYS_ADMIN = Set.of("id", "name", "status", "tenant_id", "user_id", "metadata", "hostId",
            "image", "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links", "OS-DCF:diskConfig", "progress",
            "OS-EXT-AZ:availability_zone", "config_drive", "key_name", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at",
            "OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-STS:task_state",
            "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state", "os-extended-volumes:volumes_attached", "security_groups");

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
        member = cloud.newProjectUser("gamma", "gina", "member");
        image = Servers.uploadImage(admin, "cirros");
        admin.patch("/image/v2/images/" + image, "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"public\"}]",
                "application/openstack-images-v2.1-json-patch").expect(200);
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void createShowsAdminPassAndRequestIds() {
        ApiClient.Response response = member.post("/compute/v2.1/servers",
                "{\"server\": {\"name\": \"vm-a\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\"}}").expect(202);
        assertThat(response.header("x-openstack-request-id")).startsWith("req-");
        assertThat(response.header("x-compute-request-id")).isEqualTo(response.header("x-openstack-request-id"));
        JsonNode server = response.json().get("server");
        assertThat(server.get("adminPass").asText()).hasSizeGreaterThanOrEqualTo(8);
        assertThat(response.header("Location")).endsWith("/servers/" + server.get("id").asText());
        JsonNode active = Servers.waitFor(member, server.get("id").asText(), "ACTIVE");
        assertThat(active.get("OS-EXT-STS:power_state").asInt()).isEqualTo(1);
        assertThat(active.get("progress").asInt()).isEqualTo(100);
        assertThat(active.at("/addresses/default/0/addr").asText()).startsWith("10.0.");
        assertThat(active.has("OS-EXT-SRV-ATTR:host")).as("members do not see the host").isFalse();
        JsonNode asAdmin = Servers.show(admin, server.get("id").asText());
        assertThat(keys(asAdmin)).isEqualTo(new TreeSet<>(SERVER_KEYS_ADMIN));
        Servers.deleteAndWait(member, server.get("id").asText());
    }

    @Test
    void everyPowerAction() {
        String id = Servers.create(member, "vm-power", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        Servers.action(member, id, "{\"os-stop\": null}");
        assertThat(Servers.waitFor(member, id, "SHUTOFF").get("OS-EXT-STS:power_state").asInt()).isEqualTo(4);
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"os-stop\": null}").expect(409);
        Servers.action(member, id, "{\"os-start\": null}");
        Servers.waitFor(member, id, "ACTIVE");
        Servers.action(member, id, "{\"reboot\": {\"type\": \"SOFT\"}}");
        Servers.waitFor(member, id, "ACTIVE");
        Servers.action(member, id, "{\"reboot\": {\"type\": \"HARD\"}}");
        Servers.waitFor(member, id, "ACTIVE");
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"reboot\": {\"type\": \"GENTLE\"}}").expect(400);
        Servers.action(member, id, "{\"pause\": null}");
        Servers.waitFor(member, id, "PAUSED");
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"suspend\": null}").expect(409);
        Servers.action(member, id, "{\"unpause\": null}");
        Servers.waitFor(member, id, "ACTIVE");
        Servers.action(member, id, "{\"suspend\": null}");
        Servers.waitFor(member, id, "SUSPENDED");
        Servers.action(member, id, "{\"resume\": null}");
        Servers.waitFor(member, id, "ACTIVE");
        String output = member.post("/compute/v2.1/servers/" + id + "/action", "{\"os-getConsoleOutput\": {\"length\": 5}}")
                .expect(200).json().get("output").asText();
        assertThat(output).contains("Linux");
        member.post("/compute/v2.1/servers/" + id + "/action", "{\"no-such-action\": {}}").expect(404);
        Servers.deleteAndWait(member, id);
    }

    @Test
    void tenancyHidesOtherProjectsServers() {
        String mine = Servers.create(admin, "admins-vm", image, "1", null);
        member.get("/compute/v2.1/servers/" + mine).expect(404);
        member.delete("/compute/v2.1/servers/" + mine).expect(404);
        assertThat(member.get("/compute/v2.1/servers").expect(200).json().get("servers"))
                .extracting(s -> s.get("id").asText()).doesNotContain(mine);
        member.get("/compute/v2.1/servers?all_tenants=1").expect(403);
        assertThat(admin.get("/compute/v2.1/servers/detail?all_tenants=1").expect(200).json().get("servers"))
                .extracting(s -> s.get("id").asText()).contains(mine);
        Servers.waitFor(admin, mine, "ACTIVE");
        Servers.deleteAndWait(admin, mine);
    }

    @Test
    void listFiltersAndPaging() {
        String a = Servers.create(member, "filter-alpha", image, "1", null);
        String b = Servers.create(member, "filter-beta", image, "1", null);
        String c = Servers.create(member, "other", image, "1", null);
        for (String id : new String[] {a, b, c}) {
            Servers.waitFor(member, id, "ACTIVE");
        }
        Servers.action(member, c, "{\"os-stop\": null}");
        Servers.waitFor(member, c, "SHUTOFF");
        assertThat(member.get("/compute/v2.1/servers?name=filter-").expect(200).json().get("servers"))
                .extracting(s -> s.get("name").asText()).containsExactlyInAnyOrder("filter-alpha", "filter-beta");
        assertThat(member.get("/compute/v2.1/servers/detail?status=SHUTOFF").expect(200).json().get("servers"))
                .extracting(s -> s.get("id").asText()).containsExactly(c);
        JsonNode page = member.get("/compute/v2.1/servers?limit=2").expect(200).json();
        assertThat(page.get("servers")).hasSize(2);
        String next = page.at("/servers_links/0/href").asText();
        assertThat(next).contains("marker=");
        JsonNode rest = member.get(next.substring(next.indexOf("/compute"))).expect(200).json();
        assertThat(rest.get("servers").size()).isGreaterThanOrEqualTo(1);
        member.get("/compute/v2.1/servers?sort_key=colour").expect(400);
        for (String id : new String[] {a, b, c}) {
            Servers.deleteAndWait(member, id);
        }
    }

    @Test
    void multiCreateUserDataMetadataAndUpdate() {
        String userData = Base64.getEncoder().encodeToString("#!/bin/sh\necho hello\n".getBytes(StandardCharsets.UTF_8));
        String reservation = member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"multi\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\", \"min_count\": 3, \"return_reservation_id\": true, \"user_data\": \"" + userData
                + "\", \"metadata\": {\"role\": \"web\"}}}").expect(202).json().get("reservation_id").asText();
        // Nova's reservation_id filter finds exactly the servers of that one request.
        assertThat(member.get("/compute/v2.1/servers?reservation_id=" + reservation).expect(200).json().get("servers")).hasSize(3);
        assertThat(member.get("/compute/v2.1/servers?reservation_id=r-none").expect(200).json().get("servers")).isEmpty();
        JsonNode servers = member.get("/compute/v2.1/servers/detail?name=%5Emulti-").expect(200).json().get("servers");
        assertThat(servers).extracting(s -> s.get("name").asText()).containsExactlyInAnyOrder("multi-1", "multi-2", "multi-3");
        Set<String> ips = new TreeSet<>();
        for (JsonNode s : servers) {
            ips.add(s.at("/addresses/default/0/addr").asText());
            assertThat(s.at("/metadata/role").asText()).isEqualTo("web");
        }
        assertThat(ips).hasSize(3);
        String first = servers.get(0).get("id").asText();
        JsonNode renamed = member.put("/compute/v2.1/servers/" + first, "{\"server\": {\"name\": \"renamed\"}}").expect(200).json();
        assertThat(renamed.at("/server/name").asText()).isEqualTo("renamed");
        member.post("/compute/v2.1/servers/" + first + "/metadata", "{\"metadata\": {\"tier\": \"1\"}}").expect(200);
        assertThat(member.get("/compute/v2.1/servers/" + first + "/metadata").expect(200).json().get("metadata").size()).isEqualTo(2);
        member.delete("/compute/v2.1/servers/" + first + "/metadata/tier").expect(204);
        JsonNode asAdmin = admin.withHeader("OpenStack-API-Version", "compute 2.3").get("/compute/v2.1/servers/" + first).expect(200)
                .json().get("server");
        assertThat(asAdmin.get("OS-EXT-SRV-ATTR:user_data").asText()).isEqualTo(userData);
        for (JsonNode s : servers) {
            Servers.deleteAndWait(member, s.get("id").asText());
        }
    }

    @Test
    void microversionShapes() {
        String id = Servers.create(member, "mv", image, "1", null);
        JsonNode v247 = member.withHeader("OpenStack-API-Version", "compute 2.47").get("/compute/v2.1/servers/" + id).expect(200)
                .json().get("server");
        assertThat(v247.at("/flavor/original_name").asText()).isEqualTo("m1.tiny");
        assertThat(v247.has("locked")).isTrue();
        assertThat(v247.has("description")).isTrue();
        assertThat(v247.get("tags").isArray()).isTrue();
        // From 2.37 networks is required at create.
        member.withHeader("OpenStack-API-Version", "compute 2.37").post("/compute/v2.1/servers",
                "{\"server\": {\"name\": \"nonet\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\"}}").expect(400);
        String auto = member.withHeader("OpenStack-API-Version", "compute 2.37").post("/compute/v2.1/servers",
                "{\"server\": {\"name\": \"autonet\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\", \"networks\": \"auto\"}}")
                .expect(202).json().at("/server/id").asText();
        Servers.waitFor(member, id, "ACTIVE");
        Servers.waitFor(member, auto, "ACTIVE");
        Servers.deleteAndWait(member, id);
        Servers.deleteAndWait(member, auto);
    }

    @Test
    void networksNameTheOneNetworkByUuid() {
        JsonNode network = member.get("/network/v2.0/networks?name=default").expect(200).json().at("/networks/0");
        String networkId = network.get("id").asText();
        ApiClient v237 = member.withHeader("OpenStack-API-Version", "compute 2.37");
        String base = "{\"server\": {\"name\": \"netvm\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\", \"networks\": ";
        String id = v237.post("/compute/v2.1/servers", base + "[{\"uuid\": \"" + networkId + "\"}]}}").expect(202).json().at("/server/id").asText();
        JsonNode active = Servers.waitFor(member, id, "ACTIVE");
        // Nova keys addresses by the network's name.
        assertThat(active.at("/addresses/" + network.get("name").asText() + "/0/addr").asText()).startsWith("10.0.");
        assertThat(member.get("/compute/v2.1/servers/" + id + "/ips/default").expect(200).json().at("/default/0/addr").asText())
                .startsWith("10.0.");
        // The same without dashes, and before 2.37.
        String undashed = member.post("/compute/v2.1/servers", base.replace("netvm", "netvm2") + "[{\"uuid\": \""
                + networkId.replace("-", "") + "\"}]}}").expect(202).json().at("/server/id").asText();
        Servers.waitFor(member, undashed, "ACTIVE");

        int before = member.get("/compute/v2.1/servers").expect(200).json().get("servers").size();
        String unknown = "3f1b6a0e-8a53-4bde-9d0f-1d2f6f0b9c11";
        assertThat(v237.post("/compute/v2.1/servers", base + "[{\"uuid\": \"" + unknown + "\"}]}}").expect(400).json()
                .at("/badRequest/message").asText()).isEqualTo("Network " + unknown + " could not be found.");
        assertThat(v237.post("/compute/v2.1/servers", base + "[{\"port\": \"" + unknown + "\"}]}}").expect(400).json()
                .at("/badRequest/message").asText()).contains("ports");
        v237.post("/compute/v2.1/servers", base + "[{\"uuid\": \"" + networkId + "\", \"fixed_ip\": \"10.0.9.9\"}]}}").expect(400);
        v237.post("/compute/v2.1/servers", base + "[{\"uuid\": \"default\"}]}}").expect(400);
        v237.post("/compute/v2.1/servers", base + "[{}]}}").expect(400);
        v237.post("/compute/v2.1/servers", base + "[{\"uuid\": \"" + networkId + "\"}, {\"uuid\": \"" + networkId + "\"}]}}").expect(400);
        v237.post("/compute/v2.1/servers", base + "\"everything\"}}").expect(400);
        assertThat(member.get("/compute/v2.1/servers").expect(200).json().get("servers").size()).isEqualTo(before);
        Servers.deleteAndWait(member, id);
        Servers.deleteAndWait(member, undashed);
    }

    @Test
    void badInputIsRejectedWithoutLeavingAnything() {
        int before = member.get("/compute/v2.1/servers").expect(200).json().get("servers").size();
        String base = "{\"server\": {\"name\": \"bad\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\"";
        member.post("/compute/v2.1/servers", "{\"server\": ").expect(400).json().at("/badRequest/message");
        member.post("/compute/v2.1/servers", "{\"server\": {\"imageRef\": \"" + image + "\", \"flavorRef\": \"1\"}}").expect(400);
        member.post("/compute/v2.1/servers", base.replace("\"1\"", "\"999\"") + "}}").expect(400);
        member.post("/compute/v2.1/servers", base.replace(image, "00000000-0000-0000-0000-000000000000") + "}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"key_name\": \"nokey\"}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"user_data\": \"not base64 !!\"}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"max_count\": 100000000}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"min_count\": 0}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"min_count\": \"many\"}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"colour\": \"blue\"}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"availability_zone\": \"mars\"}}").expect(400);
        member.post("/compute/v2.1/servers", base + ", \"availability_zone\": \"nova:somehost\"}}").expect(403);
        member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"" + "x".repeat(256) + "\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\"}}").expect(400);
        assertThat(member.get("/compute/v2.1/servers").expect(200).json().get("servers").size()).isEqualTo(before);
    }

    @Test
    void noValidHostPutsTheServerInErrorWithAFault() {
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"enormous\", \"ram\": 100000000, \"vcpus\": 1, \"disk\": 1, "
                + "\"id\": \"enormous\"}}").expect(200);
        String id = Servers.create(admin, "too-big", image, "enormous", null);
        JsonNode failed = Servers.waitFor(admin, id, "ERROR");
        assertThat(failed.at("/fault/message").asText()).contains("No valid host was found");
        assertThat(failed.at("/fault/code").asInt()).isEqualTo(500);
        Servers.deleteAndWait(admin, id);
        admin.delete("/compute/v2.1/flavors/enormous").expect(202);
    }

    @Test
    void disabledHostGetsNoNewServers() {
        String host = admin.get("/compute/v2.1/os-services").expect(200).json().at("/services/0/host").asText();
        admin.put("/compute/v2.1/os-services/disable", "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\"}").expect(200);
        try {
            String id = Servers.create(admin, "nowhere", image, "1", null);
            assertThat(Servers.waitFor(admin, id, "ERROR").at("/fault/message").asText()).contains("No valid host");
            Servers.deleteAndWait(admin, id);
        } finally {
            admin.put("/compute/v2.1/os-services/enable", "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\"}").expect(200);
        }
    }

    @Test
    void createImageSnapshotsAServer() {
        String id = Servers.create(member, "snap-me", image, "1", null);
        Servers.waitFor(member, id, "ACTIVE");
        JsonNode answer = member.withHeader("OpenStack-API-Version", "compute 2.45")
                .post("/compute/v2.1/servers/" + id + "/action", "{\"createImage\": {\"name\": \"snap\", \"metadata\": {\"k\": \"v\"}}}")
                .expect(202).json();
        String imageId = answer.get("image_id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() ->
                member.get("/image/v2/images/" + imageId).json().get("status").asText().equals("active"));
        JsonNode snapshot = member.get("/image/v2/images/" + imageId).expect(200).json();
        assertThat(snapshot.get("instance_uuid").asText()).isEqualTo(id);
        assertThat(snapshot.get("k").asText()).isEqualTo("v");
        Servers.waitFor(member, id, "ACTIVE");
        Servers.deleteAndWait(member, id);
    }

    private static Set<String> keys(JsonNode node) {
        Set<String> keys = new TreeSet<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            keys.add(it.next());
        }
        return keys;
    }
}
