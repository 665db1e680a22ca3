package io.strata.hierarchy.zk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.KillSession;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Leader election among three group managers on a real ZooKeeper server (curator-test runs one
 * in-process on a free port): one leads; when its session is killed (as a kill -9 of its process
 * would end it: no goodbye) another leads within seconds and the dead one leaves the membership.
 */
class GroupLeaderElectionTest {
    private static final int SESSION_TIMEOUT_MS = 4_000;

    private TestingServer server;
    private final List<CuratorFramework> clients = new ArrayList<>();
    private final List<GroupLeaderElection> elections = new ArrayList<>();

    @BeforeEach
    void startZooKeeper() throws Exception {
        server = new TestingServer(true);
    }

    @AfterEach
    void stop() throws Exception {
        for (GroupLeaderElection election : elections) {
            try {
                election.close();
            } catch (Exception e) {
                // its client is already closed
            }
        }
        clients.forEach(CuratorFramework::close);
        server.close();
    }

    private GroupLeaderElection groupManager(String id) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .sessionTimeoutMs(SESSION_TIMEOUT_MS).connectionTimeoutMs(5_000).retryPolicy(new ExponentialBackoffRetry(200, 3)).build();
        client.start();
        clients.add(client);
        GroupLeaderElection election = new GroupLeaderElection(client, "/strata/snooze", id, "{\"id\": \"" + id + "\"}");
        election.start(Duration.ofSeconds(10));
        elections.add(election);
        return election;
    }

    @Test
    void anotherGroupManagerLeadsWhenTheLeaderDies() throws Exception {
        GroupLeaderElection a = groupManager("gm-a");
        GroupLeaderElection b = groupManager("gm-b");
        GroupLeaderElection c = groupManager("gm-c");
        List<GroupLeaderElection> all = List.of(a, b, c);
        await().atMost(Duration.ofSeconds(30)).until(() -> all.stream().filter(GroupLeaderElection::isLeader).count() == 1);
        GroupLeaderElection leader = all.stream().filter(GroupLeaderElection::isLeader).findFirst().orElseThrow();
        assertThat(a.leader()).contains(leader.groupManagerId());
        assertThat(b.groupManagers()).containsExactly("gm-a", "gm-b", "gm-c");
        assertThat(b.describe("gm-c")).contains("{\"id\": \"gm-c\"}");

        CuratorFramework leaderClient = clients.get(all.indexOf(leader));
        long started = System.nanoTime();
        KillSession.kill(leaderClient.getZookeeperClient().getZooKeeper());
        leaderClient.close();
        List<GroupLeaderElection> survivors = all.stream().filter(e -> e != leader).toList();
        await().atMost(Duration.ofSeconds(30)).until(() -> survivors.stream().filter(GroupLeaderElection::isLeader).count() == 1);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(15));
        await().atMost(Duration.ofSeconds(30)).until(() -> !survivors.get(0).groupManagers().contains(leader.groupManagerId()));
        assertThat(survivors.get(0).describe(leader.groupManagerId())).isEmpty();
        GroupLeaderElection newLeader = survivors.stream().filter(GroupLeaderElection::isLeader).findFirst().orElseThrow();
        assertThat(survivors.get(1).leader()).contains(newLeader.groupManagerId());

        // A group manager that joins later does not take over.
        GroupLeaderElection d = groupManager("gm-d");
        await().atMost(Duration.ofSeconds(30)).until(() -> d.groupManagers().contains("gm-d"));
        assertThat(d.isLeader()).isFalse();
        assertThat(newLeader.isLeader()).isTrue();
    }

    /**
     * A group manager whose session expires while its process goes on (a stall longer than the
     * session timeout: a GC pause, a starved CPU) gets a new session from Curator and announces
     * itself again under it: it still competes for leadership, so it must still be a member.
     */
    @Test
    void aGroupManagerWhoseSessionExpiredIsAMemberAgain() throws Exception {
        GroupLeaderElection a = groupManager("gm-a");
        GroupLeaderElection b = groupManager("gm-b");
        await().atMost(Duration.ofSeconds(30)).until(() -> a.isLeader() || b.isLeader());
        CuratorFramework observer = clients.get(0);
        CuratorFramework stalled = clients.get(1);
        String announcement = "/strata/snooze/groupmanagers/gm-b";
        long expired = stalled.getZookeeperClient().getZooKeeper().getSessionId();
        assertThat(observer.checkExists().forPath(announcement).getEphemeralOwner()).isEqualTo(expired);

        KillSession.kill(stalled.getZookeeperClient().getZooKeeper());
        // Curator opens a new session at once; the server ends the old one (and its znodes) after the session timeout.
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            ZooKeeper now = stalled.getZookeeperClient().getZooKeeper();
            return stalled.getZookeeperClient().isConnected() && now.getSessionId() != 0 && now.getSessionId() != expired;
        });
        long renewed = stalled.getZookeeperClient().getZooKeeper().getSessionId();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            Stat stat = observer.checkExists().forPath(announcement);
            return stat != null && stat.getEphemeralOwner() == renewed;
        });
        assertThat(a.groupManagers()).containsExactly("gm-a", "gm-b");
        assertThat(a.describe("gm-b")).contains("{\"id\": \"gm-b\"}");
        // and it is still in the election: one of the two leads, and both name the same leader
        await().atMost(Duration.ofSeconds(30)).until(() -> a.isLeader() != b.isLeader());
        assertThat(b.leader()).isEqualTo(a.leader());
    }
}
