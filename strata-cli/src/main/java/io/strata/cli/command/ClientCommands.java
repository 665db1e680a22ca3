package io.strata.cli.command;

import picocli.CommandLine;

/** Adds the client commands (the openstack client's nouns) to the strata command line. */
public final class ClientCommands {
    private ClientCommands() {}

    public static void register(CommandLine strata) {
        strata.addSubcommand(new ServerCommand());
        strata.addSubcommand(new ConsoleCommand());
        strata.addSubcommand(new FlavorCommand());
        strata.addSubcommand(new ImageCommand());
        strata.addSubcommand(new KeypairCommand());
        strata.addSubcommand(new IdentityCommands.Project());
        strata.addSubcommand(new IdentityCommands.User());
        strata.addSubcommand(new IdentityCommands.Role());
        strata.addSubcommand(new IdentityCommands.Token());
        strata.addSubcommand(new IdentityCommands.Catalog());
        strata.addSubcommand(new HostCommands.Hypervisor());
        strata.addSubcommand(new HostCommands.Service());
        strata.addSubcommand(new HostCommands.Compute());
    }
}
