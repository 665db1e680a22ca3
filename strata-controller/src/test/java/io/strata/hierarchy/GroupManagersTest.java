package io.strata.hierarchy;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.compute.Host;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class GroupManagersTest {
    private static List<Host> hosts(int count) {
        List<Host> hosts = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            hosts.add(new Host(i, UUID.nameUUIDFromBytes(("host-" + i).getBytes()).toString(), "host-" + i, "nova", true, null, false, "QEMU",
                    7_002_000, "tcg", "127.0.0.1", null, 4, 4096, 10, Instant.EPOCH, Instant.EPOCH, Instant.EPOCH, null));
        }
        return hosts;
    }

    private static Map<String, String> managerOf(List<GroupManagers.GroupManager> groups) {
        Map<String, String> owner = new HashMap<>();
        groups.forEach(g -> g.localControllers().forEach(h -> owner.put(h.name(), g.id())));
        return owner;
    }

    @Test
    void inOneProcessHostsAreSplitInGroupsOfTheConfiguredSizeTheFirstLeading() {
        List<GroupManagers.GroupManager> groups = new GroupManagers(2).of(hosts(5));
        assertThat(groups).extracting(g -> g.localControllers().size()).containsExactly(2, 2, 1);
        assertThat(groups).extracting(GroupManagers.GroupManager::leader).containsExactly(true, false, false);
        assertThat(groups.get(0).id()).isEqualTo(GroupManagers.idOf(0));
        assertThat(groups.get(0).address()).isNull();
    }

    @Test
    void distributedHostsAreSpreadEvenlyOverTheLiveControllersAndADeadOnesRejoinTheOthers() {
        List<GroupManagers.Member> three = List.of(new GroupManagers.Member("gm-b", "10.0.0.2", 8774, false),
                new GroupManagers.Member("gm-a", "10.0.0.1", 8774, true), new GroupManagers.Member("gm-c", "10.0.0.3", 8774, false));
        AtomicReference<List<GroupManagers.Member>> live = new AtomicReference<>(three);
        GroupManagers managers = new GroupManagers(100, live::get);
        List<Host> hosts = hosts(30);

        List<GroupManagers.GroupManager> before = managers.of(hosts);
        assertThat(before).extracting(GroupManagers.GroupManager::id).containsExactly("gm-a", "gm-b", "gm-c");   // the leader first
        assertThat(before).extracting(GroupManagers.GroupManager::leader).containsExactly(true, false, false);
        assertThat(before).allSatisfy(g -> assertThat(g.localControllers()).hasSize(10));
        assertThat(before.get(1).address()).isEqualTo("10.0.0.2");
        assertThat(managers.of(hosts)).isEqualTo(before);      // the same view for every reader

        // gm-c dies: its local controllers rejoin the two others; theirs mostly stay where they were.
        live.set(three.subList(0, 2));
        Map<String, String> was = managerOf(before);
        Map<String, String> now = managerOf(managers.of(hosts));
        assertThat(now.keySet()).hasSize(30);
        assertThat(now.values()).doesNotContain("gm-c");
        long stayed = hosts.stream().filter(h -> !was.get(h.name()).equals("gm-c") && now.get(h.name()).equals(was.get(h.name()))).count();
        assertThat(stayed).isGreaterThanOrEqualTo(16);      // of 20
        assertThat(managers.of(hosts)).allSatisfy(g -> assertThat(g.localControllers()).hasSize(15));

        // Nobody in the election (ZooKeeper cannot tell): this controller's own grouping.
        live.set(List.of());
        assertThat(managers.of(hosts)).hasSize(1).first().extracting(GroupManagers.GroupManager::id).isEqualTo(GroupManagers.idOf(0));
    }
}
