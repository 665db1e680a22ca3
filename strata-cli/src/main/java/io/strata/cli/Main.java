package io.strata.cli;

import io.strata.cli.command.ClientCommands;
import io.strata.core.CloudException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code strata} command: starts the cloud ({@code up}) and talks to its public API like
 * the {@code openstack} client does. Failures print one readable line and exit non-zero.
 */
@Command(name = "strata",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "A private cloud that speaks the OpenStack APIs and runs real VMs.",
        subcommands = {UpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine commandLine = new CommandLine(new Main());
        ClientCommands.register(commandLine);
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            cmd.getErr().println("strata: " + describe(e));
            if (debug) {
                e.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        // Bad options: one line naming the problem and where help is, not the whole usage text.
        commandLine.setParameterExceptionHandler((e, params) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("strata: " + e.getMessage() + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        return commandLine.execute(args);
    }

    static String describe(Throwable e) {
        if (e instanceof CloudException cloud) {
            return cloud.getMessage();
        }
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"strata " + (version == null ? "development" : version)};
        }
    }
}
