package io.strata.cli.command;

import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata console log show}: as {@code openstack console log show}. */
@Command(name = "console", description = "Server consoles.", mixinStandardHelpOptions = true, subcommands = ConsoleCommand.Log.class)
final class ConsoleCommand {
    @Command(name = "log", description = "Console logs.")
    static final class Log {
        @Command(name = "show", description = "Show a server's console log.")
        int show(@Mixin ClientOptions o, @Option(names = "--lines", description = "Only the last N lines.") Integer lines,
                @Parameters(paramLabel = "<server>") String server) {
            return printLog(o, server, lines);
        }
    }

    static int printLog(ClientOptions o, String server, Integer lines) {
        CloudClient c = o.client();
        String id = Resolve.server(c, server).path("id").asText();
        var body = CloudClient.object();
        body.putObject("os-getConsoleOutput").put("length", lines == null ? -1 : lines);
        String output = c.post("compute", "/servers/" + id + "/action", body).path("output").asText();
        if (output == null) {
            throw new CloudException(0, "no console output");
        }
        System.out.print(output.endsWith("\n") ? output : output + "\n");
        return 0;
    }
}
