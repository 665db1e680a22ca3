package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.Json;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * A server action ({@code POST /servers/{id}/action}) on one or more servers: all are found
 * first (a typo acts on none), then acted on, then, with --wait, waited for.
 */
abstract class ServerActionCommand implements Callable<Integer> {
    @Mixin
    WaitOptions wait;

    @Option(names = "--all-projects", description = "Find servers by name in every project (admin).")
    boolean allProjects;

    private final Cli cli;
    private final Set<String> targets;

    ServerActionCommand(Cli cli, String... targets) {
        this.cli = requireNonNull(cli, "cli is null");
        this.targets = Set.of(targets);
    }

    abstract List<String> servers();

    /** The action's request body. */
    abstract ObjectNode action();

    @Override
    public Integer call() {
        List<JsonNode> found = servers().stream().map(server -> cli.find().server(server, allProjects)).toList();
        for (JsonNode server : found) {
            cli.compute().post("/servers/" + server.path("id").asText() + "/action", action());
        }
        if (wait.enabled()) {
            ServerWaiter waiter = new ServerWaiter(cli.compute(), cli.terminal(), wait.timeout());
            found.forEach(server -> waiter.untilStatus(server.path("id").asText(), server.path("name").asText(), targets));
        }
        return 0;
    }

    static ObjectNode simple(String action) {
        ObjectNode body = Json.object();
        body.putNull(action);
        return body;
    }

    /** The actions that take only servers, differing in name, body and the status they lead to. */
    abstract static class Simple extends ServerActionCommand {
        @Parameters(paramLabel = "<server>", arity = "1..*", description = "Server(s) (name or ID).")
        List<String> servers;

        private final String action;

        Simple(Cli cli, String action, String... targets) {
            super(cli, targets);
            this.action = action;
        }

        @Override
        List<String> servers() {
            return servers;
        }

        @Override
        ObjectNode action() {
            return simple(action);
        }
    }

    @Command(name = "start", description = "Start server(s).")
    static final class Start extends Simple {
        Start(Cli cli) {
            super(cli, "os-start", "ACTIVE");
        }
    }

    @Command(name = "stop", description = "Stop server(s).")
    static final class Stop extends Simple {
        Stop(Cli cli) {
            super(cli, "os-stop", "SHUTOFF");
        }
    }

    @Command(name = "pause", description = "Pause server(s).")
    static final class Pause extends Simple {
        Pause(Cli cli) {
            super(cli, "pause", "PAUSED");
        }
    }

    @Command(name = "unpause", description = "Unpause server(s).")
    static final class Unpause extends Simple {
        Unpause(Cli cli) {
            super(cli, "unpause", "ACTIVE");
        }
    }

    @Command(name = "suspend", description = "Suspend server(s).")
    static final class Suspend extends Simple {
        Suspend(Cli cli) {
            super(cli, "suspend", "SUSPENDED");
        }
    }

    @Command(name = "resume", description = "Resume server(s).")
    static final class Resume extends Simple {
        Resume(Cli cli) {
            super(cli, "resume", "ACTIVE");
        }
    }

    @Command(name = "reboot", description = "Reboot a server.")
    static final class Reboot extends ServerActionCommand {
        @ArgGroup(exclusive = true)
        Kind kind;

        @Parameters(paramLabel = "<server>", description = "Server (name or ID).")
        String server;

        static final class Kind {
            @Option(names = "--hard", description = "Perform a hard reboot (reset).")
            boolean hard;

            @Option(names = "--soft", description = "Perform a soft reboot (ask the guest; the default).")
            boolean soft;
        }

        Reboot(Cli cli) {
            super(cli, "ACTIVE");
        }

        @Override
        List<String> servers() {
            return List.of(server);
        }

        @Override
        ObjectNode action() {
            ObjectNode body = Json.object();
            body.putObject("reboot").put("type", kind != null && kind.hard ? "HARD" : "SOFT");
            return body;
        }
    }

    /** No --host: naming the destination needs compute microversion 2.56, above the one Strata serves. */
    @Command(name = "migrate", description = "Cold-migrate a server to another host the scheduler picks (admin); confirm or revert it afterwards.")
    static final class Migrate extends ServerActionCommand {
        @Parameters(paramLabel = "<server>", description = "Server (name or ID).")
        String server;

        Migrate(Cli cli) {
            super(cli, "VERIFY_RESIZE");
        }

        @Override
        List<String> servers() {
            return List.of(server);
        }

        @Override
        ObjectNode action() {
            return simple("migrate");
        }
    }

    @Command(name = "resize", description = "Resize a server to a new flavor; then 'resize confirm' or 'resize revert'.",
            subcommands = {Resize.Confirm.class, Resize.Revert.class})
    static final class Resize extends ServerActionCommand {
        // Neither is required by picocli: "resize confirm S" parses this command with neither.
        @Option(names = "--flavor", description = "The new flavor (name or ID).")
        String flavor;

        @Parameters(paramLabel = "<server>", arity = "0..1", description = "Server (name or ID).")
        String server;

        private final Cli cli;

        Resize(Cli cli) {
            super(cli, "VERIFY_RESIZE");
            this.cli = cli;
        }

        @Override
        List<String> servers() {
            if (server == null || flavor == null) {
                throw new IllegalArgumentException("server resize needs --flavor FLAVOR and a server (or 'resize confirm|revert SERVER')");
            }
            return List.of(server);
        }

        @Override
        ObjectNode action() {
            ObjectNode body = Json.object();
            body.putObject("resize").put("flavorRef", cli.find().flavor(flavor).path("id").asText());
            return body;
        }

        @Command(name = "confirm", description = "Confirm a resize or migration: the server stays where it now runs.")
        static final class Confirm extends Simple {
            Confirm(Cli cli) {
                super(cli, "confirmResize", "ACTIVE", "SHUTOFF");
            }
        }

        @Command(name = "revert", description = "Revert a resize or migration: the server goes back to its old host and flavor.")
        static final class Revert extends Simple {
            Revert(Cli cli) {
                super(cli, "revertResize", "ACTIVE", "SHUTOFF");
            }
        }
    }
}
