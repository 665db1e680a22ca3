package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A restarted controller keeps every server and finishes what a stop interrupted. */
class ComputeRecoveryTest {
    @Test
    void restartKeepsServersAndTheirStates() {
        TestCloud cloud = TestCloud.start();
        try {
            ApiClient admin = cloud.admin();
            String image = Servers.uploadImage(admin, "img");
            String running = Servers.create(admin, "running", image, "1", null);
            String stopped = Servers.create(admin, "stopped", image, "1", null);
            Servers.waitFor(admin, running, "ACTIVE");
            Servers.waitFor(admin, stopped, "ACTIVE");
            Servers.action(admin, stopped, "{\"os-stop\": null}");
            Servers.waitFor(admin, stopped, "SHUTOFF");
            String ipBefore = Servers.show(admin, running).at("/addresses/default/0/addr").asText();

            cloud = cloud.restart();
            admin = cloud.admin();
            assertThat(Servers.show(admin, running).get("status").asText()).isEqualTo("ACTIVE");
            assertThat(Servers.show(admin, running).at("/addresses/default/0/addr").asText()).isEqualTo(ipBefore);
            assertThat(Servers.show(admin, stopped).get("status").asText()).isEqualTo("SHUTOFF");
            // The hypervisor kept the VMs too: actions work on them.
            Servers.action(admin, stopped, "{\"os-start\": null}");
            Servers.waitFor(admin, stopped, "ACTIVE");
            Servers.deleteAndWait(admin, running);
            Servers.deleteAndWait(admin, stopped);
        } finally {
            cloud.close();
        }
    }

    @Test
    void aBuildInterruptedByAStopIsResumedAtTheNextStart() {
        // Each hypervisor action takes 8 s, longer than the 5 s a stopping controller waits.
        TestCloud cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(1,
                new StrataConfig.FakeHostSpec(16, 65_536, 1_000, Duration.ofSeconds(8))));
        try {
            ApiClient admin = cloud.admin();
            String image = Servers.uploadImage(admin, "img");
            String id = Servers.create(admin, "interrupted", image, "1", null);
            ApiClient observer = admin;
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> "spawning".equals(Servers.show(observer, id).get("OS-EXT-STS:task_state").asText()));
            cloud = cloud.restart();
            admin = cloud.admin();
            Servers.waitFor(admin, id, "ACTIVE", Duration.ofSeconds(40));
            assertThat(admin.get("/compute/v2.1/os-hypervisors/detail").expect(200).json().at("/hypervisors/0/running_vms").asInt())
                    .isEqualTo(1);
        } finally {
            cloud.close();
        }
    }
}
