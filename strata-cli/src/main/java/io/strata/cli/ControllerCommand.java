package io.strata.cli;

import io.strata.server.ClusterSettings;
import io.strata.server.StrataConfig;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code strata controller}: one of several controllers of a distributed cloud, sharing one
 * PostgreSQL database; ZooKeeper elects the leader that schedules the Snooze rounds, watches the
 * hosts and takes over the operations of dead controllers. Every controller serves the API.
 * Hypervisors join with {@code strata agent}.
 */
@Command(name = "controller",
        description = "Start a controller of a distributed cloud (PostgreSQL + ZooKeeper); hosts join with 'strata agent'.")
final class ControllerCommand implements Callable<Integer> {
    @Mixin
    ServerOptions server;

    @Option(names = "--zookeeper", required = true, paramLabel = "HOST:PORT[,HOST:PORT…]", description = "ZooKeeper ensemble.")
    String zookeeper;

    @Option(names = "--zookeeper-session-timeout", paramLabel = "SECONDS", converter = ServerOptions.DurationConverter.class,
            description = "How long a silent controller keeps its leadership (default 10).")
    Duration zookeeperSessionTimeout;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return UpCommand.serve(config());
    }

    StrataConfig config() {
        if (server.databaseUrl == null || !server.databaseUrl.startsWith("jdbc:postgresql:")) {
            throw new ParameterException(spec.commandLine(), "--db must name a PostgreSQL database (jdbc:postgresql://…): controllers "
                    + "share it");
        }
        ClusterSettings cluster = ClusterSettings.distributed(zookeeper);
        if (zookeeperSessionTimeout != null) {
            cluster = cluster.withZookeeperSessionTimeout(zookeeperSessionTimeout);
        }
        return server.config(cluster).withDriver(null);
    }
}
