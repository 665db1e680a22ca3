package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import io.strata.cli.client.HttpTrace;
import io.strata.cli.client.HttpTransport;
import io.strata.cli.client.ServiceClient;
import io.strata.cli.client.Session;
import io.strata.cli.output.Output;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What every client command works with: the session (authenticated at the first call that
 * needs it, from the global options and the environment), the terminal, and output helpers.
 * One per invocation; commands receive it in their constructor.
 */
public final class Cli {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(120);

    private final GlobalOptions options;
    private final Map<String, String> env;
    private final Terminal terminal;
    private Session session;

    public Cli(GlobalOptions options, Map<String, String> env, Terminal terminal) {
        this.options = requireNonNull(options, "options is null");
        this.env = Map.copyOf(requireNonNull(env, "env is null"));
        this.terminal = requireNonNull(terminal, "terminal is null");
    }

    public Session session() {
        if (session == null) {
            HttpTrace trace = options.debug() ? HttpTrace.to(terminal.err()) : HttpTrace.off();
            session = new Session(options.credentials(env), new HttpTransport(CONNECT_TIMEOUT, REQUEST_TIMEOUT, options.tls(env), trace));
        }
        return session;
    }

    public ServiceClient compute() {
        return session().compute();
    }

    public ServiceClient identity() {
        return session().identity();
    }

    public ServiceClient migration() {
        return session().migration();
    }

    public ServiceClient image() {
        return session().image();
    }

    public Finder find() {
        return new Finder(session());
    }

    public Terminal terminal() {
        return terminal;
    }

    public void show(ShowOptions format, Map<String, ?> fields) {
        new Output(terminal.out(), format.settings()).show(fields);
    }

    public void list(ListOptions format, List<String> header, List<? extends List<?>> rows) {
        new Output(terminal.out(), format.settings()).list(header, rows);
    }
}
