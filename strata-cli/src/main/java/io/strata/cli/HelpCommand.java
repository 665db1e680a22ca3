package io.strata.cli;

import io.strata.cli.client.CliException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code strata help server create}: the usage of a command however deep, as {@code openstack help} gives it. */
@Command(name = "help", description = "Show the help of a command, e.g. 'strata help server create'.")
final class HelpCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "<command>", arity = "0..*", description = "The command, e.g. server create.")
    List<String> words = List.of();

    @Override
    public void run() {
        CommandLine target = spec.parent().commandLine();
        for (String word : words) {
            CommandLine next = target.getSubcommands().get(word);
            if (next == null) {
                throw new CliException("Unknown command '" + String.join(" ", words) + "'; see 'strata --help'");
            }
            target = next;
        }
        target.usage(target.getOut());
    }
}
