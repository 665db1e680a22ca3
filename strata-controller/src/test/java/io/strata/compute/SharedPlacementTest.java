package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.store.Database;
import io.strata.store.TestDatabases;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Controllers sharing a database each keep their own in-memory claims; the store decides, under
 * the host's row lock, whether a placement still fits (ServerStore.placeWithin).
 */
class SharedPlacementTest {
    private static final Flavor FLAVOR = new Flavor("f1", "m1.test", 2, 1024, 10, 0, 0, 1.0, true, false, null, Map.of(), Instant.now());
    // Room for exactly three such servers by RAM.
    private static final double[] CAPACITY = {64, 3 * 1024, 1000};

    static java.util.stream.Stream<TestDatabases.Kind> kinds() {
        return TestDatabases.kinds();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void concurrentPlacementsNeverOverfillAHost(TestDatabases.Kind kind) throws Exception {
        try (Database database = TestDatabases.open(kind)) {
            ServerStore servers = new ServerStore(database.jdbi(), database.dialect());
            insertHost(database, "node-1");
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ids.add(insertScheduling(database, i));
            }
            // Eight controllers' builds reach the store at once, each believing the host is empty.
            CountDownLatch go = new CountDownLatch(1);
            List<Future<ServerStore.Placement>> placements = new ArrayList<>();
            try (ExecutorService controllers = Executors.newFixedThreadPool(8)) {
                for (String id : ids) {
                    placements.add(controllers.submit(() -> {
                        go.await();
                        return servers.placeWithin(id, "node-1", "nova", FLAVOR, CAPACITY, Instant.now());
                    }));
                }
                go.countDown();
                long placed = 0;
                for (Future<ServerStore.Placement> placement : placements) {
                    ServerStore.Placement result = placement.get();
                    assertThat(result).isIn(ServerStore.Placement.PLACED, ServerStore.Placement.FULL);
                    placed += result == ServerStore.Placement.PLACED ? 1 : 0;
                }
                assertThat(placed).isEqualTo(3);
            }
            ServerStore.HostUsage usage = servers.usageOf("node-1");
            assertThat(usage.servers()).isEqualTo(3);
            assertThat(usage.ramMb()).isEqualTo(3 * 1024);
            // Still full for the others; a deleted server frees its room; a server deleted
            // while it was being scheduled is GONE.
            List<String> waiting = database.jdbi().withHandle(h -> h.createQuery(
                    "select id from servers where host is null and deleted = false order by id").mapTo(String.class).list());
            assertThat(waiting).hasSize(5);
            assertThat(servers.placeWithin(waiting.get(0), "node-1", "nova", FLAVOR, CAPACITY, Instant.now())).isEqualTo(ServerStore.Placement.FULL);
            database.jdbi().useHandle(h -> h.execute("update servers set deleted = true where host = 'node-1' and id = "
                    + "(select min(id) from servers where host = 'node-1')"));
            assertThat(servers.placeWithin(waiting.get(0), "node-1", "nova", FLAVOR, CAPACITY, Instant.now())).isEqualTo(ServerStore.Placement.PLACED);
            database.jdbi().useHandle(h -> h.execute("update servers set deleted = true where id = ?", waiting.get(1)));
            database.jdbi().useHandle(h -> h.execute("update servers set deleted = true where host = 'node-1' and id = "
                    + "(select min(id) from servers where host = 'node-1' and deleted = false)"));
            assertThat(servers.placeWithin(waiting.get(1), "node-1", "nova", FLAVOR, CAPACITY, Instant.now())).isEqualTo(ServerStore.Placement.GONE);
        }
    }

    private static void insertHost(Database database, String name) {
        database.jdbi().useHandle(h -> h.execute("insert into hosts (uuid, host, hypervisor_type, accelerator, host_ip, vcpus, memory_mb, "
                + "local_gb, created_at, updated_at) values (?, ?, 'fake', 'none', '127.0.0.1', 16, 3072, 1000, ?, ?)",
                java.util.UUID.randomUUID().toString(), name, Instant.now(), Instant.now()));
    }

    private static String insertScheduling(Database database, int index) {
        String id = java.util.UUID.randomUUID().toString();
        Instant now = Instant.now();
        database.jdbi().useHandle(h -> h.execute("insert into servers (id, name, project_id, user_id, flavor_id, flavor_name, vcpus, ram_mb, "
                + "disk_gb, vm_state, task_state, hostname, reservation_id, mac_address, ip_address, created_at, updated_at) "
                + "values (?, ?, 'p', 'u', 'f1', 'm1.test', 2, 1024, 10, 'building', 'scheduling', ?, 'r-1', ?, ?, ?, ?)",
                id, "vm-" + index, "vm-" + index, "fa:16:3e:00:00:0" + index, "10.0.0." + (10 + index), now, now));
        return id;
    }
}
