package io.strata.cli.command;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The client commands by noun. Main registers only the noun a command line names: picocli
 * builds its model of every option of every registered command up front, and for all nouns
 * that is most of a second of start-up.
 */
public final class Nouns {
    private static final Map<String, Function<Cli, Object>> NOUNS = new LinkedHashMap<>();

    static {
        NOUNS.put("server", ServerCommand::new);
        NOUNS.put("console", cli -> new ConsoleCommand());
        NOUNS.put("flavor", FlavorCommand::new);
        NOUNS.put("image", ImageCommand::new);
        NOUNS.put("keypair", KeypairCommand::new);
        NOUNS.put("network", NetworkCommand.Networks::new);
        NOUNS.put("subnet", NetworkCommand.Subnets::new);
        NOUNS.put("project", ProjectCommand::new);
        NOUNS.put("user", UserCommand::new);
        NOUNS.put("role", RoleCommand::new);
        NOUNS.put("token", TokenCommand::new);
        NOUNS.put("catalog", CatalogCommand::new);
        NOUNS.put("hypervisor", HypervisorCommand::new);
        NOUNS.put("compute", cli -> new ComputeCommand());
        NOUNS.put("endpoint", EndpointCommand::new);
        NOUNS.put("provider", ProviderCommand::new);
        NOUNS.put("replica", ReplicaCommand::new);
        NOUNS.put("migration", MigrationCommand::new);
        NOUNS.put("minion", cli -> new MinionCommand());
        NOUNS.put("region", RegionCommand::new);
        NOUNS.put("worker", WorkerCommand::new);
        NOUNS.put("live-image", LiveImageCommand::new);
        NOUNS.put("co-migrate", CoMigrateCommand::new);
        NOUNS.put("status", StatusCommand::new);
    }

    private Nouns() {}

    public static Set<String> names() {
        return NOUNS.keySet();
    }

    public static Object create(String noun, Cli cli) {
        return NOUNS.get(noun).apply(cli);
    }
}
