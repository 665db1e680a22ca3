package io.strata.testing;

import io.strata.server.ControllerServer;
import io.strata.server.StrataConfig;
import io.strata.store.DatabaseConfig;
import io.strata.store.TestDatabases;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A real Strata controller for tests: on a free port, with its own data directory and a fresh
 * H2 or PostgreSQL database, and an admin client ready to use. Close it to stop everything.
 */
public final class TestCloud implements AutoCloseable {
    public static final String ADMIN_PASSWORD = "admin-secret";

    private final ControllerServer server;
    private final Path dataDir;
    private final boolean ownsDataDir;

    private TestCloud(ControllerServer server, Path dataDir, boolean ownsDataDir) {
        this.server = server;
        this.dataDir = dataDir;
        this.ownsDataDir = ownsDataDir;
    }

    public static TestCloud start() {
        return start(TestDatabases.Kind.H2, config -> config);
    }

    public static TestCloud start(TestDatabases.Kind kind) {
        return start(kind, config -> config);
    }

    public static TestCloud start(TestDatabases.Kind kind, UnaryOperator<StrataConfig> customize) {
        Path dataDir = tempDir();
        StrataConfig config = StrataConfig.defaults(dataDir)
                .withPort(0)
                .withBindHost("127.0.0.1")
                .withAdminPassword(ADMIN_PASSWORD)
                // bcrypt at its minimum cost: tests create many users and tokens.
                .withPasswordHashCost(4);
        if (kind == TestDatabases.Kind.POSTGRESQL) {
            DatabaseConfig db = TestDatabases.config(kind);
            config = config.withDatabase(db.url(), db.user(), db.password());
        }
        return new TestCloud(ControllerServer.start(customize.apply(config)), dataDir, true);
    }

    /** Starts again on the same data directory and database (restart tests). */
    public TestCloud restart() {
        StrataConfig config = server.config();
        server.close();
        return new TestCloud(ControllerServer.start(config), dataDir, ownsDataDir);
    }

    /**
     * Stops, hands the stopped controller's database to {@code whileStopped} (to leave it as a
     * controller that crashed would have), and starts again on the same data directory and database.
     */
    public TestCloud restart(java.util.function.Consumer<org.jdbi.v3.core.Jdbi> whileStopped) {
        StrataConfig config = server.config();
        server.close();
        DatabaseConfig databaseConfig = config.databaseUrl() == null ? DatabaseConfig.embedded(config.dataDir())
                : new DatabaseConfig(config.databaseUrl(), config.databaseUser(), config.databasePassword(), 2, 5_000);
        try (io.strata.store.Database database = io.strata.store.Database.open(databaseConfig)) {
            whileStopped.accept(database.jdbi());
        }
        return new TestCloud(ControllerServer.start(config), dataDir, ownsDataDir);
    }

    public ControllerServer server() {
        return server;
    }

    public String baseUrl() {
        return server.baseUrl();
    }

    public Path dataDir() {
        return dataDir;
    }

    /** A client authenticated as the bootstrap admin, scoped to project admin. */
    public ApiClient admin() {
        return ApiClient.login(baseUrl(), "admin", ADMIN_PASSWORD, "admin");
    }

    public ApiClient anonymous() {
        return new ApiClient(baseUrl(), null);
    }

    /**
     * Creates a project and a user holding {@code role} on it, and returns a client logged in as
     * that user.
     */
    public ApiClient newProjectUser(String project, String user, String role) {
        ApiClient admin = admin();
        String projectId = admin.post("/identity/v3/projects", "{\"project\": {\"name\": \"" + project + "\"}}")
                .expect(201).json().at("/project/id").asText();
        String userId = admin.post("/identity/v3/users", "{\"user\": {\"name\": \"" + user + "\", \"password\": \"pw-" + user
                + "\", \"default_project_id\": \"" + projectId + "\"}}").expect(201).json().at("/user/id").asText();
        String roleId = admin.get("/identity/v3/roles?name=" + role).expect(200).json().at("/roles/0/id").asText();
        admin.put("/identity/v3/projects/" + projectId + "/users/" + userId + "/roles/" + roleId, null).expect(204);
        return ApiClient.login(baseUrl(), user, "pw-" + user, project);
    }

    @Override
    public void close() {
        server.close();
        if (ownsDataDir) {
            // VMs outlive their controller by design (a restart re-adopts them); a test's cloud
            // is gone for good, so a test that failed before deleting its servers leaves none running.
            killProcessesUnder(dataDir);
            deleteRecursively(dataDir);
        }
    }

    private static final java.util.regex.Pattern RAM_FILE = java.util.regex.Pattern.compile("path=(/dev/shm/strata[^/,]*/[0-9a-f-]{36})/ram");

    /** Kills the processes (QEMU guests) whose command line names a path under {@code dir}. */
    public static void killProcessesUnder(Path dir) {
        String marker = dir.toAbsolutePath().toString();
        ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(args -> String.join(" ", args).contains(marker)).orElse(false))
                .filter(p -> p.pid() != ProcessHandle.current().pid())
                .forEach(p -> {
                    String args = String.join(" ", p.info().arguments().orElse(new String[0]));
                    p.destroyForcibly();
                    try {
                        p.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (Exception e) {
                        // gone or going; nothing else to do
                    }
                    // Its RAM file may live outside the data directory (tmpfs): free that too.
                    java.util.regex.Matcher ram = RAM_FILE.matcher(args);
                    while (ram.find()) {
                        deleteRecursively(Path.of(ram.group(1)));
                    }
                });
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("strata-test-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
