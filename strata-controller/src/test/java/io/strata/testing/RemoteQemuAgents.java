package io.strata.testing;

import static org.awaitility.Awaitility.await;

import io.strata.agent.remote.AgentServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real controller with its own QEMU host (the all-in-one's) and real agent servers (QEMU driver
 * under TCG, each with a data directory of its own, so that they share no storage with each
 * other or with the controller), registered with it, and the test guest registered as an image.
 */
public final class RemoteQemuAgents implements AutoCloseable {
    private final TestCloud cloud;
    private final List<AgentServer> agents = new ArrayList<>();
    private final List<Path> dirs = new ArrayList<>();
    private final String image;

    private RemoteQemuAgents(List<String> names) throws Exception {
        cloud = TestCloud.start(io.strata.store.TestDatabases.Kind.H2, config -> config.withDriver("qemu").withAccel("tcg"));
        try {
            String token = Files.readString(cloud.dataDir().resolve("agent-token")).strip();
            for (String name : names) {
                Path dir = Files.createTempDirectory("strata-" + name + "-");
                dirs.add(dir);
                agents.add(AgentServer.start(new AgentServer.Settings(List.of(cloud.baseUrl()), name, "qemu", dir, "127.0.0.1", 0, null,
                        token, Duration.ofSeconds(1), 0, 0, 0, Duration.ZERO, "tcg")));
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
        return new RemoteQemuAgents(List.of(hostNames));
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
            agent.close();
        }
        if (cloud != null) {
            cloud.close();
        }
        for (Path dir : dirs) {
            TestCloud.killProcessesUnder(dir);
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
