package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import java.lang.reflect.Constructor;
import picocli.CommandLine;

/** Creates command objects, handing the {@link Cli} to those whose constructor takes one. */
public final class CliFactory implements CommandLine.IFactory {
    private final Cli cli;

    public CliFactory(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Override
    public <K> K create(Class<K> type) throws Exception {
        for (Constructor<?> constructor : type.getDeclaredConstructors()) {
            Class<?>[] parameters = constructor.getParameterTypes();
            if (parameters.length == 1 && parameters[0] == Cli.class) {
                constructor.setAccessible(true);
                return type.cast(constructor.newInstance(cli));
            }
        }
        return CommandLine.defaultFactory().create(type);
    }
}
