package io.strata.hierarchy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The in-process hierarchy on four simulated hosts (4 cores, 4 GiB; two per group manager) with
 * the energy saver, FirstFit placement and consolidation on: idle hosts go PASSIVE and their
 * compute service is disabled; a cluster that needs more room wakes them; once VMs go away,
 * consolidation packs the rest onto one host and the emptied one is powered off again.
 */
class HierarchyEnergyTest {
    private static TestCloud cloud;
    private static ApiClient snooze;
    private static ApiClient admin;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> {
            try {
                Files.createDirectories(config.dataDir());
                Files.writeString(config.dataDir().resolve(HierarchySettings.FILE), String.join("\n",
                        "hostsPerGroupManager=2", "placement=FirstFit", "dispatching=FirstFit", "monitoringInterval=PT0.3S",
                        "consolidationInterval=PT1S", "energySaver=true", "wakeupDriver=test", "idleThreshold=PT1S", "reservedNodes=0",
                        "relocation=false"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return config.withFakeHosts(4, new StrataConfig.FakeHostSpec(4, 4096, 100, Duration.ZERO));
        });
        snooze = cloud.anonymous();
        admin = cloud.admin();
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void idleHostsSleepAreWokenForDemandAndConsolidationEmptiesHosts() {
        assertThat(snooze.get("/bootstrap?getCompleteHierarchy").expect(200).json().get("groupManagers")).hasSize(2);

        // All four idle, no reserve: all go off.
        await().atMost(Duration.ofSeconds(60)).until(() -> statuses().getOrDefault("PASSIVE", 0) == 4);
        JsonNode services = admin.get("/compute/v2.1/os-services").expect(200).json().get("services");
        long disabled = 0;
        for (JsonNode service : services) {
            if (service.get("status").asText().equals("disabled")) {
                assertThat(service.get("disabled_reason").asText()).startsWith("powered off by the energy saver");
                disabled++;
            }
        }
        assertThat(disabled).isEqualTo(4);

        // Three VMs of 1 core / 1.5 GiB: two fit under MID (90%) on one woken host, the third needs a second one.
        StringBuilder body = new StringBuilder("{\"virtualMachineTemplates\": [");
        for (int i = 0; i < 3; i++) {
            body.append(i == 0 ? "" : ",").append("{\"name\": \"packed-").append(i).append("\", \"vcpus\": 1, \"memory\": 1572864}");
        }
        String taskId = snooze.post("/groupmanager?startVirtualCluster", body + "]}").expect(200).text();
        JsonNode response = awaitResponse(taskId);
        Map<String, List<String>> vmsByLc = new HashMap<>();
        for (JsonNode vm : response.get("virtualMachineMetaData")) {
            assertThat(vm.get("status").asText()).isEqualTo("RUNNING");
            vmsByLc.computeIfAbsent(vm.at("/virtualMachineLocation/localControllerId").asText(), k -> new ArrayList<>())
                    .add(vm.at("/virtualMachineLocation/virtualMachineId").asText());
        }
        assertThat(vmsByLc.values()).extracting(List::size).containsExactlyInAnyOrder(2, 1);
        for (String woken : vmsByLc.keySet()) {
            JsonNode wokenLc = localController(woken);
            assertThat(wokenLc.get("status").asText()).isEqualTo("ACTIVE");
            assertThat(wokenLc.get("timeSpentOffSeconds").asDouble()).isPositive();
        }
        assertThat(statuses().get("PASSIVE")).isEqualTo(2);

        // One VM of the pair goes: the two hosts are both at 1 VM, and consolidation packs them onto one.
        String pairHost = vmsByLc.entrySet().stream().filter(e -> e.getValue().size() == 2).findFirst().orElseThrow().getKey();
        snooze.post("/groupmanager?destroyVirtualMachine", vmsByLc.get(pairHost).get(0)).expect(200);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            JsonNode lcs = snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers");
            int busy = 0;
            for (JsonNode lc : lcs) {
                busy += lc.get("assignedVirtualMachines").isEmpty() ? 0 : 1;
            }
            assertThat(busy).as("hosts with VMs in %s", lcs).isEqualTo(1);
        });
        // The emptied host is idle, then powered off: again one host on.
        await().atMost(Duration.ofSeconds(60)).until(() -> statuses().getOrDefault("PASSIVE", 0) == 3);
        JsonNode after = awaitResponse(taskId);
        int running = 0;
        for (JsonNode vm : after.get("virtualMachineMetaData")) {
            running += vm.get("status").asText().equals("RUNNING") ? 1 : 0;
        }
        assertThat(running).isEqualTo(2);
    }

    private static Map<String, Integer> statuses() {
        Map<String, Integer> counts = new HashMap<>();
        for (JsonNode lc : snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers")) {
            counts.merge(lc.get("status").asText(), 1, Integer::sum);
        }
        return counts;
    }

    private static JsonNode localController(String id) {
        for (JsonNode lc : snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers")) {
            if (lc.get("id").asText().equals(id)) {
                return lc;
            }
        }
        throw new AssertionError("no local controller " + id);
    }

    private static JsonNode awaitResponse(String taskId) {
        return SnoozeResponses.await(snooze, taskId);
    }
}
