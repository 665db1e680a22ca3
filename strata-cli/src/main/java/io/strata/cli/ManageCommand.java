package io.strata.cli;

import io.strata.cli.command.Cli;
import io.strata.cli.command.Terminal;
import io.strata.compute.Host;
import io.strata.compute.HostStore;
import io.strata.compute.Server;
import io.strata.compute.ServerQuery;
import io.strata.compute.ServerStore;
import io.strata.store.Database;
import io.strata.store.DatabaseConfig;
import io.strata.store.StoreException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code strata manage}: the operator's maintenance commands, like nova-manage. They work on the
 * cloud's own database and files, not through its API, so they run on a controller host:
 * {@code db sync} brings the schema up to date (Flyway), {@code service list} and {@code vm list}
 * read the hosts and servers tables, {@code logs errors} scans the log files for ERROR lines.
 * The embedded H2 database admits one process at a time: against {@code strata up}'s own
 * database they answer only while it is stopped (PostgreSQL has no such limit).
 */
@Command(name = "manage", description = "Maintenance on the cloud's database and log files (like nova-manage).",
        subcommands = {ManageCommand.Db.class, ManageCommand.Service.class, ManageCommand.Vm.class, ManageCommand.Logs.class})
final class ManageCommand {
    /** Where a service is "down": no heartbeat for this long (the controller's own rule). */
    private static final Duration DOWN_AFTER = Duration.ofSeconds(60);
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    /** The database and data directory a manage command works on. */
    static final class Target {
        @Option(names = "--data-dir", description = "The data directory of 'strata up' (default ~/.strata).")
        Path dataDir;

        @Option(names = "--db", description = "JDBC URL of the PostgreSQL database (default: the embedded H2 under the data dir).")
        String databaseUrl;

        @Option(names = "--db-user", description = "Database user.", defaultValue = "${env:STRATA_DB_USER}")
        String databaseUser;

        @Option(names = "--db-password", description = "Database password (or STRATA_DB_PASSWORD).", defaultValue = "${env:STRATA_DB_PASSWORD}")
        String databasePassword;

        Path dataDir() {
            return (dataDir != null ? dataDir : Path.of(System.getProperty("user.home"), ".strata")).toAbsolutePath();
        }

        DatabaseConfig database() {
            if (databaseUrl == null || databaseUrl.isBlank()) {
                return new DatabaseConfig(DatabaseConfig.embedded(dataDir()).url(), null, null, 2, 5_000);
            }
            return new DatabaseConfig(databaseUrl, blankToNull(databaseUser), blankToNull(databasePassword), 2, 5_000);
        }

        /** Opens the database (migrating it, as every Strata process does) and runs {@code work} on it. */
        <T> T with(Function<Database, T> work) {
            try (Database database = Database.open(database())) {
                return work.apply(database);
            } catch (StoreException e) {
                throw new IllegalArgumentException(explain(e.getMessage()), e);
            }
        }
    }

    /** H2's lock message, said the way an operator needs it. */
    private static String explain(String message) {
        if (message != null && message.contains("already in use")) {
            return "the embedded database is in use by a running 'strata up' (H2 admits one process); stop it first, or use --db "
                    + "with PostgreSQL";
        }
        return message;
    }

    @Command(name = "db", description = "Database schema.", subcommands = {Sync.class})
    static final class Db {
    }

    @Command(name = "sync", description = "Apply the pending schema migrations (Flyway) and print the schema version.")
    static final class Sync implements Callable<Integer> {
        @Mixin
        Target target = new Target();

        private final Terminal terminal;

        Sync(Cli cli) {
            this.terminal = cli.terminal();
        }

        @Override
        public Integer call() {
            Database.SyncResult result;
            try {
                result = Database.sync(target.database());
            } catch (StoreException e) {
                throw new IllegalArgumentException(explain(e.getMessage()), e);
            }
            terminal.out().printf("Database %s is at schema version %s (%d migration%s applied now).%n",
                    Database.redactUrl(target.database().url()), result.version(), result.applied(), result.applied() == 1 ? "" : "s");
            return 0;
        }
    }

    @Command(name = "service", description = "Compute services.", subcommands = {ServiceList.class})
    static final class Service {
    }

    @Command(name = "list", description = "List the compute services (one per host): status, state and last heartbeat.")
    static final class ServiceList implements Callable<Integer> {
        @Mixin
        Target target = new Target();

        private final Terminal terminal;

        ServiceList(Cli cli) {
            this.terminal = cli.terminal();
        }

        @Override
        public Integer call() {
            List<Host> hosts = target.with(database -> new HostStore(database.jdbi()).list());
            Instant now = Clock.systemUTC().instant();
            List<List<String>> rows = new ArrayList<>();
            for (Host h : hosts) {
                boolean up = !h.forcedDown() && h.lastHeartbeat() != null && h.lastHeartbeat().plus(DOWN_AFTER).isAfter(now);
                rows.add(List.of("nova-compute", h.name(), h.zone(), h.serviceEnabled() ? "enabled" : "disabled", up ? ":-)" : "XXX",
                        h.lastHeartbeat() == null ? "" : TIME.format(h.lastHeartbeat()), h.forcedDown() ? "forced down" : "",
                        h.disabledReason() == null ? "" : h.disabledReason()));
            }
            printTable(terminal, List.of("Binary", "Host", "Zone", "Status", "State", "Updated_At", "Forced", "Disabled Reason"), rows);
            return 0;
        }
    }

    @Command(name = "vm", description = "Servers.", subcommands = {VmList.class})
    static final class Vm {
    }

    @Command(name = "list", description = "List every server of every project, or those of one host.")
    static final class VmList implements Callable<Integer> {
        @Mixin
        Target target = new Target();

        @Option(names = "--host", description = "Only the servers on this host.")
        String host;

        private final Terminal terminal;

        VmList(Cli cli) {
            this.terminal = cli.terminal();
        }

        @Override
        public Integer call() {
            ServerQuery query = new ServerQuery(null, null, null, host, null, null, null, null, false, null, "created_at", true, null,
                    100_000, null);
            List<Server> servers = target.with(database -> new ServerStore(database.jdbi(), database.dialect()).list(query));
            List<List<String>> rows = new ArrayList<>();
            for (Server s : servers) {
                rows.add(List.of(s.id(), s.name(), s.host() == null ? "" : s.host(), s.flavor().name(), s.vmState().wireName(),
                        s.taskState() == null ? "" : s.taskState().wireName(), s.projectId(),
                        s.availabilityZone() == null ? "" : s.availabilityZone(),
                        s.launchedAt() == null ? "" : TIME.format(s.launchedAt())));
            }
            printTable(terminal, List.of("Instance", "Name", "Node", "Type", "State", "Task", "Project", "Zone", "Launched"), rows);
            return 0;
        }
    }

    @Command(name = "logs", description = "Log files.", subcommands = {LogErrors.class})
    static final class Logs {
    }

    @Command(name = "errors", description = "Print the ERROR lines of the log files (strata.log and its rolled, gzipped predecessors).")
    static final class LogErrors implements Callable<Integer> {
        private static final Pattern ERROR = Pattern.compile("\\bERROR\\b");

        @Option(names = "--data-dir", description = "The data directory of 'strata up' (default ~/.strata): scans its logs/.")
        Path dataDir;

        @Option(names = "--log-file", description = "Scan this file instead.")
        Path logFile;

        private final Terminal terminal;

        LogErrors(Cli cli) {
            this.terminal = cli.terminal();
        }

        @Override
        public Integer call() throws IOException {
            List<Path> files = new ArrayList<>();
            if (logFile != null) {
                if (!Files.isRegularFile(logFile)) {
                    throw new IllegalArgumentException("No such log file: " + logFile);
                }
                files.add(logFile);
            } else {
                Path dir = (dataDir != null ? dataDir : Path.of(System.getProperty("user.home"), ".strata")).resolve("logs");
                if (!Files.isDirectory(dir)) {
                    throw new IllegalArgumentException("No log directory " + dir + " (does 'strata up' run with this --data-dir?)");
                }
                try (Stream<Path> listed = Files.list(dir)) {
                    // Oldest first, so the lines come out in the order they were written.
                    listed.filter(p -> p.getFileName().toString().startsWith("strata")).sorted((a, b) -> rank(b) - rank(a)).forEach(files::add);
                }
            }
            int found = 0;
            for (Path file : files) {
                try (BufferedReader reader = open(file)) {
                    int number = 0;
                    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                        number++;
                        if (ERROR.matcher(line).find()) {
                            terminal.out().println(file.getFileName() + ":" + number + ": " + line);
                            found++;
                        }
                    }
                }
            }
            if (found == 0) {
                terminal.out().println("No errors in logfiles!");
            }
            return 0;
        }

        /** strata.log is the newest (0); strata.N.log.gz are older the larger N is. */
        private static int rank(Path file) {
            String name = file.getFileName().toString();
            String digits = name.replaceAll("[^0-9]", "");
            return digits.isEmpty() ? 0 : Integer.parseInt(digits.length() > 6 ? digits.substring(0, 6) : digits);
        }

        private static BufferedReader open(Path file) throws IOException {
            var in = Files.newInputStream(file);
            return new BufferedReader(new InputStreamReader(file.toString().endsWith(".gz") ? new GZIPInputStream(in) : in,
                    StandardCharsets.UTF_8));
        }
    }

    /** A plain aligned table, as nova-manage prints. */
    private static void printTable(Terminal terminal, List<String> header, List<List<String>> rows) {
        int[] widths = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            widths[i] = header.get(i).length();
            for (List<String> row : rows) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        for (List<String> row : all) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
            }
            terminal.out().println(line.toString().stripTrailing());
        }
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
