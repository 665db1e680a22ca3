package io.strata.hierarchy;

import static java.util.Objects.requireNonNull;

import io.strata.compute.Host;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Which group manager manages which local controllers.
 *
 * <p>In one process ({@code strata up}) the hosts, in the order they joined, are split into group
 * managers of {@code hostsPerGroupManager} local controllers each; the first group manager is also
 * the group leader. Ids are derived from the group's index so they stay the same across restarts.
 *
 * <p>Distributed, every controller holding a ZooKeeper session is a group manager ({@link Member}),
 * and the local controllers are spread over the live ones: each host goes to the member that
 * ranks highest for it (rendezvous hashing on host and member ids), no member taking more than
 * its even share. A group manager that dies loses its session, and its local controllers rejoin
 * the others at the next read; the others' mostly stay (only the even share moves some). Every
 * controller computes the same assignment from the same members and hosts, so no state is kept.
 */
public final class GroupManagers {
    /** A live group manager process of a distributed hierarchy: its id, where it listens, whether it leads. */
    public record Member(String id, String address, int port, boolean leader) {
        public Member {
            requireNonNull(id, "id is null");
        }
    }

    /**
     * A group manager and its local controllers' hosts; {@code address} and {@code port} are where
     * a distributed member listens (null and 0 in one process: this controller's own).
     */
    public record GroupManager(String id, int index, boolean leader, List<Host> localControllers, String address, int port) {
        public GroupManager {
            localControllers = List.copyOf(localControllers);
        }

        public GroupManager(String id, int index, boolean leader, List<Host> localControllers) {
            this(id, index, leader, localControllers, null, 0);
        }
    }

    private final int hostsPerGroupManager;
    private final Supplier<List<Member>> members;

    public GroupManagers(int hostsPerGroupManager) {
        this(hostsPerGroupManager, List::of);
    }

    /** Distributed when {@code members} names any; in-process groups of {@code hostsPerGroupManager} otherwise. */
    public GroupManagers(int hostsPerGroupManager, Supplier<List<Member>> members) {
        if (hostsPerGroupManager < 1) {
            throw new IllegalArgumentException("hostsPerGroupManager must be at least 1");
        }
        this.hostsPerGroupManager = hostsPerGroupManager;
        this.members = requireNonNull(members, "members is null");
    }

    public List<GroupManager> of(List<Host> hosts) {
        List<Host> ordered = new ArrayList<>(hosts);
        ordered.sort(Comparator.comparingInt(Host::id));
        List<Member> live = members.get();
        if (!live.isEmpty()) {
            return spread(ordered, live);
        }
        List<GroupManager> groups = new ArrayList<>();
        int count = Math.max(1, (ordered.size() + hostsPerGroupManager - 1) / hostsPerGroupManager);
        for (int i = 0; i < count; i++) {
            List<Host> members = ordered.subList(Math.min(ordered.size(), i * hostsPerGroupManager),
                    Math.min(ordered.size(), (i + 1) * hostsPerGroupManager));
            groups.add(new GroupManager(idOf(i), i, i == 0, members));
        }
        return groups;
    }

    /** Bounded-load rendezvous: each host to its best-ranked member that still has room; the leader listed first. */
    static List<GroupManager> spread(List<Host> hosts, List<Member> live) {
        List<Member> ordered = new ArrayList<>(live);
        ordered.sort(Comparator.comparing((Member m) -> !m.leader()).thenComparing(Member::id));
        int share = Math.max(1, (hosts.size() + ordered.size() - 1) / ordered.size());
        Map<String, List<Host>> assigned = new HashMap<>();
        ordered.forEach(m -> assigned.put(m.id(), new ArrayList<>()));
        for (Host host : hosts) {
            List<Member> ranked = new ArrayList<>(ordered);
            ranked.sort(Comparator.comparingLong((Member m) -> weight(host.uuid(), m.id())).reversed());
            for (Member member : ranked) {
                if (assigned.get(member.id()).size() < share) {
                    assigned.get(member.id()).add(host);
                    break;
                }
            }
        }
        List<GroupManager> groups = new ArrayList<>();
        for (int i = 0; i < ordered.size(); i++) {
            Member member = ordered.get(i);
            groups.add(new GroupManager(member.id(), i, member.leader(), assigned.get(member.id()), member.address(), member.port()));
        }
        return groups;
    }

    private static long weight(String host, String member) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest((host + "/" + member).getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(digest).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String idOf(int index) {
        return UUID.nameUUIDFromBytes(("strata-group-manager-" + index).getBytes(StandardCharsets.UTF_8)).toString();
    }
}
