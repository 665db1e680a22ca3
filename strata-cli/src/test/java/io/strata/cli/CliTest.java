package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.testing.TestCloud;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The strata client commands against a real cloud, run in-process with captured output. */
class CliTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static TestCloud cloud;

    /** What one invocation printed and returned. */
    record Run(int exit, String out, String err) {
        JsonNode json() {
            try {
                return MAPPER.readTree(out);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + out + " / " + err, e);
            }
        }
    }

    @BeforeAll
    static void start() {
        cloud = TestCloud.start();
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    static synchronized Run strata(String user, String password, String project, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        // Credentials go after the leaf command, as picocli reads a command's own options there.
        all.addAll(List.of("--os-auth-url", cloud.baseUrl() + "/identity", "--os-username", user, "--os-password", password,
                "--os-project-name", project, "--os-user-domain-name", "Default", "--os-project-domain-name", "Default"));
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(all.toArray(String[]::new));
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static Run admin(String... args) {
        return strata("admin", TestCloud.ADMIN_PASSWORD, "admin", args);
    }

    static Run ok(Run run) {
        assertThat(run.exit()).as("exit of a command that printed %s / %s", run.out(), run.err()).isZero();
        return run;
    }

    @Test
    void identityCommands() {
        ok(admin("project", "create", "cli-proj", "-f", "json"));
        ok(admin("user", "create", "--password", "pw", "--project", "cli-proj", "cli-user"));
        ok(admin("role", "add", "--project", "cli-proj", "--user", "cli-user", "member"));
        assertThat(ok(admin("role", "assignment", "list", "--project", "cli-proj", "--names", "-f", "value")).out())
                .contains("member cli-user@Default");
        assertThat(ok(admin("project", "list", "-f", "value", "-c", "Name")).out().lines()).contains("admin", "cli-proj");
        assertThat(ok(strata("cli-user", "pw", "cli-proj", "token", "issue", "-f", "json")).json().get("id").asText()).isNotBlank();
        Run forbidden = strata("cli-user", "pw", "cli-proj", "project", "create", "nope");
        assertThat(forbidden.exit()).isNotZero();
        assertThat(forbidden.err().strip().lines()).hasSize(1).allMatch(l -> l.startsWith("strata: "));
        assertThat(ok(admin("catalog", "list", "-f", "value", "-c", "Type")).out().lines()).contains("compute", "identity", "image");
    }

    @Test
    void serverLifecycleWithWait() throws Exception {
        Path disk = Files.createTempFile("cli", ".img");
        Files.write(disk, new byte[4096]);
        assertThat(ok(admin("image", "create", "--file", disk.toString(), "--property", "os_distro=test", "cli-image", "-f", "json"))
                .json().get("status").asText()).isEqualTo("active");
        Path saved = Files.createTempFile("cli", ".saved");
        ok(admin("image", "save", "--file", saved.toString(), "cli-image"));
        assertThat(Files.readAllBytes(saved)).isEqualTo(Files.readAllBytes(disk));
        ok(admin("flavor", "create", "--ram", "64", "--disk", "1", "--vcpus", "1", "cli.tiny"));
        ok(admin("keypair", "create", "--private-key", Files.createTempDirectory("k").resolve("key.pem").toString(), "cli-key"));
        JsonNode created = ok(admin("server", "create", "--flavor", "cli.tiny", "--image", "cli-image", "--key-name", "cli-key",
                "--property", "role=web", "--wait", "cli-vm", "-f", "json")).json();
        assertThat(created.get("status").asText()).isEqualTo("ACTIVE");
        assertThat(created.get("adminPass").asText()).isNotBlank();
        assertThat(ok(admin("server", "list", "-f", "value", "-c", "Name", "-c", "Status")).out()).contains("cli-vm ACTIVE");
        ok(admin("server", "stop", "--wait", "cli-vm"));
        assertThat(ok(admin("server", "show", "cli-vm", "-f", "value", "-c", "status")).out().strip()).isEqualTo("SHUTOFF");
        ok(admin("server", "start", "--wait", "cli-vm"));
        ok(admin("server", "reboot", "--hard", "--wait", "cli-vm"));
        assertThat(ok(admin("console", "log", "show", "--lines", "5", "cli-vm")).out()).isNotBlank();
        ok(admin("server", "set", "--name", "cli-vm2", "cli-vm"));
        ok(admin("server", "delete", "--wait", "cli-vm2"));
        Run gone = admin("server", "show", "cli-vm2");
        assertThat(gone.exit()).isEqualTo(1);
        assertThat(gone.err()).isEqualTo("strata: No server with a name or ID of 'cli-vm2' exists.\n");
    }

    @Test
    void operatorCommands() {
        JsonNode hypervisors = ok(admin("hypervisor", "list", "-f", "json")).json();
        String host = hypervisors.get(0).get("Hypervisor Hostname").asText();
        ok(admin("compute", "service", "set", "--disable", "--disable-reason", "maintenance", host, "nova-compute"));
        assertThat(ok(admin("service", "list", "--long", "-f", "value", "-c", "Status", "-c", "Disabled Reason")).out())
                .contains("disabled maintenance");
        ok(admin("compute", "service", "set", "--enable", host, "nova-compute"));
        assertThat(ok(admin("hypervisor", "stats", "show", "-f", "json")).json().get("count").asInt()).isEqualTo(1);
    }

    @Test
    void errorsAreOneLineAndNonZero() {
        Run badOption = admin("server", "list", "--no-such-option");
        assertThat(badOption.exit()).isEqualTo(2);
        assertThat(badOption.err().strip().lines()).hasSize(1);
        Run badFormat = admin("flavor", "list", "-f", "xml");
        assertThat(badFormat.exit()).isNotZero();
        assertThat(badFormat.err()).startsWith("strata: invalid format 'xml'");
        Run wrongPassword = strata("admin", "wrong", "admin", "server", "list");
        assertThat(wrongPassword.exit()).isEqualTo(1);
        assertThat(wrongPassword.err()).contains("requires authentication").contains("HTTP 401");
        Run badInput = admin("flavor", "create", "--ram", "0", "bad");
        assertThat(badInput.exit()).isEqualTo(1);
        assertThat(badInput.err().strip().lines()).hasSize(1).allMatch(l -> l.startsWith("strata: "));
    }
}
