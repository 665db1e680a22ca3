package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.server.StrataConfig;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import io.strata.store.TestDatabases;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The servers of one create request are scheduled in one pass and placed in one write
 * (ComputeManager#buildAll): across three fake hosts with room for one such server each, a
 * request for four spreads three and fails the fourth with Nova's NoValidHost, each built one
 * with its instance action event.
 */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class MultipleCreateTest {
    @Parameter
    TestDatabases.Kind kind;

    /** One fits on a fake host (64 GB at a RAM allocation ratio of 1.5), two do not. */
    private static final int RAM_MB = 60_000;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static String image;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind, config -> config.withFakeHosts(3, StrataConfig.FakeHostSpec.DEFAULT));
        admin = cloud.admin();
        image = Servers.uploadPublicImage(admin, "cirros");
        admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"host-sized\", \"ram\": " + RAM_MB + ", \"vcpus\": 1, \"disk\": 1, "
                + "\"id\": \"host-sized\"}}").expect(200);
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void aRequestsServersSpreadOverTheHostsAndThoseWithoutRoomFailWithNoValidHost() {
        admin.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"multi\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"host-sized\", \"min_count\": 1, \"max_count\": 4}}").expect(202);
        List<String> ids = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            ids.clear();
            for (JsonNode server : admin.get("/compute/v2.1/servers?name=multi").expect(200).json().get("servers")) {
                ids.add(server.get("id").asText());
            }
            assertThat(ids).hasSize(4);
        });
        List<String> active = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            active.clear();
            failed.clear();
            for (String id : ids) {
                JsonNode server = Servers.show(admin, id);
                assertThat(server.get("OS-EXT-STS:task_state").isNull()).isTrue();
                (server.get("status").asText().equals("ACTIVE") ? active : failed).add(id);
            }
            assertThat(active).hasSize(3);
        });
        Set<String> hosts = new HashSet<>();
        for (String id : active) {
            hosts.add(Servers.show(admin, id).get("OS-EXT-SRV-ATTR:host").asText());
            JsonNode actions = admin.get("/compute/v2.1/servers/" + id + "/os-instance-actions").expect(200).json().get("instanceActions");
            String request = actions.get(0).get("request_id").asText();
            JsonNode events = admin.get("/compute/v2.1/servers/" + id + "/os-instance-actions/" + request).expect(200).json().at("/instanceAction/events");
            assertThat(events).anySatisfy(event -> {
                assertThat(event.get("event").asText()).isEqualTo("compute__do_build_and_run_instance");
                assertThat(event.get("result").asText()).isEqualTo("Success");
            });
        }
        assertThat(hosts).as("one per host").hasSize(3);
        assertThat(failed).hasSize(1);
        JsonNode refused = Servers.show(admin, failed.get(0));
        assertThat(refused.get("status").asText()).isEqualTo("ERROR");
        assertThat(refused.at("/fault/message").asText()).contains("No valid host was found");
        for (String id : ids) {
            Servers.deleteAndWait(admin, id);
        }
        // What the failed and deleted servers held is free again: a request for three fits.
        admin.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"again\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"host-sized\", \"min_count\": 3, \"max_count\": 3}}").expect(202);
        List<String> again = new ArrayList<>();
        admin.get("/compute/v2.1/servers?name=again").expect(200).json().get("servers").forEach(s -> again.add(s.get("id").asText()));
        assertThat(again).hasSize(3);
        for (String id : again) {
            Servers.waitFor(admin, id, "ACTIVE");
            Servers.deleteAndWait(admin, id);
        }
    }
}
