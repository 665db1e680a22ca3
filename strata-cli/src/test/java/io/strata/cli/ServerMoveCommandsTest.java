package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.server.StrataConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** strata server migrate / resize / resize confirm|revert against a cloud of two simulated hosts. */
class ServerMoveCommandsTest {
    @Test
    void migrateResizeConfirmAndRevert() throws Exception {
        TestCloud cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withFakeHosts(2, StrataConfig.FakeHostSpec.DEFAULT));
        try {
            StrataCli admin = StrataCli.admin(cloud);
            Path disk = Files.createTempFile("cirros", ".img");
            Files.write(disk, new byte[64 * 1024]);
            admin.ok("image", "create", "--file", disk.toString(), "--disk-format", "raw", "cirros");
            Files.delete(disk);
            admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "mover");
            String first = admin.value("server", "show", "mover", "-c", "OS-EXT-SRV-ATTR:host");

            admin.ok("server", "resize", "--flavor", "m1.small", "--wait", "mover");
            assertThat(admin.value("server", "show", "mover", "-c", "status")).isEqualTo("VERIFY_RESIZE");
            assertThat(admin.value("server", "show", "mover", "-c", "flavor")).contains("m1.small");
            String second = admin.value("server", "show", "mover", "-c", "OS-EXT-SRV-ATTR:host");
            assertThat(second).isNotEqualTo(first);
            admin.ok("server", "resize", "confirm", "--wait", "mover");
            assertThat(admin.value("server", "show", "mover", "-c", "status")).isEqualTo("ACTIVE");

            admin.ok("server", "migrate", "--wait", "mover");
            assertThat(admin.value("server", "show", "mover", "-c", "OS-EXT-SRV-ATTR:host")).isEqualTo(first);
            admin.ok("server", "resize", "revert", "--wait", "mover");
            assertThat(admin.value("server", "show", "mover", "-c", "status")).isEqualTo("ACTIVE");
            assertThat(admin.value("server", "show", "mover", "-c", "OS-EXT-SRV-ATTR:host")).isEqualTo(second);

            admin.run("server", "resize", "mover").failsWith(1, "needs --flavor");
            admin.run("server", "resize", "--flavor", "m1.small", "mover").failsWith(1, "must change flavor");
            admin.run("server", "resize", "confirm", "mover").failsWith(1, "vm_state active");
        } finally {
            cloud.close();
        }
    }
}
