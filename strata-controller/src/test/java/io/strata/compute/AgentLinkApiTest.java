package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The controller's endpoints for agents on other hosts, on a real server: the agent token
 * guards them (no Keystone token needed or accepted instead), bad bodies are 400s, and a
 * registered host shows in os-hypervisors and goes down when it stops heartbeating.
 */
class AgentLinkApiTest {
    private static TestCloud cloud;
    private static String token;

    @BeforeAll
    static void start() throws Exception {
        cloud = TestCloud.start();
        token = Files.readString(cloud.dataDir().resolve("agent-token")).strip();
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    private static ApiClient.Response post(String path, String body, String agentToken) {
        return cloud.anonymous().send("POST", "/internal/agents/" + path, body,
                agentToken == null ? Map.of("Content-Type", "application/json")
                        : Map.of("Content-Type", "application/json", "X-Strata-Agent-Token", agentToken));
    }

    private static String registration(String host) {
        return """
                {"hostName": "%s", "agentUrl": "http://127.0.0.1:1",
                 "host": {"hostname": "%s", "hypervisorType": "fake", "hypervisorVersion": 1000, "accelerator": "fake",
                          "hostIp": "192.0.2.7", "vcpus": 4, "memoryMb": 8192, "diskGb": 100}}""".formatted(host, host);
    }

    @Test
    void theAgentTokenGuardsEveryEndpoint() {
        assertThat(post("register", registration("intruder"), null).status()).isEqualTo(401);
        assertThat(post("register", registration("intruder"), "wrong").status()).isEqualTo(401);
        // A Keystone admin token is not an agent token.
        assertThat(cloud.admin().send("POST", "/internal/agents/heartbeat", "{\"hostName\": \"x\"}",
                Map.of("Content-Type", "application/json")).status()).isEqualTo(401);
        assertThat(cloud.anonymous().send("GET", "/internal/agents/image/whatever", null, Map.of("X-Strata-Agent-Token", "wrong"))
                .status()).isEqualTo(401);
        assertThat(cloud.anonymous().send("GET", "/internal/agents/hosts/any/live-images/any/files", null,
                Map.of("X-Strata-Agent-Token", "wrong")).status()).isEqualTo(401);
        assertThat(cloud.admin().get("/compute/v2.1/os-hypervisors/detail").expect(200).text()).doesNotContain("intruder");
    }

    @Test
    void badBodiesAndUnknownHostsAreClientErrors() {
        assertThat(post("register", "{not json", token).status()).isEqualTo(400);
        assertThat(post("register", "{\"hostName\": \"h\"}", token).status()).isEqualTo(400);
        assertThat(post("events", "{}", token).status()).isEqualTo(400);
        // An agent whose host the controllers do not know is told to register again.
        assertThat(post("heartbeat", "{\"hostName\": \"never-registered\"}", token).status()).isEqualTo(404);
        // Live image files are served for this process's own hosts only.
        assertThat(cloud.anonymous().send("GET", "/internal/agents/hosts/remote-9/live-images/any/files", null,
                Map.of("X-Strata-Agent-Token", token)).status()).isEqualTo(404);
    }

    @Test
    void aRegisteredHostIsAHypervisorAndHeartbeatsKeepItKnown() {
        assertThat(post("register", registration("remote-7"), token).status()).isEqualTo(204);
        String hypervisors = cloud.admin().get("/compute/v2.1/os-hypervisors/detail").expect(200).text();
        assertThat(hypervisors).contains("remote-7").contains("192.0.2.7");
        // One process: no group manager of its own to name, the agent keeps the controller it has.
        var beat = post("heartbeat", "{\"hostName\": \"remote-7\"}", token);
        assertThat(beat.status()).isEqualTo(200);
        assertThat(beat.json().path("groupManagerUrl").isNull()).isTrue();
        assertThat(cloud.anonymous().get("/metrics").expect(200).text()).contains("strata_agent_heartbeats_total{host=\"remote-7\"} 1.0");
        assertThat(cloud.admin().get("/compute/v2.1/os-services").expect(200).text()).contains("remote-7");
        // and a local controller of the Snooze hierarchy
        assertThat(cloud.anonymous().get("/bootstrap?getLocalControllerList").expect(200).text()).contains("remote-7");
    }
}
