package io.strata.cli;

import io.strata.cli.client.CliException;
import io.strata.cli.command.Cli;
import io.strata.cli.command.CliFactory;
import io.strata.cli.command.GlobalOptions;
import io.strata.cli.command.Nouns;
import io.strata.cli.command.Terminal;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The {@code strata} command: starts the cloud ({@code up}) and talks to its public API with the
 * openstack client's nouns, verbs and options. Every failure is one line on stderr,
 * {@code strata: <message>}, and a non-zero exit: 1 for a failed command, 2 for a bad command line.
 */
@Command(name = "strata",
        versionProvider = Main.Version.class,
        description = "A private cloud that speaks the OpenStack APIs and runs real VMs.",
        footer = {"", "Credentials come from the OS_* variables (source the openrc that 'strata up' writes) or the --os-* options."})
public final class Main {
    @Mixin
    private final GlobalOptions global;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    private Main(GlobalOptions global) {
        this.global = global;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), Terminal.system()));
    }

    /** Runs one command line with the process's environment and streams. */
    public static int run(String... args) {
        return run(args, System.getenv(), Terminal.system());
    }

    public static int run(String[] args, Map<String, String> env, Terminal terminal) {
        GlobalOptions global = new GlobalOptions();
        Cli cli = new Cli(global, env, terminal);
        CommandLine strata = new CommandLine(new Main(global), new CliFactory(cli));
        strata.getCommandSpec().usageMessage().abbreviateSynopsis(true);
        String noun = firstWord(args);
        if (noun != null && (Nouns.names().contains(noun) || SERVERS.containsKey(noun) || noun.equals("manage"))) {
            register(strata, noun, cli);
        } else {
            // Help, or a word we do not know: everything, for the usage text and suggestions.
            SERVERS.keySet().stream().sorted().forEach(name -> register(strata, name, cli));
            register(strata, "manage", cli);
            Nouns.names().forEach(name -> register(strata, name, cli));
            strata.addSubcommand("help", new HelpCommand());
        }
        strata.getSubcommands().values().forEach(Main::conciseHelp);
        // After the subcommands are in: picocli hands these settings down to those it has.
        strata.setOut(new PrintWriter(terminal.out(), true));
        strata.setErr(new PrintWriter(terminal.err(), true));
        strata.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            terminal.err().println("strata: " + describe(e));
            if (global.debug()) {
                e.printStackTrace(terminal.err());
            }
            return 1;
        });
        strata.setParameterExceptionHandler((e, params) -> {
            String help = e.getCommandLine().getCommandSpec().qualifiedName() + " --help";
            String suggestion = "";
            if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getSuggestions().isEmpty()) {
                suggestion = "; did you mean " + String.join(" or ", unmatched.getSuggestions().stream().limit(3).toList()) + "?";
            }
            terminal.err().println("strata: " + e.getMessage() + suggestion + " (see '" + help + "')");
            return 2;
        });
        return strata.execute(args);
    }

    /** The long-running processes: they take no client options. */
    private static final Map<String, java.util.function.Supplier<Object>> SERVERS = Map.of(
            "up", UpCommand::new, "controller", ControllerCommand::new, "agent", AgentCommand::new);

    private static void register(CommandLine strata, String noun, Cli cli) {
        if (noun.equals("manage")) {
            strata.addSubcommand("manage", new CommandLine(new ManageCommand(), new CliFactory(cli)));
            return;
        }
        if (SERVERS.containsKey(noun)) {
            CommandLine up = new CommandLine(SERVERS.get(noun).get());
            strata.addSubcommand(noun, up);
            // The client options mean nothing to the server: keep them out of its --help.
            List.copyOf(up.getCommandSpec().options()).stream().filter(option -> option.inherited() && !option.usageHelp())
                    .forEach(option -> up.getCommandSpec().remove(option));
            return;
        }
        strata.addSubcommand(noun, new CommandLine(Nouns.create(noun, cli), new CliFactory(cli)));
    }

    /**
     * Command help as the openstack client gives it: a short synopsis, and only the command's own
     * options listed; the global --os-* options would otherwise swamp every page.
     */
    private static void conciseHelp(CommandLine command) {
        command.getCommandSpec().usageMessage().abbreviateSynopsis(true);
        command.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_OPTION_LIST, help -> help.optionListExcludingGroups(
                help.commandSpec().options().stream().filter(option -> (!option.inherited() || option.usageHelp()) && !option.hidden())
                        .toList())
                + "Global options (--os-*, --debug) work here too: see 'strata --help'.%n".formatted());
        command.getSubcommands().values().forEach(Main::conciseHelp);
    }

    /** The noun: the first word that is neither an option nor the value of a global --os-* option. */
    static String firstWord(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.startsWith("--os-") && !arg.contains("=")) {
                i++;
            } else if (!arg.startsWith("-")) {
                return arg;
            }
        }
        return null;
    }

    /** The one line a failure prints: the cloud's or our own message; a bug says what broke. */
    static String describe(Throwable e) {
        if (e instanceof CliException || e instanceof IllegalArgumentException) {
            return e.getMessage();
        }
        if (e instanceof NoSuchFileException missing) {
            return "No such file: " + missing.getFile();
        }
        if (e instanceof IOException io) {
            return io.getMessage() == null ? io.getClass().getSimpleName() : io.getMessage();
        }
        return "unexpected " + e.getClass().getName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                + " (run with --debug for the stack trace)";
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"strata " + (version == null ? "development" : version)};
        }
    }
}
