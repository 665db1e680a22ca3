package io.strata.hierarchy.zk;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One group manager's part in the distributed hierarchy: it announces itself with an ephemeral
 * znode under {@code <root>/groupmanagers} (its heartbeat: the znode lives as long as its
 * ZooKeeper session) and competes for group leadership through Curator's LeaderLatch (ephemeral
 * sequential znodes, the lowest leads — Snooze's election). When the leader's session ends, the
 * next in line is told within the session timeout.
 */
public final class GroupLeaderElection implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupLeaderElection.class);

    private final CuratorFramework zk;
    private final String root;
    private final String groupManagerId;
    private final byte[] description;
    private final LeaderLatch latch;
    private final List<Consumer<Boolean>> listeners = new CopyOnWriteArrayList<>();

    /**
     * @param description what the group manager tells the others (its control address as JSON)
     */
    public GroupLeaderElection(CuratorFramework zk, String root, String groupManagerId, String description) {
        this.zk = requireNonNull(zk, "zk is null");
        this.root = requireNonNull(root, "root is null");
        this.groupManagerId = requireNonNull(groupManagerId, "groupManagerId is null");
        this.description = requireNonNull(description, "description is null").getBytes(StandardCharsets.UTF_8);
        this.latch = new LeaderLatch(zk, root + "/election", groupManagerId);
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                log.info("group manager {} is now the group leader", groupManagerId);
                listeners.forEach(l -> l.accept(true));
            }

            @Override
            public void notLeader() {
                log.info("group manager {} is no longer the group leader", groupManagerId);
                listeners.forEach(l -> l.accept(false));
            }
        });
    }

    /** Called with true when this group manager becomes the leader, false when it stops being it. */
    public void onLeadership(Consumer<Boolean> listener) {
        listeners.add(listener);
    }

    public void start() throws Exception {
        zk.create().orSetData().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                .forPath(root + "/groupmanagers/" + groupManagerId, description);
        latch.start();
    }

    public boolean isLeader() {
        return latch.hasLeadership();
    }

    /** The current leader's id, as ZooKeeper sees it now. */
    public Optional<String> leader() throws Exception {
        Participant leader = latch.getLeader();
        return leader.isLeader() ? Optional.of(leader.getId()) : Optional.empty();
    }

    /** The group managers alive now (their znodes exist while their sessions do). */
    public List<String> groupManagers() throws Exception {
        try {
            return new ArrayList<>(zk.getChildren().forPath(root + "/groupmanagers")).stream().sorted().toList();
        } catch (KeeperException.NoNodeException e) {
            return List.of();
        }
    }

    /** A group manager's description, empty once it is gone. */
    public Optional<String> describe(String id) throws Exception {
        try {
            return Optional.of(new String(zk.getData().forPath(root + "/groupmanagers/" + id), StandardCharsets.UTF_8));
        } catch (KeeperException.NoNodeException e) {
            return Optional.empty();
        }
    }

    public String groupManagerId() {
        return groupManagerId;
    }

    @Override
    public void close() throws Exception {
        latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
        try {
            zk.delete().forPath(root + "/groupmanagers/" + groupManagerId);
        } catch (KeeperException.NoNodeException e) {
            // the session already ended
        }
    }
}
