package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.testing.TestCloud;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shaded jar as users run it (bin/strata runs exactly this): a separate JVM, real exit
 * statuses, stderr a pipe rather than a terminal, and how long a command takes from exec to exit.
 */
class StrataJarIT {
    private static TestCloud cloud;

    record Result(int exit, String out, String err, long millis) {}

    @BeforeAll
    static void start() {
        cloud = TestCloud.start();
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    private static Result strata(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", System.getProperty("strata.jar", "target/strata.jar")));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().keySet().removeIf(name -> name.startsWith("OS_"));
        builder.environment().putAll(env);
        Path out = Files.createTempFile("strata", ".out");
        Path err = Files.createTempFile("strata", ".err");
        builder.redirectOutput(out.toFile()).redirectError(err.toFile());
        long started = System.nanoTime();
        Process process = builder.start();
        assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("strata %s finished", String.join(" ", args)).isTrue();
        long millis = (System.nanoTime() - started) / 1_000_000;
        Result result = new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8),
                millis);
        Files.delete(out);
        Files.delete(err);
        return result;
    }

    private static Map<String, String> admin() {
        return Map.of("OS_AUTH_URL", cloud.baseUrl() + "/identity", "OS_USERNAME", "admin", "OS_PASSWORD", TestCloud.ADMIN_PASSWORD,
                "OS_PROJECT_NAME", "admin", "OS_USER_DOMAIN_NAME", "Default", "OS_PROJECT_DOMAIN_NAME", "Default");
    }

    @Test
    void commandsSucceedAndReportTheirTime() throws Exception {
        strata(admin(), "flavor", "list");
        Result list = strata(admin(), "flavor", "list");
        assertThat(list.exit()).as(list.err()).isZero();
        assertThat(list.out()).contains("| m1.tiny ");
        assertThat(list.err()).isEmpty();
        // Not an assertion (the machine is shared); the figure lands in the test report.
        System.out.printf("strata flavor list: %d ms from exec to exit%n", list.millis());
    }

    @Test
    void waitOnAPipePrintsOnlyTheFinalLine() throws Exception {
        Path disk = Files.createTempFile("disk", ".img");
        Files.write(disk, new byte[1024]);
        assertThat(strata(admin(), "image", "create", "--file", disk.toString(), "jar-image").exit()).isZero();
        Result created = strata(admin(), "server", "create", "--flavor", "m1.tiny", "--image", "jar-image", "--wait", "jar-vm",
                "-f", "value", "-c", "status");
        assertThat(created.out()).isEqualTo("ACTIVE\n");
        assertThat(created.err()).matches("Server jar-vm is ACTIVE \\(\\d+\\.\\d s\\)\n");
        assertThat(strata(admin(), "server", "delete", "--wait", "jar-vm").exit()).isZero();
        Files.delete(disk);
    }

    @Test
    void failuresAreOneLineWithoutStackTraces() throws Exception {
        Result missing = strata(admin(), "server", "show", "nope");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo("strata: No server with a name or ID of 'nope' exists.\n");

        Result unreachable = strata(Map.of("OS_AUTH_URL", "http://127.0.0.1:1/identity", "OS_USERNAME", "a", "OS_PASSWORD", "b"),
                "server", "list");
        assertThat(unreachable.exit()).isEqualTo(1);
        assertThat(unreachable.err()).isEqualTo("strata: Unable to establish connection to http://127.0.0.1:1/identity/v3/auth/tokens: "
                + "connection refused\n");

        Result badOption = strata(admin(), "server", "list", "--bogus");
        assertThat(badOption.exit()).isEqualTo(2);
        assertThat(badOption.err().lines().toList()).hasSize(1);

        Result unauthorized = strata(Map.of("OS_AUTH_URL", cloud.baseUrl() + "/identity", "OS_USERNAME", "admin", "OS_PASSWORD", "wrong",
                "OS_PROJECT_NAME", "admin"), "flavor", "list");
        assertThat(unauthorized.exit()).isEqualTo(1);
        assertThat(unauthorized.err()).startsWith("strata: The request you have made requires authentication. (HTTP 401)").hasLineCount(1);
    }
}
