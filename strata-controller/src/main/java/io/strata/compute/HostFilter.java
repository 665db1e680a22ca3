package io.strata.compute;

/**
 * One of the scheduler's filters beyond capacity and zone. A filter prepares itself once per
 * request (reading what it needs from the store) into a {@link Choice} that then tests, weighs
 * and is told of the host chosen: one read per request, however many hosts there are.
 */
public interface HostFilter {
    Choice forRequest(Scheduler.Request request);

    /**
     * For a request that names its host: the filters do not apply, but a filter may still want
     * to know where the server went ({@link Choice#selected}). Reads nothing by default.
     */
    default Choice forForcedHost(Scheduler.Request request) {
        return Choice.ANY;
    }

    /** What a filter made of one request. */
    @FunctionalInterface
    interface Choice {
        Choice ANY = host -> true;

        boolean accepts(Host host);

        /** How much this filter prefers a host (higher first), before the scheduler's own spreading by free RAM. */
        default long preference(Host host) {
            return 0;
        }

        /** Told of the choice made, while the scheduler still holds its lock (so later requests see it). */
        default void selected(Host host) {}
    }
}
