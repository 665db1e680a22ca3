package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.migration.provider.CloudApiProvider;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/**
 * Minion pools on a {@code strata} endpoint (the cloud's own public API, fake driver): allocation
 * boots the minimum number of minion servers, refresh replaces a vanished one and follows a
 * raised minimum, deallocation deletes them all, and a pool that cannot boot ends in ERROR with
 * nothing left behind after a forced deallocation.
 */
class MinionPoolTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static TestCloud cloud;
    private static ApiClient admin;
    private static MigrationClient migration;
    private static String endpoint;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start();
        admin = cloud.admin();
        migration = new MigrationClient(admin);
        endpoint = migration.post("/endpoints", """
                {"endpoint": {"name": "self", "type": "strata", "connection_info": {"auth_url": "%s/identity/v3", "username": "admin",
                 "password": "%s", "project_name": "admin", "user_domain_name": "Default", "project_domain_name": "Default"}}}
                """.formatted(cloud.baseUrl(), TestCloud.ADMIN_PASSWORD)).expect(200).json().at("/endpoint/id").asText();
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    /** Servers of the cloud tagged as minions of the pool. */
    private static List<JsonNode> minionServers(String poolId) {
        return minionServers(admin, poolId);
    }

    private static List<JsonNode> minionServers(ApiClient admin, String poolId) {
        List<JsonNode> servers = new ArrayList<>();
        for (JsonNode server : admin.get("/compute/v2.1/servers/detail").expect(200).json().get("servers")) {
            if (poolId.equals(server.at("/metadata/coriolis_minion_pool_id").asText(null))) {
                servers.add(server);
            }
        }
        return servers;
    }

    private static JsonNode awaitPool(String poolId, String status) {
        return awaitPool(migration, poolId, status);
    }

    private static JsonNode awaitPool(MigrationClient migration, String poolId, String status) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last.set(migration.get("/minion_pools/" + poolId).expect(200).json().get("minion_pool"));
            return last.get().get("status").asText().equals(status);
        });
        return last.get();
    }

    private static List<String> serverIds(JsonNode pool) {
        List<String> ids = new ArrayList<>();
        for (JsonNode machine : pool.get("minion_machines")) {
            ids.add(machine.at("/provider_properties/server_id").asText());
        }
        return ids;
    }

    @Test
    void poolsBootRefreshAndDeleteMinionServers() {
        String image = Servers.uploadImage(admin, "minion-image");
        JsonNode created = migration.post("/minion_pools", """
                {"minion_pool": {"name": "workers", "endpoint_id": "%s", "platform": "destination", "os_type": "linux",
                 "environment_options": {"image_id": "%s"}, "minimum_minions": 2, "maximum_minions": 3}}""".formatted(endpoint, image))
                .expect(200).json().get("minion_pool");
        String poolId = created.get("id").asText();
        assertThat(created.get("status").asText()).isIn("ALLOCATING", "ALLOCATED");

        JsonNode pool = awaitPool(poolId, "ALLOCATED");
        List<String> minions = serverIds(pool);
        assertThat(minions).hasSize(2).doesNotContain("");
        List<JsonNode> servers = minionServers(poolId);
        assertThat(servers).extracting(s -> s.get("id").asText()).containsExactlyInAnyOrderElementsOf(minions);
        assertThat(servers).allSatisfy(s -> assertThat(s.get("status").asText()).isEqualTo("ACTIVE"));
        assertThat(servers).allSatisfy(s -> assertThat(s.get("name").asText()).startsWith("coriolis-minion-"));
        migration.delete("/minion_pools/" + poolId).expect(409);

        // One minion vanishes behind the pool's back and the minimum goes up: refresh boots two.
        admin.delete("/compute/v2.1/servers/" + minions.get(0)).expect(204);
        await().atMost(Duration.ofSeconds(30)).until(() -> admin.get("/compute/v2.1/servers/" + minions.get(0)).status() == 404);
        migration.put("/minion_pools/" + poolId, "{\"minion_pool\": {\"minimum_minions\": 3}}").expect(200);
        migration.post("/minion_pools/" + poolId + "/actions", "{\"refresh\": null}").expect(200);
        pool = awaitPool(poolId, "ALLOCATED");
        List<String> refreshed = serverIds(pool);
        assertThat(refreshed).hasSize(3).contains(minions.get(1)).doesNotContain(minions.get(0));
        assertThat(minionServers(poolId)).extracting(s -> s.get("id").asText()).containsExactlyInAnyOrderElementsOf(refreshed);

        migration.post("/minion_pools/" + poolId + "/actions", "{\"deallocate\": {\"force\": false}}").expect(200);
        pool = awaitPool(poolId, "DEALLOCATED");
        assertThat(pool.get("minion_machines")).isEmpty();
        assertThat(minionServers(poolId)).isEmpty();
        for (String id : refreshed) {
            admin.get("/compute/v2.1/servers/" + id).expect(404);
        }
        migration.delete("/minion_pools/" + poolId).expect(204);
    }

    @Test
    void aPoolThatCannotBootEndsInErrorAndForcedDeallocationCleansUp() {
        JsonNode created = migration.post("/minion_pools", """
                {"minion_pool": {"name": "broken", "endpoint_id": "%s", "platform": "source", "os_type": "linux",
                 "environment_options": {"image_id": "no-such-image"}, "minimum_minions": 1, "maximum_minions": 1}}""".formatted(endpoint))
                .expect(200).json().get("minion_pool");
        String poolId = created.get("id").asText();
        JsonNode pool = awaitPool(poolId, "ERROR");
        assertThat(pool.get("minion_machines")).isEmpty();
        assertThat(minionServers(poolId)).isEmpty();
        migration.post("/minion_pools/" + poolId + "/actions", "{\"deallocate\": {\"force\": false}}").expect(409);
        migration.post("/minion_pools/" + poolId + "/actions", "{\"deallocate\": {\"force\": true}}").expect(200);
        awaitPool(poolId, "DEALLOCATED");
        migration.delete("/minion_pools/" + poolId).expect(204);
    }

    /**
     * A controller that crashed while allocating a pool (one minion booted and listed, one booted
     * but not yet saved in the pool) and, later, while deallocating it: each restart resumes the
     * pool from the database, and no minion server is leaked or forgotten. A qemu-host pool (its
     * machines are records) left allocating is allocated at once.
     */
    @Test
    void aPoolLeftAllocatingOrDeallocatingByACrashIsResumedAtStart() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        // A fixed port: the endpoint (this cloud itself) must still be there after the restarts.
        TestCloud crashing = TestCloud.start(io.strata.store.TestDatabases.Kind.H2, c -> c.withPort(port));
        try {
            ApiClient api = crashing.admin();
            MigrationClient client = new MigrationClient(api);
            ObjectNode connection = (ObjectNode) MAPPER.readTree("""
                    {"auth_url": "%s/identity/v3", "username": "admin", "password": "%s", "project_name": "admin",
                     "user_domain_name": "Default", "project_domain_name": "Default"}""".formatted(crashing.baseUrl(), TestCloud.ADMIN_PASSWORD));
            String self = client.post("/endpoints", MAPPER.createObjectNode().set("endpoint", MAPPER.createObjectNode().put("name", "self")
                    .put("type", "strata").set("connection_info", connection)).toString()).expect(200).json().at("/endpoint/id").asText();
            String image = Servers.uploadImage(api, "crash-minion-image");
            ObjectNode options = MAPPER.createObjectNode().put("image_id", image);
            String poolId = client.post("/minion_pools", """
                    {"minion_pool": {"name": "crashed", "endpoint_id": "%s", "platform": "destination", "os_type": "linux",
                     "environment_options": %s, "minimum_minions": 3, "maximum_minions": 3, "skip_allocation": true}}"""
                    .formatted(self, options)).expect(200).json().at("/minion_pool/id").asText();

            // What the allocation had done when the controller died: two minions booted by the
            // provider, only the first saved in the pool.
            CloudApiProvider provider = new CloudApiProvider("strata", crashing.dataDir().resolve("test-staging"));
            ObjectNode listed = provider.createMinion(connection, options, poolId, "coriolis-minion-crashed-0");
            ObjectNode unlisted = provider.createMinion(connection, options, poolId, "coriolis-minion-crashed-1");
            String worker = Files.readString(crashing.dataDir().resolve("migration/worker.id")).strip();
            ObjectNode machine = MAPPER.createObjectNode().put("id", UUID.randomUUID().toString()).put("pool_id", poolId)
                    .put("allocation_status", "AVAILABLE").put("power_status", "POWERED_ON");
            machine.set("provider_properties", listed);
            // A pool on a qemu-host endpoint (machines are records) left ALLOCATING too.
            String host = client.qemuHostEndpoint("host", Files.createDirectories(crashing.dataDir().resolve("test-vms")));
            String recordsId = client.post("/minion_pools", """
                    {"minion_pool": {"name": "records", "endpoint_id": "%s", "platform": "source", "os_type": "linux",
                     "minimum_minions": 2, "maximum_minions": 2, "skip_allocation": true}}""".formatted(host))
                    .expect(200).json().at("/minion_pool/id").asText();
            crashing = crashing.restart(jdbi -> {
                leave(jdbi, poolId, MinionPoolService.ALLOCATING, List.of(machine), worker);
                leave(jdbi, recordsId, MinionPoolService.ALLOCATING, List.of(), worker);
            });

            api = crashing.admin();
            client = new MigrationClient(api);
            JsonNode pool = awaitPool(client, poolId, "ALLOCATED");
            List<String> minions = serverIds(pool);
            // Both booted minions are the pool's, and one more made the minimum.
            assertThat(minions).hasSize(3).contains(listed.get("server_id").asText(), unlisted.get("server_id").asText());
            assertThat(minionServers(api, poolId)).extracting(s -> s.get("id").asText()).containsExactlyInAnyOrderElementsOf(minions);
            assertThat(awaitPool(client, recordsId, "ALLOCATED").get("minion_machines")).hasSize(2);

            // Died again, this time deallocating: the minions it had not deleted yet are deleted at the next start.
            List<ObjectNode> machines = new ArrayList<>();
            pool.get("minion_machines").forEach(m -> machines.add((ObjectNode) m));
            crashing = crashing.restart(jdbi -> leave(jdbi, poolId, MinionPoolService.DEALLOCATING, machines, worker));
            api = crashing.admin();
            client = new MigrationClient(api);
            pool = awaitPool(client, poolId, "DEALLOCATED");
            assertThat(pool.get("minion_machines")).isEmpty();
            assertThat(minionServers(api, poolId)).isEmpty();
            for (String id : minions) {
                api.get("/compute/v2.1/servers/" + id).expect(404);
            }
        } finally {
            crashing.close();
        }
    }

    /** Writes the pool as the crashed controller left it. */
    private static void leave(Jdbi jdbi, String poolId, String status, List<ObjectNode> machines, String worker) {
        new MigrationStore(jdbi, Clock.systemUTC()).update(MigrationStore.Kind.MINION_POOL, poolId, MinionPool.class,
                p -> p.withStatus(status, machines, Instant.now()).withWorker(worker, Instant.now()));
    }
}
