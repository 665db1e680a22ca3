package io.strata.hierarchy;

import io.strata.compute.Host;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * The in-process form of the hierarchy (one controller, {@code strata up}): the hosts, in the
 * order they joined, are split into group managers of {@code hostsPerGroupManager} local
 * controllers each; the first group manager is also the group leader. Ids are derived from the
 * group's index so they stay the same across restarts.
 */
public final class GroupManagers {
    private final int hostsPerGroupManager;

    public GroupManagers(int hostsPerGroupManager) {
        if (hostsPerGroupManager < 1) {
            throw new IllegalArgumentException("hostsPerGroupManager must be at least 1");
        }
        this.hostsPerGroupManager = hostsPerGroupManager;
    }

    /** A group manager and the names of its local controllers' hosts. */
    public record GroupManager(String id, int index, boolean leader, List<Host> localControllers) {
        public GroupManager {
            localControllers = List.copyOf(localControllers);
        }
    }

    public List<GroupManager> of(List<Host> hosts) {
        List<Host> ordered = new ArrayList<>(hosts);
        ordered.sort(Comparator.comparingInt(Host::id));
        List<GroupManager> groups = new ArrayList<>();
        int count = Math.max(1, (ordered.size() + hostsPerGroupManager - 1) / hostsPerGroupManager);
        for (int i = 0; i < count; i++) {
            List<Host> members = ordered.subList(Math.min(ordered.size(), i * hostsPerGroupManager),
                    Math.min(ordered.size(), (i + 1) * hostsPerGroupManager));
            groups.add(new GroupManager(idOf(i), i, i == 0, members));
        }
        return groups;
    }

    public static String idOf(int index) {
        return UUID.nameUUIDFromBytes(("strata-group-manager-" + index).getBytes(StandardCharsets.UTF_8)).toString();
    }
}
