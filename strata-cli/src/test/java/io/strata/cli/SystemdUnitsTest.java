package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The systemd units of tools/systemd start commands this build accepts: each ExecStart, its
 * {@code ${VARIABLES}} given values of the kind the unit's environment file holds, parses as the
 * command it names (an option renamed or removed fails here, not at an operator's first boot).
 */
class SystemdUnitsTest {
    private static final Path UNITS = Path.of("").toAbsolutePath().getParent().resolve("tools").resolve("systemd");
    private static final Map<String, Supplier<Callable<Integer>>> COMMANDS = Map.of("up", UpCommand::new, "controller",
            ControllerCommand::new, "agent", AgentCommand::new);
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Z_]+)}");

    @Test
    void eachUnitsExecStartParsesAsTheCommandItNames() throws IOException {
        List<Path> units;
        try (Stream<Path> files = Files.list(UNITS)) {
            units = files.filter(f -> f.getFileName().toString().endsWith(".service")).sorted().toList();
        }
        assertThat(units).extracting(u -> u.getFileName().toString())
                .containsExactly("strata-agent.service", "strata-controller.service", "strata.service");
        String production = Files.readString(UNITS.getParent().getParent().resolve("docs").resolve("production.md"));
        for (Path unit : units) {
            String text = Files.readString(unit);
            assertThat(text).as(unit.toString()).contains("[Unit]", "[Service]", "[Install]", "EnvironmentFile=/etc/strata/");
            assertThat(production).as("docs/production.md names %s", unit.getFileName()).contains("tools/systemd/" + unit.getFileName());

            List<String> words = execStart(text);
            assertThat(words.get(0)).as(unit.toString()).isEqualTo("/opt/strata/bin/strata");
            Supplier<Callable<Integer>> command = COMMANDS.get(words.get(1));
            assertThat(command).as("%s runs strata %s", unit, words.get(1)).isNotNull();
            String[] args = words.subList(2, words.size()).stream().map(SystemdUnitsTest::withValues).toArray(String[]::new);
            CommandLine.ParseResult parsed = new CommandLine(command.get()).parseArgs(args);
            assertThat(parsed.unmatched()).as(unit.toString()).isEmpty();
            assertThat(parsed.matchedOptions()).as(unit.toString()).hasSizeGreaterThan(3);
        }
    }

    /** The ExecStart line with its continuations, split into words. */
    private static List<String> execStart(String unit) {
        List<String> words = new ArrayList<>();
        boolean inside = false;
        for (String line : unit.lines().toList()) {
            if (line.startsWith("ExecStart=")) {
                inside = true;
                line = line.substring("ExecStart=".length());
            } else if (!inside) {
                continue;
            }
            boolean continues = line.endsWith("\\");
            String body = continues ? line.substring(0, line.length() - 1) : line;
            words.addAll(List.of(body.strip().split("\\s+")));
            if (!continues) {
                break;
            }
        }
        return words;
    }

    /** A value of the kind the variable holds in the environment file. */
    private static String withValues(String word) {
        Matcher matcher = VARIABLE.matcher(word);
        StringBuilder replaced = new StringBuilder();
        while (matcher.find()) {
            String name = matcher.group(1);
            String value = name.endsWith("DB_URL") ? "jdbc:postgresql://db.example.org:5432/strata"
                    : name.endsWith("URL") || name.endsWith("CONTROLLERS") ? "http://controller.example.org:8774"
                    : name.endsWith("ZOOKEEPER") ? "zk1.example.org:2181"
                    : name.endsWith("DRIVER") ? "qemu"
                    : "node-7";
            matcher.appendReplacement(replaced, Matcher.quoteReplacement(value));
        }
        matcher.appendTail(replaced);
        return replaced.toString();
    }
}
