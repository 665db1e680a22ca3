package io.strata.compute;

import java.util.function.Predicate;

/**
 * One of the scheduler's filters beyond capacity and zone. A filter prepares itself once per
 * request (reading what it needs from the store) and then tests each candidate host.
 */
public interface HostFilter {
    Predicate<Host> forRequest(Scheduler.Request request);

    /** Told of each choice made, while the scheduler still holds its lock (so later requests see it). */
    default void selected(Scheduler.Request request, Host host) {}
}
