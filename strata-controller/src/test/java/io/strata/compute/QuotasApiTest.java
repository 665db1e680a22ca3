package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.api.Json;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * os-quota-sets, limits, and quota enforcement at create, including under 50 concurrent creates
 * and concurrent creates into one server group.
 */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class QuotasApiTest {
    private static final Set<String> KEYS_2_1 = Set.of("id", "cores", "fixed_ips", "floating_ips", "injected_file_content_bytes",
            "injected_file_path_bytes", "injected_files", "instances", "key_pairs", "metadata_items", "ram", "security_group_rules",
            "security_groups", "server_group_members", "server_groups");
    private static final Set<String> KEYS_2_36 = Set.of("id", "cores", "injected_file_content_bytes", "injected_file_path_bytes",
            "injected_files", "instances", "key_pairs", "metadata_items", "ram", "server_group_members", "server_groups");

    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        // Defaults come from configuration: cores 40 here, the rest Strata's defaults.
        cloud = TestCloud.start(kind, config -> config.withQuotas(QuotaDefaults.DEFAULT.with("cores=40")));
        admin = cloud.admin();
        image = Servers.uploadPublicImage(admin, "cirros");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void showDefaultsDetailAndUpdateFollowNova() {
        ApiClient member = cloud.newProjectUser("q-show", "quinn", "member");
        String project = projectId("q-show");
        JsonNode defaults = member.get("/compute/v2.1/os-quota-sets/" + project + "/defaults").expect(200).json().get("quota_set");
        assertThat(fieldNames(defaults)).isEqualTo(new TreeSet<>(KEYS_2_1));
        assertThat(defaults.get("cores").asLong()).isEqualTo(40);
        assertThat(defaults.get("metadata_items").asLong()).isEqualTo(128);
        assertThat(defaults.get("instances").asLong()).isEqualTo(-1);
        JsonNode newer = member.withHeader("OpenStack-API-Version", "compute 2.36").get("/compute/v2.1/os-quota-sets/" + project)
                .expect(200).json().get("quota_set");
        assertThat(fieldNames(newer)).isEqualTo(new TreeSet<>(KEYS_2_36));
        assertThat(newer.get("id").asText()).isEqualTo(project);

        member.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 5}}").expect(403);
        member.get("/compute/v2.1/os-quota-sets/" + projectId("admin")).expect(403);
        JsonNode updated = admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 5, \"ram\": \"2048\"}}")
                .expect(200).json().get("quota_set");
        assertThat(updated.has("id")).isFalse();
        assertThat(updated.get("instances").asLong()).isEqualTo(5);
        assertThat(updated.get("ram").asLong()).isEqualTo(2048);
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": -2}}").expect(400);
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"widgets\": 1}}").expect(400);
        admin.withHeader("OpenStack-API-Version", "compute 2.36")
                .put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"floating_ips\": 1}}").expect(400);

        String server = Servers.create(member, "q-one", image, "1", null);
        JsonNode detail = member.get("/compute/v2.1/os-quota-sets/" + project + "/detail").expect(200).json().get("quota_set");
        assertThat(detail.at("/instances/in_use").asLong()).isEqualTo(1);
        assertThat(detail.at("/instances/limit").asLong()).isEqualTo(5);
        assertThat(detail.at("/instances/reserved").asLong()).isZero();
        assertThat(detail.at("/cores/in_use").asLong()).isEqualTo(1);
        assertThat(admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 0}}").expect(400).json()
                .at("/badRequest/message").asText())
                .isEqualTo("Quota limit 0 for instances must be greater than or equal to already used and reserved 1.");
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 0, \"force\": true}}").expect(200);

        admin.delete("/compute/v2.1/os-quota-sets/" + project).expect(202);
        assertThat(member.get("/compute/v2.1/os-quota-sets/" + project).expect(200).json().at("/quota_set/instances").asLong())
                .isEqualTo(-1);
        Servers.deleteAndWait(member, server);
    }

    @Test
    void createsStopAtTheQuotaAndLimitsShowIt() {
        ApiClient member = cloud.newProjectUser("q-enforce", "quentin", "member");
        String project = projectId("q-enforce");
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 3, \"metadata_items\": 2}}").expect(200);

        List<String> ids = new ArrayList<>();
        ids.add(Servers.create(member, "q-a", image, "1", null));
        // max_count beyond the quota builds what fits, as long as min_count fits.
        JsonNode multi = member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"q-b\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\", \"min_count\": 1, \"max_count\": 5, \"return_reservation_id\": true}}").expect(202).json();
        assertThat(multi.has("reservation_id")).isTrue();
        JsonNode listed = member.get("/compute/v2.1/servers").expect(200).json().get("servers");
        assertThat(listed).hasSize(3);
        listed.forEach(s -> ids.add(s.get("id").asText()));

        JsonNode refused = member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"q-c\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\"}}").expect(403).json();
        assertThat(refused.at("/forbidden/message").asText())
                .isEqualTo("Quota exceeded for instances: Requested 1, but already used 3 of 3 instances");
        JsonNode absolute = member.get("/compute/v2.1/limits").expect(200).json().at("/limits/absolute");
        assertThat(absolute.get("maxTotalInstances").asLong()).isEqualTo(3);
        assertThat(absolute.get("totalInstancesUsed").asLong()).isEqualTo(3);
        assertThat(absolute.get("maxTotalCores").asLong()).isEqualTo(40);
        assertThat(absolute.get("maxServerMeta").asLong()).isEqualTo(2);
        assertThat(member.withHeader("OpenStack-API-Version", "compute 2.36").get("/compute/v2.1/limits").expect(200).json()
                .at("/limits/absolute").has("maxSecurityGroups")).isFalse();

        // Deleting frees the quota again; metadata items are limited too.
        ids.stream().distinct().forEach(id -> Servers.deleteAndWait(member, id));
        assertThat(member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"q-d\", \"imageRef\": \"" + image + "\", \"flavorRef\": "
                + "\"1\", \"metadata\": {\"a\": \"1\", \"b\": \"2\", \"c\": \"3\"}}}").expect(403).json().at("/forbidden/message").asText())
                .startsWith("Quota exceeded for metadata_items");
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"cores\": 1, \"key_pairs\": 1}}").expect(200);
        member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"k1\"}}").expect(200);
        assertThat(member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"k2\"}}").expect(403).json()
                .at("/forbidden/message").asText()).isEqualTo("Quota exceeded, too many key pairs.");
        assertThat(member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"q-e\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"3\"}}").expect(403).json().at("/forbidden/message").asText())
                .isEqualTo("Quota exceeded for cores: Requested 2, but already used 0 of 1 cores");
    }

    @Test
    void minusOneIsUnlimitedRamIsEnforcedAndLimitsReflectEveryQuota() {
        ApiClient member = cloud.newProjectUser("q-ram", "rami", "member");
        String project = projectId("q-ram");
        // m1.tiny has 512 MB: two fit in 1024, a third does not; instances set to -1 explicitly count nothing.
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 1}}").expect(200);
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": -1, \"ram\": 1024, \"key_pairs\": 7, "
                + "\"server_groups\": 3, \"server_group_members\": 4, \"metadata_items\": 1}}").expect(200);
        assertThat(member.get("/compute/v2.1/os-quota-sets/" + project).expect(200).json().at("/quota_set/instances").asLong()).isEqualTo(-1);
        List<String> ids = new ArrayList<>();
        ids.add(Servers.create(member, "r-1", image, "1", null));
        ids.add(Servers.create(member, "r-2", image, "1", null));
        assertThat(member.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"r-3\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"1\"}}").expect(403).json().at("/forbidden/message").asText())
                .isEqualTo("Quota exceeded for ram: Requested 512, but already used 1024 of 1024 ram");

        JsonNode absolute = member.get("/compute/v2.1/limits").expect(200).json().at("/limits/absolute");
        assertThat(absolute.get("maxTotalInstances").asLong()).isEqualTo(-1);
        assertThat(absolute.get("totalInstancesUsed").asLong()).isEqualTo(2);
        assertThat(absolute.get("maxTotalRAMSize").asLong()).isEqualTo(1024);
        assertThat(absolute.get("totalRAMUsed").asLong()).isEqualTo(1024);
        assertThat(absolute.get("totalCoresUsed").asLong()).isEqualTo(2);
        assertThat(absolute.get("maxTotalKeypairs").asLong()).isEqualTo(7);
        assertThat(absolute.get("maxServerGroups").asLong()).isEqualTo(3);
        assertThat(absolute.get("maxServerGroupMembers").asLong()).isEqualTo(4);
        assertThat(absolute.get("maxServerMeta").asLong()).isEqualTo(1);

        // The metadata quota holds for metadata set after the create too.
        member.put("/compute/v2.1/servers/" + ids.get(0) + "/metadata", "{\"metadata\": {\"a\": \"1\"}}").expect(200);
        assertThat(member.post("/compute/v2.1/servers/" + ids.get(0) + "/metadata", "{\"metadata\": {\"b\": \"2\"}}").expect(403).json()
                .at("/forbidden/message").asText()).startsWith("Quota exceeded for metadata_items");

        // RAM unlimited again: the third fits.
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"ram\": -1}}").expect(200);
        ids.add(Servers.create(member, "r-3", image, "1", null));
        assertThat(member.get("/compute/v2.1/limits").expect(200).json().at("/limits/absolute/maxTotalRAMSize").asLong()).isEqualTo(-1);
        ids.forEach(id -> Servers.deleteAndWait(member, id));

        // -1 lifts the key_pairs and server_groups quotas too.
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"key_pairs\": 1, \"server_groups\": 1}}").expect(200);
        String group = "{\"server_group\": {\"name\": \"g\", \"policies\": [\"affinity\"]}}";
        member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"r-k1\"}}").expect(200);
        member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"r-k2\"}}").expect(403);
        member.post("/compute/v2.1/os-server-groups", group).expect(200);
        member.post("/compute/v2.1/os-server-groups", group).expect(403);
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"key_pairs\": -1, \"server_groups\": -1}}").expect(200);
        member.post("/compute/v2.1/os-keypairs", "{\"keypair\": {\"name\": \"r-k2\"}}").expect(200);
        member.post("/compute/v2.1/os-server-groups", group).expect(200);
        assertThat(member.get("/compute/v2.1/limits").expect(200).json().at("/limits/absolute/maxServerGroups").asLong()).isEqualTo(-1);
    }

    @Test
    void fiftyConcurrentCreatesNeverExceedAQuotaOfTen() throws Exception {
        ApiClient member = cloud.newProjectUser("q-race", "rachel", "member");
        String project = projectId("q-race");
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"instances\": 10}}").expect(200);
        String body = "{\"server\": {\"name\": \"racer\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\"}}";
        List<Integer> statuses = concurrently(50, i -> member.post("/compute/v2.1/servers", body).status());
        assertThat(statuses.stream().filter(s -> s == 202).count()).isEqualTo(10);
        assertThat(statuses.stream().filter(s -> s == 403).count()).isEqualTo(40);
        JsonNode servers = member.get("/compute/v2.1/servers").expect(200).json().get("servers");
        assertThat(servers).hasSize(10);
        servers.forEach(s -> Servers.deleteAndWait(member, s.get("id").asText()));
    }

    @Test
    void concurrentKeyPairAndServerGroupCreatesNeverExceedTheirQuotas() throws Exception {
        ApiClient member = cloud.newProjectUser("q-race-2", "rita", "member");
        String project = projectId("q-race-2");
        admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"key_pairs\": 3, \"server_groups\": 2}}").expect(200);
        List<Integer> keyPairs = concurrently(20, i -> member.post("/compute/v2.1/os-keypairs",
                "{\"keypair\": {\"name\": \"race-" + i + "\"}}").status());
        assertThat(keyPairs.stream().filter(s -> s == 200).count()).isEqualTo(3);
        assertThat(keyPairs.stream().filter(s -> s == 403).count()).isEqualTo(17);
        assertThat(member.get("/compute/v2.1/os-keypairs").expect(200).json().get("keypairs")).hasSize(3);

        List<Integer> groups = concurrently(20, i -> member.post("/compute/v2.1/os-server-groups",
                "{\"server_group\": {\"name\": \"race-" + i + "\", \"policies\": [\"affinity\"]}}").status());
        assertThat(groups.stream().filter(s -> s == 200).count()).isEqualTo(2);
        assertThat(groups.stream().filter(s -> s == 403).count()).isEqualTo(18);
        assertThat(member.get("/compute/v2.1/os-server-groups").expect(200).json().get("server_groups")).hasSize(2);
    }

    @Test
    void concurrentCreatesInOneServerGroupNeverExceedItsMemberQuota() throws Exception {
        ApiClient member = cloud.newProjectUser("q-race-3", "gina", "member");
        String project = projectId("q-race-3");
        // Once with nothing else counted (Strata's default: instances, cores and RAM unlimited),
        // once with the instances counted as well.
        for (String alsoCounted : List.of("\"cores\": -1", "\"instances\": 100")) {
            admin.put("/compute/v2.1/os-quota-sets/" + project, "{\"quota_set\": {\"server_group_members\": 3, " + alsoCounted + "}}")
                    .expect(200);
            String group = member.post("/compute/v2.1/os-server-groups", "{\"server_group\": {\"name\": \"crowd\", \"policies\": "
                    + "[\"affinity\"]}}").expect(200).json().at("/server_group/id").asText();
            List<ApiClient.Response> answers = concurrently(8, i -> member.post("/compute/v2.1/servers", "{\"server\": {\"name\": "
                    + "\"crowd-" + i + "\", \"imageRef\": \"" + image + "\", \"flavorRef\": \"1\"}, \"os:scheduler_hints\": {\"group\": \""
                    + group + "\"}}"));
            List<String> created = answers.stream().filter(a -> a.status() == 202).map(a -> a.json().at("/server/id").asText()).toList();
            assertThat(created).as("creates accepted with %s", alsoCounted).hasSize(3);
            for (ApiClient.Response refused : answers.stream().filter(a -> a.status() != 202).toList()) {
                assertThat(refused.status()).as(refused.text()).isEqualTo(403);
                assertThat(refused.json()).isEqualTo(Json.MAPPER.readTree(
                        "{\"forbidden\": {\"message\": \"Quota exceeded, too many servers in group\", \"code\": 403}}"));
            }
            List<String> members = new ArrayList<>();
            member.get("/compute/v2.1/os-server-groups/" + group).expect(200).json().at("/server_group/members")
                    .forEach(m -> members.add(m.asText()));
            assertThat(members).containsExactlyInAnyOrderElementsOf(created);
            created.forEach(id -> Servers.deleteAndWait(member, id));
            member.delete("/compute/v2.1/os-server-groups/" + group).expect(204);
        }
    }

    /** Fires {@code n} calls at once (released together) and returns their answers. */
    private static <T> List<T> concurrently(int n, java.util.function.IntFunction<T> call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<T>> answers = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                int index = i;
                answers.add(pool.submit(() -> {
                    go.await();
                    return call.apply(index);
                }));
            }
            go.countDown();
            List<T> statuses = new ArrayList<>();
            for (Future<T> answer : answers) {
                statuses.add(answer.get());
            }
            return statuses;
        } finally {
            pool.shutdownNow();
        }
    }

    private static String projectId(String name) {
        return admin.get("/identity/v3/projects?name=" + name).expect(200).json().at("/projects/0/id").asText();
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
