package io.strata.testing;

import static org.awaitility.Awaitility.await;

import io.strata.agent.remote.AgentServer;
import io.strata.server.StrataConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A real controller with its own QEMU host (the all-in-one's) and real agent servers (QEMU driver
 * under TCG, each with a data directory of its own, so that they share no storage with each
 * other or with the controller), registered with it, and the test guest registered as an image.
 * {@link #startSharing} gives the agents one shared instance directory for their VMs' disks (as
 * an NFS mount on every host would), and agents can be stopped and started again.
 */
public final class RemoteQemuAgents implements AutoCloseable {
    private final TestCloud cloud;
    private final List<AgentServer> agents = new ArrayList<>();
    private final List<AgentServer.Settings> settings = new ArrayList<>();
    private final List<Path> dirs = new ArrayList<>();
    private final List<Path> rams = new ArrayList<>();
    private final Path shared;
    private final String image;

    private RemoteQemuAgents(List<String> names, boolean sharing, UnaryOperator<StrataConfig> customize) throws Exception {
        cloud = TestCloud.start(io.strata.store.TestDatabases.Kind.H2, config -> customize.apply(config.withDriver("qemu").withAccel("tcg")));
        try {
            String token = Files.readString(cloud.dataDir().resolve("agent-token")).strip();
            shared = sharing ? Files.createTempDirectory("strata-shared-") : null;
            for (String name : names) {
                Path dir = Files.createTempDirectory("strata-" + name + "-");
                dirs.add(dir);
                // RAM files of their own: a VM moving between two agents of this machine keeps its id.
                Path ram = Path.of("/dev/shm/strata-" + dir.getFileName());
                rams.add(ram);
                settings.add(new AgentServer.Settings(List.of(cloud.baseUrl()), name, "qemu", dir, "127.0.0.1", 0, null,
                        token, Duration.ofSeconds(1), 0, 0, 0, Duration.ZERO, "tcg", shared, ram));
                agents.add(AgentServer.start(settings.getLast()));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> agents.stream().allMatch(AgentServer::registered));
            image = TestGuest.register(cloud.admin(), "guest");
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /** Starts the cloud and one agent per name (the agent's host name). */
    public static RemoteQemuAgents start(String... hostNames) throws Exception {
        return new RemoteQemuAgents(List.of(hostNames), false, UnaryOperator.identity());
    }

    /** As {@link #start}, the agents' VM disks in one shared instance directory, the controller's config customised. */
    public static RemoteQemuAgents startSharing(UnaryOperator<StrataConfig> customize, String... hostNames) throws Exception {
        return new RemoteQemuAgents(List.of(hostNames), true, customize);
    }

    /** The agents' shared instance directory (null unless started sharing). */
    public Path shared() {
        return shared;
    }

    /**
     * The {@code index}th host dies: its agent stops and its QEMU processes are killed (a dead
     * host loses its guests); its files stay, as on a host that is switched off.
     */
    public void kill(int index) {
        agents.get(index).close();
        agents.set(index, null);
        TestCloud.killProcessesUnder(dirs.get(index));
    }

    /** The {@code index}th host comes back: its agent starts again on the same directories and registers. */
    public void restart(int index) throws Exception {
        AgentServer agent = AgentServer.start(settings.get(index));
        agents.set(index, agent);
        await().atMost(Duration.ofSeconds(30)).until(agent::registered);
    }

    public TestCloud cloud() {
        return cloud;
    }

    public ApiClient admin() {
        return cloud.admin();
    }

    /** The id of the test guest's image. */
    public String image() {
        return image;
    }

    /** The data directory of the {@code index}th agent (its VMs run under {@code qemu/}). */
    public Path dir(int index) {
        return dirs.get(index);
    }

    @Override
    public void close() throws Exception {
        for (AgentServer agent : agents) {
            if (agent != null) {    // null: killed and not restarted
                agent.close();
            }
        }
        if (cloud != null) {
            cloud.close();
        }
        List<Path> all = new ArrayList<>(dirs);
        all.addAll(rams);
        if (shared != null) {
            all.add(shared);
        }
        for (Path dir : all) {
            TestCloud.killProcessesUnder(dir);
            if (!Files.exists(dir)) {
                continue;
            }
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
