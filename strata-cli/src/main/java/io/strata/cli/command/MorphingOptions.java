package io.strata.cli.command;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The Coriolis client's OS morphing options of transfers and deployments: user scripts read from
 * files ({@code --user-script-global linux=PATH}, {@code --user-script-instance NAME=PATH}) and
 * {@code --osmorphing-minion-pool-mapping INSTANCE=POOL_ID}. On update an empty PATH or POOL_ID
 * ({@code linux=}) removes that script or mapping, as the client documents it.
 */
final class MorphingOptions {
    private static final Set<String> OS_TYPES = Set.of("linux", "windows");

    @Option(names = "--user-script-global", paramLabel = "<os=path>", description = "Script run during OS morphing of every instance of an "
            + "OS type, e.g. linux=/path/to/script.sh (repeat; linux or windows).")
    List<String> globalScripts;

    @Option(names = "--user-script-instance", paramLabel = "<instance=path>", description = "Script run during OS morphing of one instance "
            + "(repeat); replaces the global script of its OS.")
    List<String> instanceScripts;

    @Option(names = "--osmorphing-minion-pool-mapping", paramLabel = "<instance=pool>", description = "Destination minion pool for the OS "
            + "morphing of one instance (repeat).")
    List<String> poolMappings;

    /** Adds {@code user_scripts} and {@code instance_osmorphing_minion_pool_mappings} when any was given. */
    void addTo(ObjectNode body, boolean update) {
        if (globalScripts != null || instanceScripts != null) {
            ObjectNode scripts = Json.object();
            ObjectNode global = scripts.putObject("global");
            for (String option : list(globalScripts)) {
                String[] pair = TransferOptions.pair("--user-script-global", "OS=PATH", option, update);
                if (!OS_TYPES.contains(pair[0])) {
                    throw new CliException("Invalid OS " + pair[0] + " in --user-script-global. Available options are: linux, windows");
                }
                putScript(global, pair, "--user-script-global");
            }
            ObjectNode instances = scripts.putObject("instances");
            for (String option : list(instanceScripts)) {
                putScript(instances, TransferOptions.pair("--user-script-instance", "INSTANCE=PATH", option, update), "--user-script-instance");
            }
            body.set("user_scripts", scripts);
        }
        if (poolMappings != null) {
            ObjectNode mappings = body.putObject("instance_osmorphing_minion_pool_mappings");
            for (String option : poolMappings) {
                String[] pair = TransferOptions.pair("--osmorphing-minion-pool-mapping", "INSTANCE=MINION_POOL_ID", option, update);
                if (pair[1].isEmpty()) {
                    mappings.putNull(pair[0]);
                } else {
                    mappings.put(pair[0], pair[1]);
                }
            }
        }
    }

    private static void putScript(ObjectNode scripts, String[] pair, String option) {
        if (pair[1].isEmpty()) {
            scripts.putNull(pair[0]);
            return;
        }
        Path file = Path.of(pair[1]);
        if (!Files.isRegularFile(file)) {
            throw new CliException("Could not find " + pair[1] + " (" + option + " " + pair[0] + ")");
        }
        try {
            scripts.put(pair[0], Files.readString(file));
        } catch (IOException e) {
            throw new CliException("Cannot read " + pair[1] + " for " + option + ": " + e.getMessage());
        }
    }

    private static List<String> list(List<String> values) {
        return values == null ? List.of() : values;
    }
}
