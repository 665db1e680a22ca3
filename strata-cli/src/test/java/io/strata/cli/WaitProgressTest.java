package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * --wait on a terminal: a hypervisor whose every transition takes a while, so the progress line
 * shows the states the server passes through.
 */
class WaitProgressTest {
    private static TestCloud cloud;
    private static StrataCli admin;

    @BeforeAll
    static void start() throws Exception {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(1,
                new StrataConfig.FakeHostSpec(16, 65_536, 1_000, Duration.ofMillis(1500))));
        admin = StrataCli.admin(cloud);
        Path disk = Files.createTempFile("cirros", ".img");
        Files.write(disk, new byte[4096]);
        admin.ok("image", "create", "--file", disk.toString(), "cirros");
        Files.delete(disk);
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void aTerminalSeesASpinnerWithStatusTaskStateAndProgress() {
        StrataCli.Run run = admin.onTerminal().ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "slow", "-f", "value",
                "-c", "status");
        assertThat(run.out()).isEqualTo("ACTIVE\n");
        // Redrawn in place: carriage return, spinner, state, bar, erase to the end of the line.
        assertThat(run.err()).contains("\r| Server slow: BUILD").contains("%").contains("\u001b[K");
        assertThat(run.err()).containsPattern("\\r\u001b\\[KServer slow is ACTIVE \\(\\d+\\.\\d s\\)\n$");

        StrataCli.Run stop = admin.onTerminal().ok("server", "stop", "--wait", "slow");
        assertThat(stop.err()).contains("Server slow: ACTIVE (powering").endsWith(")\n");
    }

    @Test
    void offATerminalOnlyTheFinalLine() {
        admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "quiet");
        StrataCli.Run run = admin.ok("server", "delete", "--wait", "quiet");
        assertThat(run.err()).matches("Server quiet is deleted \\(\\d+\\.\\d s\\)\n");
    }

    @Test
    void aWaitThatTimesOutSaysWhereTheServerIs() {
        admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "patient");
        admin.run("server", "stop", "--wait-timeout", "1", "patient").failsWith(1, "Timed out after 1 s waiting for server patient to be SHUTOFF");
        admin.ok("server", "delete", "--wait", "patient");
    }
}
