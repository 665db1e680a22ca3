package io.strata.hierarchy.zk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.hierarchy.GroupManagers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * This controller as one group manager of a distributed hierarchy: its ZooKeeper session, its
 * place in the election, and who leads (with the address the leader announced, for
 * getGroupLeaderDescription).
 */
public final class DistributedLeadership implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String ROOT = "/strata/snooze";

    /** The leader as it announced itself. */
    public record Leader(String id, String address, int port) {}

    private static final Duration MEMBERS_MAX_AGE = Duration.ofSeconds(1);

    private final CuratorFramework zk;
    private final GroupLeaderElection election;
    private volatile Cached members;

    private DistributedLeadership(CuratorFramework zk, GroupLeaderElection election) {
        this.zk = zk;
        this.election = election;
    }

    /** Connects (waiting up to the session timeout), announces this group manager and joins the election. */
    public static DistributedLeadership join(String connectString, Duration sessionTimeout, String groupManagerId, String address,
            int port) {
        return join(connectString, sessionTimeout, groupManagerId, address, port, groupManagerId);
    }

    /**
     * As {@link #join(String, Duration, String, String, int)}, announcing also this process's
     * {@code incarnation} (new at every start), by which others tell whose operations are orphaned.
     */
    public static DistributedLeadership join(String connectString, Duration sessionTimeout, String groupManagerId, String address,
            int port, String incarnation) {
        CuratorFramework zk = CuratorFrameworkFactory.builder().connectString(connectString)
                .sessionTimeoutMs((int) sessionTimeout.toMillis()).connectionTimeoutMs((int) Math.min(sessionTimeout.toMillis(), 15_000))
                .retryPolicy(new ExponentialBackoffRetry(250, 5)).build();
        zk.start();
        try {
            if (!zk.blockUntilConnected((int) sessionTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("cannot reach ZooKeeper at " + connectString + " within " + sessionTimeout.toSeconds() + " s");
            }
            ObjectNode description = JSON.createObjectNode().put("id", groupManagerId).put("address", address).put("port", port)
                    .put("incarnation", incarnation);
            GroupLeaderElection election = new GroupLeaderElection(zk, ROOT, groupManagerId, description.toString());
            election.start(sessionTimeout);
            return new DistributedLeadership(zk, election);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            zk.close();
            throw new IllegalStateException("interrupted while connecting to ZooKeeper");
        } catch (Exception e) {
            zk.close();
            if (e instanceof IllegalStateException illegal) {
                throw illegal;
            }
            throw new IllegalStateException("cannot join the election at " + connectString + ": " + e.getMessage(), e);
        }
    }

    public GroupLeaderElection election() {
        return election;
    }

    public boolean isLeader() {
        return election.isLeader();
    }

    public Optional<Leader> leader() {
        try {
            Optional<String> id = election.leader();
            if (id.isEmpty()) {
                return Optional.empty();
            }
            Optional<String> description = election.describe(id.get());
            if (description.isEmpty()) {
                return Optional.empty();
            }
            JsonNode node = JSON.readTree(description.get());
            return Optional.of(new Leader(id.get(), node.path("address").asText(), node.path("port").asInt()));
        } catch (Exception e) {
            return Optional.empty();    // ZooKeeper unreachable: no leader known right now
        }
    }

    /**
     * The group managers holding a session now, as they announced themselves, the leader marked;
     * empty while no leader is known (or ZooKeeper cannot tell), so that callers fall back to
     * this controller's own view. Read at most once a second: the hierarchy is read per request.
     */
    public List<GroupManagers.Member> members() {
        Cached cached = members;
        long now = System.nanoTime();
        if (cached != null && now - cached.readAt() < MEMBERS_MAX_AGE.toNanos()) {
            return cached.members();
        }
        List<GroupManagers.Member> live = new ArrayList<>();
        try {
            Optional<String> leader = election.leader();
            if (leader.isPresent()) {
                for (String id : election.groupManagers()) {
                    Optional<String> description = election.describe(id);
                    if (description.isPresent()) {
                        JsonNode node = JSON.readTree(description.get());
                        live.add(new GroupManagers.Member(id, node.path("address").asText(null), node.path("port").asInt(),
                                id.equals(leader.get())));
                    }
                }
            }
            if (live.stream().noneMatch(GroupManagers.Member::leader)) {
                live.clear();   // the leader's session is gone but its node not yet: no consistent view
            }
        } catch (Exception e) {
            live.clear();
        }
        List<GroupManagers.Member> result = List.copyOf(live);
        members = new Cached(result, now);
        return result;
    }

    private record Cached(List<GroupManagers.Member> members, long readAt) {}

    /** The incarnations of the controllers holding a session now; throws when ZooKeeper cannot tell. */
    public java.util.Set<String> liveIncarnations() throws Exception {
        java.util.Set<String> live = new java.util.HashSet<>();
        for (String id : election.groupManagers()) {
            Optional<String> description = election.describe(id);
            if (description.isPresent()) {
                live.add(JSON.readTree(description.get()).path("incarnation").asText(id));
            }
        }
        return live;
    }

    @Override
    public void close() throws Exception {
        try {
            election.close();
        } finally {
            zk.close();
        }
    }
}
