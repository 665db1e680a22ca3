package io.strata.compute;

import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * One of the scheduler's filters beyond capacity and zone. A filter prepares itself once per
 * request (reading what it needs from the store) and then tests each candidate host.
 */
public interface HostFilter {
    Predicate<Host> forRequest(Scheduler.Request request);

    /** How much this filter prefers a host (higher first), before the scheduler's own spreading by free RAM. */
    default ToLongFunction<Host> preference(Scheduler.Request request) {
        return host -> 0;
    }

    /** Told of each choice made, while the scheduler still holds its lock (so later requests see it). */
    default void selected(Scheduler.Request request, Host host) {}
}
