package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.cli.command.Terminal;
import io.strata.testing.TestCloud;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the strata command in-process, as a user of a real cloud: credentials in an environment
 * of its own (like a sourced openrc), stdout and stderr captured.
 */
final class StrataCli {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** What one invocation printed and returned. */
    record Run(int exit, String out, String err) {
        JsonNode json() {
            try {
                return MAPPER.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + out + " / stderr: " + err, e);
            }
        }

        List<String> lines() {
            return out.lines().toList();
        }

        /** The failure: exactly one line on stderr, "strata: …", and the exit status. */
        Run failsWith(int status, String message) {
            assertThat(err.lines().toList()).as("stderr of a failed command (stdout %s)", out).hasSize(1);
            assertThat(err).startsWith("strata: ").contains(message).doesNotContain("Exception");
            assertThat(exit).isEqualTo(status);
            return this;
        }
    }

    private final Map<String, String> env;
    private final boolean onTerminal;

    private StrataCli(Map<String, String> env, boolean onTerminal) {
        this.env = Map.copyOf(env);
        this.onTerminal = onTerminal;
    }

    /** The bootstrap admin, with the openrc that 'strata up' writes. */
    static StrataCli admin(TestCloud cloud) {
        return user(cloud, "admin", TestCloud.ADMIN_PASSWORD, "admin");
    }

    static StrataCli user(TestCloud cloud, String user, String password, String project) {
        return new StrataCli(Map.of("OS_AUTH_URL", cloud.baseUrl() + "/identity", "OS_IDENTITY_API_VERSION", "3",
                "OS_USERNAME", user, "OS_PASSWORD", password, "OS_PROJECT_NAME", project, "OS_USER_DOMAIN_NAME", "Default",
                "OS_PROJECT_DOMAIN_NAME", "Default", "OS_REGION_NAME", "RegionOne", "OS_INTERFACE", "public"), false);
    }

    static StrataCli withEnvironment(Map<String, String> env) {
        return new StrataCli(env, false);
    }

    StrataCli with(String variable, String value) {
        Map<String, String> changed = new HashMap<>(env);
        if (value == null) {
            changed.remove(variable);
        } else {
            changed.put(variable, value);
        }
        return new StrataCli(changed, onTerminal);
    }

    /** The same user at a terminal: --wait animates its progress line, binary data is refused. */
    StrataCli onTerminal() {
        return new StrataCli(env, true);
    }

    Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Terminal terminal = new Terminal(new PrintStream(out, true, StandardCharsets.UTF_8), onTerminal,
                new PrintStream(err, true, StandardCharsets.UTF_8), onTerminal, 100);
        int exit = Main.run(args, env, terminal);
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs a command that must succeed without printing anything on stderr. */
    Run ok(String... args) {
        Run run = run(args);
        assertThat(run.exit()).as("exit of 'strata %s' which printed %s / %s", String.join(" ", args), run.out(), run.err()).isZero();
        return run;
    }

    JsonNode json(String... args) {
        String[] withFormat = java.util.Arrays.copyOf(args, args.length + 2);
        withFormat[args.length] = "-f";
        withFormat[args.length + 1] = "json";
        return ok(withFormat).json();
    }

    String value(String... args) {
        String[] withFormat = java.util.Arrays.copyOf(args, args.length + 2);
        withFormat[args.length] = "-f";
        withFormat[args.length + 1] = "value";
        return ok(withFormat).out().strip();
    }
}
