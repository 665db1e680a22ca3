package io.strata.cli;

import io.strata.agent.remote.AgentServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code strata agent}: the local controller of one hypervisor host, joining the controllers over HTTP. */
@Command(name = "agent", description = "Run the agent (local controller) of this hypervisor host and join the controllers.")
final class AgentCommand implements Callable<Integer> {
    @Option(names = "--controller", required = true, paramLabel = "URL[,URL…]", description = "Controllers' base URLs (any answers).")
    String controllers;

    @Option(names = "--host-name", required = true, description = "This host's name in the cloud (os-hypervisors, os-services).")
    String hostName;

    @Option(names = "--driver", description = "Hypervisor driver: fake or qemu (default ${DEFAULT-VALUE}).", defaultValue = "fake")
    String driver;

    @Option(names = "--accel", description = "QEMU acceleration: auto, kvm or tcg (default ${DEFAULT-VALUE}).", defaultValue = "auto")
    String accel;

    @Option(names = "--data-dir", description = "Where this host keeps its VMs, live images and image cache (default ~/.strata-agent).")
    Path dataDir;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Address of the agent API (default ${DEFAULT-VALUE}).",
            defaultValue = "0.0.0.0:8775")
    String listen;

    @Option(names = "--advertise-url", description = "URL controllers reach this agent at (default http://LISTEN-ADDRESS:PORT).")
    String advertiseUrl;

    @Option(names = "--token", description = "The controllers' agent token (or STRATA_AGENT_TOKEN; see <controller data dir>/agent-token).",
            defaultValue = "${env:STRATA_AGENT_TOKEN}")
    String token;

    @Option(names = "--heartbeat-interval", paramLabel = "SECONDS", converter = ServerOptions.DurationConverter.class,
            description = "How often to heartbeat (default 3).", defaultValue = "3")
    Duration heartbeatInterval;

    @Option(names = "--fake-vcpus", description = "CPUs of the simulated host (fake driver, default ${DEFAULT-VALUE}).", defaultValue = "16")
    int fakeVcpus;

    @Option(names = "--fake-memory-mb", description = "Memory of the simulated host (default ${DEFAULT-VALUE}).", defaultValue = "65536")
    long fakeMemoryMb;

    @Option(names = "--fake-action-delay", paramLabel = "SECONDS", converter = ServerOptions.DurationConverter.class,
            description = "How long each simulated VM transition takes (default none).")
    Duration fakeActionDelay;

    @Option(names = "--shared-instance-storage", paramLabel = "DIR", description = "A directory shared with other hosts (NFS, CephFS) "
            + "for the VMs' root disks (QEMU driver): when this host dies, a host mounting the same directory rebuilds its servers "
            + "from their disks (evacuation on shared storage). Default: disks stay in the data directory.")
    Path sharedInstanceStorage;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        LogFiles.useFormat(System.getenv(LogFiles.FORMAT_VARIABLE));
        AgentServer agent = AgentServer.start(settings());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            stopped.countDown();
        }, "strata-agent-shutdown"));
        System.out.printf("Strata agent of %s is up at %s%n", hostName, agent.url());
        System.out.flush();
        stopped.await();
        return 0;
    }

    AgentServer.Settings settings() {
        if (ServerOptions.blankToNull(token) == null) {
            throw new ParameterException(spec.commandLine(), "--token is required (or STRATA_AGENT_TOKEN): the controllers' agent token");
        }
        int colon = listen.lastIndexOf(':');
        if (colon <= 0) {
            throw new ParameterException(spec.commandLine(), "--listen must be HOST:PORT, not '" + listen + "'");
        }
        int port;
        try {
            port = Integer.parseInt(listen.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), "--listen must be HOST:PORT, not '" + listen + "'");
        }
        List<String> urls = Arrays.stream(controllers.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        for (String url : urls) {
            URI uri;
            try {
                uri = URI.create(url);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--controller: not a URL: " + url);
            }
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new ParameterException(spec.commandLine(), "--controller: not an http(s) URL: " + url);
            }
        }
        Path dir = dataDir != null ? dataDir : Path.of(System.getProperty("user.home"), ".strata-agent");
        try {
            return new AgentServer.Settings(urls, hostName, driver, dir.toAbsolutePath(), listen.substring(0, colon), port,
                    ServerOptions.blankToNull(advertiseUrl), token, heartbeatInterval, fakeVcpus, fakeMemoryMb, 1_000,
                    fakeActionDelay == null ? Duration.ZERO : fakeActionDelay, accel,
                    sharedInstanceStorage == null ? null : sharedInstanceStorage.toAbsolutePath(), null);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
