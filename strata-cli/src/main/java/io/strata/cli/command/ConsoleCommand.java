package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.Json;
import java.io.PrintStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata console log show} (the openstack client's spelling; also under {@code server}). */
@Command(name = "console", description = "Server consoles.", subcommands = ConsoleCommand.Log.class)
final class ConsoleCommand {
    @Command(name = "log", description = "Server console logs.")
    static final class Log {
        private final Cli cli;

        Log(Cli cli) {
            this.cli = requireNonNull(cli, "cli is null");
        }

        @Command(name = "show", description = "Show a server's console log.")
        void show(@Option(names = "--lines", paramLabel = "<num-lines>", description = "Only the last N lines (default: all).") Integer lines,
                @Parameters(paramLabel = "<server>", description = "Server (name or ID).") String server) {
            ObjectNode body = Json.object();
            ObjectNode action = body.putObject("os-getConsoleOutput");
            if (lines != null) {
                action.put("length", lines);
            } else {
                action.putNull("length");
            }
            String id = cli.find().server(server, false).path("id").asText();
            String output = cli.compute().post("/servers/" + id + "/action", body).path("output").asText("");
            PrintStream out = cli.terminal().out();
            out.print(output.isEmpty() || output.endsWith("\n") ? output : output + "\n");
            out.flush();
        }
    }
}
