package io.strata.hierarchy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;

import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;

import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Snooze REST API against a real controller with three simulated hosts, with the seed's
 * requests: no token, method names in the query string, raw task ids, the seed's JSON fields.
 */
class SnoozeApiTest {
    private static TestCloud cloud;
    private static ApiClient snooze;
    private static ApiClient admin;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(3, StrataConfig.FakeHostSpec.DEFAULT));
        snooze = cloud.anonymous();
        admin = cloud.admin();
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    static String seedCluster() throws IOException {
        try (InputStream in = SnoozeApiTest.class.getResourceAsStream("/snooze/debian1-cluster.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void localControllerListHasTheSeedsFields() {
        JsonNode list = snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers");
        assertThat(list).hasSize(3);
        for (JsonNode lc : list) {
            assertThat(iterable(lc.fieldNames())).contains("id", "controlDataAddress", "status", "hypervisorSettings", "totalCapacity",
                    "wakeupSettings", "hostname", "assignedVirtualMachines", "virtualMachineMetaData");
            assertThat(lc.get("status").asText()).isEqualTo("ACTIVE");
            assertThat(lc.at("/controlDataAddress/address").isTextual()).isTrue();
            assertThat(lc.at("/controlDataAddress/port").isInt()).isTrue();
            assertThat(lc.at("/hypervisorSettings/migration/method").asText()).isEqualTo("live");
            assertThat(lc.get("totalCapacity")).hasSize(4);
            assertThat(lc.get("totalCapacity").get(0).asDouble()).isPositive();
            assertThat(lc.get("assignedVirtualMachines").isArray()).isTrue();
        }
    }

    @Test
    void groupLeaderAndHierarchy() {
        JsonNode leader = snooze.get("/bootstrap?getGroupLeaderDescription").expect(200).json();
        assertThat(leader.get("id").asText()).isNotBlank();
        assertThat(leader.at("/listenSettings/controlDataAddress/port").asInt()).isEqualTo(cloud.server().port());
        JsonNode hierarchy = snooze.get("/bootstrap?getCompleteHierarchy").expect(200).json();
        assertThat(hierarchy.get("id").asText()).isEqualTo(leader.get("id").asText());
        int lcs = 0;
        for (JsonNode gm : hierarchy.get("groupManagers")) {
            lcs += gm.get("localControllers").size();
        }
        assertThat(lcs).isEqualTo(3);
    }

    @Test
    void theSeedsVirtualClusterRunsAndIsAComputeServer() throws IOException {
        ApiClient.Response started = snooze.post("/groupmanager?startVirtualCluster", seedCluster()).expect(200);
        String taskId = started.text();
        assertThat(taskId).matches("[0-9a-f-]{36}");
        assertThat(started.header("Content-Type")).startsWith("application/json");

        JsonNode vm = awaitResponse(taskId).get("virtualMachineMetaData").get(0);
        assertThat(vm.get("status").asText()).isEqualTo("RUNNING");
        assertThat(vm.get("errorCode").asText()).isEqualTo("UNKNOWN");
        assertThat(vm.get("requestedCapacity").toString()).isEqualTo("[1.0,200000.0,12800.0,12800.0]");
        assertThat(vm.get("ipAddress").asText()).matches("\\d+\\.\\d+\\.\\d+\\.\\d+");
        String vmId = vm.at("/virtualMachineLocation/virtualMachineId").asText();
        String lcId = vm.at("/virtualMachineLocation/localControllerId").asText();
        assertThat(vm.at("/virtualMachineLocation/groupManagerId").asText()).isNotBlank();
        assertThat(vm.at("/groupManagerControlDataAddress/port").asInt()).isEqualTo(cloud.server().port());
        String xml = vm.get("xmlRepresentation").asText();
        assertThat(LibvirtDomainParser.parse(xml).uuid()).isEqualTo(vmId);

        // The same VM through the Compute API, on the host the Snooze response names.
        JsonNode server = Servers.show(admin, vmId);
        assertThat(server.get("name").asText()).isEqualTo("debian1");
        assertThat(server.get("status").asText()).isEqualTo("ACTIVE");
        String host = server.get("OS-EXT-SRV-ATTR:host").asText();
        JsonNode lc = localController(lcId);
        assertThat(lc.get("hostname").asText()).isEqualTo(host);
        assertThat(lc.get("assignedVirtualMachines").toString()).contains(vmId);

        // The Java client sends the id as a JSON string; curl sends it raw: both work.
        assertThat(snooze.post("/groupmanager?getVirtualClusterResponse", "\"" + taskId + "\"").expect(200).json()
                .at("/virtualMachineMetaData/0/status").asText()).isEqualTo("RUNNING");

        snooze.post("/groupmanager?suspendVirtualMachine", vmId).expect(200);
        awaitStatus(taskId, "PAUSED");
        assertThat(snooze.post("/groupmanager?suspendVirtualMachine", vmId).expect(409).text()).contains("paused");
        snooze.post("/groupmanager?resumeVirtualMachine", vmId).expect(200);
        awaitStatus(taskId, "RUNNING");
        snooze.post("/groupmanager?rebootVirtualMachine", vmId).expect(200);
        awaitStatus(taskId, "RUNNING");

        // migrateVirtualMachine, the bootstrap's short body and the seed's MigrationRequest.
        String other = otherLocalController(lcId);
        snooze.post("/bootstrap?migrateVirtualMachine", "{\"virtualMachineId\": \"" + vmId + "\", \"localControllerId\": \"" + other + "\"}")
                .expect(200);
        await().atMost(Duration.ofSeconds(60)).until(() -> location(taskId).equals(other));
        String third = localControllers().stream().filter(id -> !id.equals(lcId) && !id.equals(other)).findFirst().orElseThrow();
        snooze.post("/groupmanager?migrateVirtualMachine", "{\"sourceVirtualMachineLocation\": {\"virtualMachineId\": \"" + vmId
                + "\", \"localControllerId\": \"" + other + "\"}, \"destinationVirtualMachineLocation\": {\"localControllerId\": \"" + third
                + "\"}, \"destinationHypervisorSettings\": {}, \"migrated\": false}").expect(200);
        await().atMost(Duration.ofSeconds(60)).until(() -> location(taskId).equals(third));
        assertThat(snooze.post("/bootstrap?migrateVirtualMachine", "{\"virtualMachineId\": \"" + vmId
                + "\", \"localControllerId\": \"no-such-lc\"}").expect(400).text()).contains("INVALID_HOST_ID");

        snooze.post("/groupmanager?shutdownVirtualMachine", vmId).expect(200);
        awaitStatus(taskId, "OFFLINE");
        snooze.post("/groupmanager?destroyVirtualMachine", vmId).expect(200);
        await().atMost(Duration.ofSeconds(60)).until(() -> admin.get("/compute/v2.1/servers/" + vmId).status() == 404);
        snooze.post("/groupmanager?destroyVirtualMachine", vmId).expect(404);
    }

    @Test
    void templatesBySizeAndPinnedToAHost() {
        String lcId = localControllers().iterator().next();
        String body = "{\"virtualMachineTemplates\": [{\"name\": \"small-a\", \"vcpus\": 1, \"memory\": 131072, \"hostId\": \"" + lcId
                + "\", \"networkCapacityDemand\": {\"rxBytes\": 100, \"txBytes\": 200}}, {\"name\": \"small-b\", \"vcpus\": 2, "
                + "\"memory\": 262144, \"hostId\": \"nowhere\"}]}";
        String taskId = snooze.post("/groupmanager?startVirtualCluster", body).expect(200).text();
        JsonNode response = awaitResponse(taskId);
        JsonNode a = response.get("virtualMachineMetaData").get(0);
        JsonNode b = response.get("virtualMachineMetaData").get(1);
        assertThat(a.get("status").asText()).isEqualTo("RUNNING");
        assertThat(a.at("/virtualMachineLocation/localControllerId").asText()).isEqualTo(lcId);
        assertThat(a.get("requestedCapacity").toString()).isEqualTo("[1.0,131072.0,100.0,200.0]");
        assertThat(LibvirtDomainParser.parse(a.get("xmlRepresentation").asText()).vcpus()).isEqualTo(1);
        assertThat(b.get("status").asText()).isEqualTo("ERROR");
        assertThat(b.get("errorCode").asText()).isEqualTo("INVALID_HOST_ID");
        // The list of servers shows the Snooze VM like any other.
        assertThat(admin.get("/compute/v2.1/servers?name=small-a").expect(200).json().get("servers")).hasSize(1);
        snooze.post("/groupmanager?destroyVirtualMachine", a.at("/virtualMachineLocation/virtualMachineId").asText()).expect(200);
    }

    @Test
    void badRequestsAreClear4xx() {
        assertThat(snooze.post("/groupmanager?startVirtualCluster", "{\"virtualMachineTemplates\": [{\"libVirtTemplate\": "
                + "\"<domain type='kvm'><name>x</name><memory>4096</memory><vcpu>1</vcpu><devices><hostdev/></devices></domain>\"}]}")
                .expect(400).text()).contains("UNABLE_TO_PARSE_VIRTUAL_MACHINE_TEMPLATE").contains("hostdev");
        assertThat(snooze.post("/groupmanager?startVirtualCluster", "{\"virtualMachineTemplates\": [{\"name\": \"x\"}]}").expect(400).text())
                .contains("vcpus, memory, imageId and name");
        assertThat(snooze.post("/groupmanager?startVirtualCluster", "{}").expect(400).text()).contains("virtualMachineTemplates");
        assertThat(snooze.post("/groupmanager?startVirtualCluster", "{\"virtualMachineTemplates\": [").expect(400).text())
                .contains("Malformed");
        assertThat(snooze.post("/groupmanager?getVirtualClusterResponse", "no-such-task").expect(404).text()).contains("no-such-task");
        assertThat(snooze.get("/bootstrap?noSuchMethod").expect(400).text()).contains("getLocalControllerList");
        assertThat(snooze.get("/bootstrap").expect(400).text()).contains("query string");
        snooze.get("/groupmanager?startVirtualCluster").expect(405);
        snooze.post("/bootstrap?getLocalControllerList", "").expect(405);
    }

    private static JsonNode awaitResponse(String taskId) {
        return SnoozeResponses.await(snooze, taskId);
    }

    private static void awaitStatus(String taskId, String status) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> awaitResponse(taskId).at("/virtualMachineMetaData/0/status").asText().equals(status));
    }

    private static String location(String taskId) {
        return awaitResponse(taskId).at("/virtualMachineMetaData/0/virtualMachineLocation/localControllerId").asText();
    }

    private static Set<String> localControllers() {
        Set<String> ids = new java.util.TreeSet<>();
        snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers").forEach(lc -> ids.add(lc.get("id").asText()));
        return ids;
    }

    private static String otherLocalController(String lcId) {
        return localControllers().stream().filter(id -> !id.equals(lcId)).findFirst().orElseThrow();
    }

    private static JsonNode localController(String lcId) {
        for (JsonNode lc : snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers")) {
            if (lc.get("id").asText().equals(lcId)) {
                return lc;
            }
        }
        throw new AssertionError("no local controller " + lcId);
    }

    private static Set<String> iterable(java.util.Iterator<String> names) {
        Set<String> set = new HashSet<>();
        names.forEachRemaining(set::add);
        return set;
    }

}
