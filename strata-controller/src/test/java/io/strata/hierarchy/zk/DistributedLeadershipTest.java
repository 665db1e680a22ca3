package io.strata.hierarchy.zk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hierarchy.HierarchySettings;
import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.KillSession;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;

/**
 * A controller configured with {@code zookeeper=} on a real ZooKeeper server, next to another
 * group manager that got elected first: the controller answers Snooze calls, reports that leader,
 * and runs the periodic rounds (here the energy saver) for its own local controller only; when the
 * leader's session dies, the controller takes over within seconds and manages both hosts.
 */
class DistributedLeadershipTest {
    @Test
    void theControllerLeadsOnlyOnceTheElectedLeaderIsGone() throws Exception {
        try (TestingServer zookeeper = new TestingServer(true)) {
            CuratorFramework otherClient = CuratorFrameworkFactory.builder().connectString(zookeeper.getConnectString())
                    .sessionTimeoutMs(4_000).retryPolicy(new ExponentialBackoffRetry(200, 3)).build();
            otherClient.start();
            GroupLeaderElection other = new GroupLeaderElection(otherClient, DistributedLeadership.ROOT, "gm-other",
                    "{\"id\": \"gm-other\", \"address\": \"192.0.2.7\", \"port\": 5001}");
            other.start(Duration.ofSeconds(10));
            await().atMost(Duration.ofSeconds(30)).until(other::isLeader);

            try (TestCloud cloud = TestCloud.start(TestDatabases.Kind.H2, config -> {
                writeSettings(config, zookeeper.getConnectString());
                return config.withFakeHosts(2, new StrataConfig.FakeHostSpec(4, 4096, 100, Duration.ZERO));
            })) {
                ApiClient snooze = cloud.anonymous();
                JsonNode leader = snooze.get("/bootstrap?getGroupLeaderDescription").expect(200).json();
                assertThat(leader.get("id").asText()).isEqualTo("gm-other");
                assertThat(leader.at("/listenSettings/controlDataAddress/port").asInt()).isEqualTo(5001);
                assertThat(leader.get("leaderElection").asText()).isEqualTo("zookeeper");

                // Not the leader but a group manager: its rounds cover its own local controller
                // only (each member manages one of the two hosts); the other member's host stays
                // on however long it is idle (a dozen monitoring rounds of 0.3 s).
                await().atMost(Duration.ofSeconds(15)).until(() -> passive(snooze) == 1);
                Thread.sleep(4_000);
                assertThat(passive(snooze)).isEqualTo(1);
                Map<Integer, Set<String>> managed = new HashMap<>();
                for (JsonNode gm : snooze.get("/bootstrap?getCompleteHierarchy").expect(200).json().path("groupManagers")) {
                    Set<String> hosts = new HashSet<>();
                    gm.path("localControllers").forEach(lc -> hosts.add(lc.path("hostname").asText()));
                    managed.put(gm.at("/listenSettings/controlDataAddress/port").asInt(), hosts);
                }
                assertThat(passiveHosts(snooze)).isEqualTo(managed.get(cloud.server().port()));

                long killed = System.nanoTime();
                KillSession.kill(otherClient.getZookeeperClient().getZooKeeper());
                otherClient.close();
                await().atMost(Duration.ofSeconds(30)).until(() -> !snooze.get("/bootstrap?getGroupLeaderDescription").expect(200).json()
                        .get("id").asText().equals("gm-other"));
                assertThat(Duration.ofNanos(System.nanoTime() - killed)).isLessThan(Duration.ofSeconds(20));
                JsonNode now = snooze.get("/bootstrap?getGroupLeaderDescription").expect(200).json();
                assertThat(now.at("/listenSettings/controlDataAddress/port").asInt()).isEqualTo(cloud.server().port());
                // Now the only group manager, its rounds cover both hosts: both are powered off.
                await().atMost(Duration.ofSeconds(30)).until(() -> passive(snooze) == 2);
            }
        }
    }

    private static Set<String> passiveHosts(ApiClient snooze) {
        Set<String> hosts = new HashSet<>();
        for (JsonNode lc : snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers")) {
            if (lc.get("status").asText().equals("PASSIVE")) {
                hosts.add(lc.get("hostname").asText());
            }
        }
        return hosts;
    }

    private static int passive(ApiClient snooze) {
        int n = 0;
        for (JsonNode lc : snooze.get("/bootstrap?getLocalControllerList").expect(200).json().get("localControllers")) {
            n += lc.get("status").asText().equals("PASSIVE") ? 1 : 0;
        }
        return n;
    }

    private static void writeSettings(StrataConfig config, String connectString) {
        try {
            Files.createDirectories(config.dataDir());
            Files.writeString(config.dataDir().resolve(HierarchySettings.FILE), String.join("\n", "zookeeper=" + connectString,
                    "zookeeperSessionTimeout=PT4S", "monitoringInterval=PT0.3S", "energySaver=true", "idleThreshold=PT0.5S",
                    "reservedNodes=0"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
