package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.agent.remote.AgentServer;
import io.strata.server.ClusterSettings;
import io.strata.server.StrataConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** How {@code strata controller} and {@code strata agent} read their options, and what they refuse. */
class ServerCommandOptionsTest {
    private static AgentServer.Settings agent(String... args) {
        AgentCommand command = new AgentCommand();
        new CommandLine(command).parseArgs(args);
        return command.settings();
    }

    private static StrataConfig controller(String... args) {
        ControllerCommand command = new ControllerCommand();
        new CommandLine(command).parseArgs(args);
        return command.config();
    }

    @Test
    void agentOptions() {
        AgentServer.Settings settings = agent("--controller", "http://c1:8774, http://c2:8774/", "--host-name", "node-7", "--token", "t0k",
                "--listen", "10.1.2.3:9000", "--heartbeat-interval", "500ms", "--advertise-url", "http://node-7:9000", "--data-dir", "/tmp/a");
        assertThat(settings.controllers()).containsExactly("http://c1:8774", "http://c2:8774/");
        assertThat(settings.hostName()).isEqualTo("node-7");
        assertThat(settings.listenHost()).isEqualTo("10.1.2.3");
        assertThat(settings.listenPort()).isEqualTo(9000);
        assertThat(settings.advertiseUrl()).isEqualTo("http://node-7:9000");
        assertThat(settings.heartbeatInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(settings.driver()).isEqualTo("fake");

        AgentServer.Settings defaults = agent("--controller", "http://c1:8774", "--host-name", "n", "--token", "t");
        assertThat(defaults.heartbeatInterval()).isEqualTo(Duration.ofSeconds(3));
        assertThat(defaults.listenPort()).isEqualTo(8775);
        assertThat(defaults.sharedInstanceStorage()).as("disks stay in the data directory").isNull();

        AgentServer.Settings sharing = agent("--controller", "http://c1:8774", "--host-name", "n", "--token", "t", "--driver", "qemu",
                "--shared-instance-storage", "/srv/instances");
        assertThat(sharing.sharedInstanceStorage()).isEqualTo(java.nio.file.Path.of("/srv/instances"));
    }

    @Test
    void agentRefusesBadOptionsWithOneClearMessage() {
        assertThatThrownBy(() -> agent("--controller", "http://c:1", "--host-name", "n", "--token", " "))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--token is required");
        assertThatThrownBy(() -> agent("--controller", "c1:8774", "--host-name", "n", "--token", "t"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("not an http(s) URL: c1:8774");
        assertThatThrownBy(() -> agent("--controller", "http://c:1", "--host-name", "n", "--token", "t", "--listen", "9000"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> agent("--controller", "http://c:1", "--host-name", "bad name", "--token", "t"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("host name");
        assertThatThrownBy(() -> agent("--controller", "http://c:1", "--host-name", "n", "--token", "t", "--driver", "xen"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("fake or qemu");
        assertThatThrownBy(() -> agent("--controller", "http://c:1", "--host-name", "n", "--token", "t", "--heartbeat-interval", "-1"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("not a positive duration");
        assertThatThrownBy(() -> agent("--controller", "http://c:1", "--host-name", "n", "--token", "t", "--shared-instance-storage", "/srv"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("needs --driver qemu");
        assertThatThrownBy(() -> agent("--host-name", "n", "--token", "t"))
                .isInstanceOf(CommandLine.MissingParameterException.class).hasMessageContaining("--controller");
    }

    @Test
    void quotaOptionsSetTheProjectsDefaults() {
        StrataConfig config = controller("--db", "jdbc:postgresql://db/strata", "--zookeeper", "zk1:2181", "--quota", "instances=10",
                "--quota", " key_pairs = 3 ", "--quota", "metadata_items=-1");
        assertThat(config.quotas().limit(io.strata.compute.QuotaResource.INSTANCES)).isEqualTo(10);
        assertThat(config.quotas().limit(io.strata.compute.QuotaResource.KEY_PAIRS)).isEqualTo(3);
        assertThat(config.quotas().limit(io.strata.compute.QuotaResource.METADATA_ITEMS)).isEqualTo(-1);
        assertThat(config.quotas().limit(io.strata.compute.QuotaResource.CORES)).as("the rest keep Strata's defaults").isEqualTo(-1);
        assertThat(config.quotas().limit(io.strata.compute.QuotaResource.SERVER_GROUPS)).isEqualTo(10);
        assertThatThrownBy(() -> controller("--db", "jdbc:postgresql://db/strata", "--zookeeper", "zk1:2181", "--quota", "widgets=1"))
                .hasMessageContaining("unknown quota widgets");
        assertThatThrownBy(() -> controller("--db", "jdbc:postgresql://db/strata", "--zookeeper", "zk1:2181", "--quota", "cores=-2"))
                .hasMessageContaining("-1 (unlimited) or more");
        assertThatThrownBy(() -> controller("--db", "jdbc:postgresql://db/strata", "--zookeeper", "zk1:2181", "--quota", "cores"))
                .hasMessageContaining("NAME=VALUE");
    }

    @Test
    void controllerOptions() {
        StrataConfig config = controller("--db", "jdbc:postgresql://db/strata", "--zookeeper", "zk1:2181,zk2:2181", "--port", "9774",
                "--zookeeper-session-timeout", "4", "--heartbeat-interval", "2", "--missed-heartbeats", "5", "--evacuate", "never",
                "--agent-token", "secret", "--snooze-bootstrap-port", "5000", "--snooze-gm-port", "5001");
        ClusterSettings cluster = config.cluster();
        assertThat(config.driver()).as("a controller runs no local agent").isNull();
        assertThat(config.databaseUrl()).isEqualTo("jdbc:postgresql://db/strata");
        assertThat(config.port()).isEqualTo(9774);
        assertThat(cluster.zookeeper()).isEqualTo("zk1:2181,zk2:2181");
        assertThat(cluster.zookeeperSessionTimeout()).isEqualTo(Duration.ofSeconds(4));
        assertThat(cluster.heartbeatInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(cluster.missedHeartbeats()).isEqualTo(5);
        assertThat(cluster.downAfter()).isEqualTo(Duration.ofSeconds(10));
        assertThat(cluster.evacuate()).isEqualTo(ClusterSettings.Evacuate.NEVER);
        assertThat(cluster.agentToken()).isEqualTo("secret");
        assertThat(List.of(cluster.snoozeBootstrapPort(), cluster.snoozeGroupManagerPort())).containsExactly(5000, 5001);

        ClusterSettings defaults = controller("--db", "jdbc:postgresql://db/strata", "--zookeeper", "zk:2181").cluster();
        assertThat(defaults.heartbeatInterval()).isEqualTo(Duration.ofSeconds(3));
        assertThat(defaults.missedHeartbeats()).isEqualTo(3);
        assertThat(defaults.zookeeperSessionTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(defaults.evacuate()).isEqualTo(ClusterSettings.Evacuate.AUTO);
    }

    @Test
    void controllerNeedsPostgresAndZookeeper() {
        assertThatThrownBy(() -> controller("--zookeeper", "zk:2181"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("PostgreSQL");
        assertThatThrownBy(() -> controller("--zookeeper", "zk:2181", "--db", "jdbc:h2:mem:x"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("PostgreSQL");
        assertThatThrownBy(() -> controller("--db", "jdbc:postgresql://db/strata"))
                .isInstanceOf(CommandLine.MissingParameterException.class).hasMessageContaining("--zookeeper");
        assertThatThrownBy(() -> controller("--db", "jdbc:postgresql://db/s", "--zookeeper", "zk:2181", "--evacuate", "sometimes"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("auto, always or never");
    }

    @Test
    void upKeepsTheAllInOneDefaults() {
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs("--heartbeat-interval", "1");
        StrataConfig config = up.server.config(ClusterSettings.ALL_IN_ONE);
        assertThat(config.cluster().zookeeper()).isNull();
        assertThat(config.cluster().heartbeatInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.cluster().evacuate()).isEqualTo(ClusterSettings.Evacuate.NEVER);
    }

    @Test
    void imageSizeCapTakesBytesOrABinaryUnitAndDefaultsToGlancesOneTebibyte() {
        assertThat(upConfig().imageSizeCap()).isEqualTo(1L << 40);
        assertThat(upConfig("--image-size-cap", "1099511627776").imageSizeCap()).isEqualTo(1L << 40);
        assertThat(upConfig("--image-size-cap", "4KiB").imageSizeCap()).isEqualTo(4096);
        assertThat(upConfig("--image-size-cap", "10G").imageSizeCap()).isEqualTo(10L << 30);
        assertThat(upConfig("--image-size-cap", "2tib").imageSizeCap()).isEqualTo(2L << 40);
        assertThat(controller("--db", "jdbc:postgresql://db/s", "--zookeeper", "zk:2181", "--image-size-cap", "512M").imageSizeCap())
                .isEqualTo(512L << 20);
        for (String bad : List.of("0", "-1", "4KB", "1.5G", "lots", "9999999999T")) {
            assertThatThrownBy(() -> upConfig("--image-size-cap", bad)).as(bad)
                    .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("not a positive size");
        }
    }

    private static StrataConfig upConfig(String... args) {
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs(args);
        return up.server.config(ClusterSettings.ALL_IN_ONE);
    }
}
