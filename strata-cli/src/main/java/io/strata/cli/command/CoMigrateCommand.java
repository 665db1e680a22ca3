package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.Json;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata co-migrate SERVER [--dest HOST]}: Cobalt's live migration with memory streaming. */
@Command(name = "co-migrate", description = "Live-migrate a running server to another host (Cobalt's co_migrate).")
final class CoMigrateCommand implements Callable<Integer> {
    @Mixin
    WaitOptions wait;

    @Option(names = "--dest", paramLabel = "<destination host>", description = "Host to migrate to (default: another host).")
    String dest;

    @Parameters(paramLabel = "<server>", description = "Server (name or ID).")
    String server;

    private final Cli cli;

    CoMigrateCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Override
    public Integer call() {
        JsonNode found = cli.find().server(server, false);
        ObjectNode params = Json.object();
        if (dest != null) {
            params.put("dest", dest);
        }
        LiveImageCommand.action(cli, found.path("id").asText(), "co_migrate", params);
        if (wait.enabled()) {
            new ServerWaiter(cli.compute(), cli.terminal(), wait.timeout())
                    .untilStatus(found.path("id").asText(), found.path("name").asText(), Set.of("ACTIVE"));
        }
        return 0;
    }
}
