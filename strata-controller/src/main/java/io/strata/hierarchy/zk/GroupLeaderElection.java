package io.strata.hierarchy.zk;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
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
 *
 * <p>The announcement is a Curator {@link PersistentNode}: when this process's session expires
 * (a stall longer than the session timeout: a GC pause, a starved CPU) and Curator opens a new
 * one, the znode is created again under it, as LeaderLatch does for its election node. A plain
 * ephemeral znode created once would be gone for good, leaving a live group manager that still
 * competes for leadership out of the membership (and, were it the leader, every controller
 * without a consistent hierarchy).
 */
public final class GroupLeaderElection implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupLeaderElection.class);

    private final CuratorFramework zk;
    private final String root;
    private final String groupManagerId;
    private final byte[] description;
    private final LeaderLatch latch;
    private final PersistentNode announcement;
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
        this.announcement = new PersistentNode(zk, CreateMode.EPHEMERAL, false, root + "/groupmanagers/" + groupManagerId,
                this.description);
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

    /**
     * Announces this group manager (waiting up to {@code timeout} for the znode: the others see
     * this member once this returns) and joins the election.
     */
    public void start(Duration timeout) throws Exception {
        announcement.start();
        if (!announcement.waitForInitialCreate(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            announcement.close();
            throw new IllegalStateException("cannot announce group manager " + groupManagerId + " within " + timeout.toMillis() + " ms");
        }
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
        try {
            latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
        } finally {
            announcement.close();
        }
    }
}
