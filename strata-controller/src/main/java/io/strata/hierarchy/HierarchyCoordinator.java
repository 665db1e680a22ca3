package io.strata.hierarchy;

import static java.util.Objects.requireNonNull;

import io.strata.compute.HostRegistry;
import io.strata.core.CloudException;
import io.strata.hierarchy.energy.EnergySaver;
import io.strata.hierarchy.policy.Consolidation;
import io.strata.hierarchy.policy.DispatchPolicy;
import io.strata.hierarchy.policy.ClusterPlacement;
import io.strata.hierarchy.policy.LcState;
import io.strata.hierarchy.policy.LoadHistory;
import io.strata.hierarchy.policy.Move;
import io.strata.hierarchy.policy.PlacementPolicy;
import io.strata.hierarchy.policy.Relocation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The group leader's and group managers' work: dispatches VMs to group managers from their
 * summaries and places them on local controllers, samples the local controllers' load,
 * relocates VMs off overloaded and underloaded ones, consolidates on a schedule, and has the
 * energy saver power idle hosts off (a powered-off host's compute service is disabled, so
 * os-services shows it and Compute's scheduler leaves it alone).
 *
 * <p>In {@code strata up} one coordinator is the leader and every group manager, so its rounds
 * cover all local controllers. Distributed, every controller is one group manager and runs the
 * periodic rounds for its own local controllers only (moves stay inside the group, as in Snooze);
 * which hosts are powered off is read from the store (their disabled compute service), so that
 * the leader can wake a host another group manager switched off.
 */
public final class HierarchyCoordinator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HierarchyCoordinator.class);
    static final String POWERED_OFF_REASON = "powered off by the energy saver";

    /** Live-migrates a VM to a host; throws CloudException when Compute refuses. */
    @FunctionalInterface
    public interface Migrator {
        void migrate(String serverId, String host);
    }

    private final HierarchySettings settings;
    private final HostRegistry hosts;
    private final EnergySaver energy;
    private final ClusterPlacement clusterPlacement;
    private final Relocation relocation;
    private final Consolidation consolidation;
    private final LoadHistory history = new LoadHistory(LoadHistory.SNOOZE_WINDOW);
    private final ScheduledExecutorService timer;
    private HierarchyReader reader;
    private Migrator migrator;
    private java.util.function.BooleanSupplier leading = () -> true;
    /** Distributed: this controller's group manager id (the rounds cover its local controllers only); empty in one process. */
    private java.util.function.Supplier<Optional<String>> ownGroup = Optional::empty;
    private boolean distributed;
    /** Powering off (in a round) and waking (for a placement) are decided one at a time, against the same view. */
    private final Object power = new Object();
    /**
     * What the leader dispatches from: Snooze's group leader works from the group managers'
     * periodic summaries, not from a fresh count of every VM per submission (which made each
     * submission read all servers: quadratic at 20,000 VMs). The summary is re-read from the
     * store when older than {@link #SUMMARY_MAX_AGE} and in between carries what this
     * coordinator placed itself, so back-to-back submissions do not pile onto one host.
     */
    private Map<String, LcState> summary;
    private long summaryNanos;
    private long pending;
    static final Duration SUMMARY_MAX_AGE = Duration.ofSeconds(1);

    public HierarchyCoordinator(HierarchySettings settings, HostRegistry hosts, EnergySaver energy) {
        this.settings = requireNonNull(settings, "settings is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.energy = requireNonNull(energy, "energy is null");
        this.clusterPlacement = new ClusterPlacement(DispatchPolicy.named(settings.dispatching()), PlacementPolicy.named(settings.placement()),
                settings.thresholds());
        this.relocation = new Relocation(settings.thresholds());
        this.consolidation = new Consolidation(settings.thresholds(), settings.maxMigrationsPerRound());
        this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("hierarchy").factory());
    }

    public EnergySaver energy() {
        return energy;
    }

    /** Starts the periodic rounds; the reader and migrator exist only once Compute is wired. */
    public void start(HierarchyReader hierarchy, Migrator migrate) {
        start(hierarchy, migrate, () -> true);
    }

    /** As above, with rounds run only while {@code isLeader} says this coordinator leads. */
    public void start(HierarchyReader hierarchy, Migrator migrate, java.util.function.BooleanSupplier isLeader) {
        start(hierarchy, migrate, isLeader, null);
    }

    /**
     * Distributed: this controller is the group manager {@code ownGroup} names (empty while the
     * hierarchy is not known) and runs the rounds for that group's local controllers.
     */
    public void start(HierarchyReader hierarchy, Migrator migrate, java.util.function.BooleanSupplier isLeader,
            java.util.function.Supplier<Optional<String>> ownGroup) {
        this.distributed = ownGroup != null;
        this.ownGroup = ownGroup == null ? Optional::empty : ownGroup;
        this.leading = requireNonNull(isLeader, "isLeader is null");
        this.reader = requireNonNull(hierarchy, "hierarchy is null");
        this.migrator = requireNonNull(migrate, "migrate is null");
        // Hosts the saver powered off before a restart are still off: it must know to wake them.
        hosts.hosts().stream().filter(h -> !h.serviceEnabled() && h.disabledReason() != null
                && h.disabledReason().startsWith(POWERED_OFF_REASON)).forEach(h -> energy.assumeOff(h.name()));
        long monitor = settings.monitoringInterval().toMillis();
        // Sampling only feeds relocation and the energy saver: with both off, no round reads every server.
        if (settings.relocation() || settings.energySaver()) {
            timer.scheduleWithFixedDelay(() -> guarded("monitoring", this::monitoringRound), monitor, monitor, TimeUnit.MILLISECONDS);
        }
        Duration consolidate = settings.consolidationInterval();
        if (!consolidate.isZero()) {
            timer.scheduleWithFixedDelay(() -> guarded("consolidation", this::consolidationRound), consolidate.toMillis(),
                    consolidate.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void guarded(String what, Runnable round) {
        if (!distributed && !leading.getAsBoolean()) {
            return;
        }
        try {
            round.run();
        } catch (RuntimeException e) {
            log.warn("{} round failed: {}", what, e.toString());
        }
    }

    // ------------------------------------------------------------------ dispatch and placement

    /**
     * Chooses a local controller (host name) for each demand, in order, as if the earlier ones
     * were already there; empty where none fits even after waking a powered-off host.
     */
    public synchronized List<Optional<String>> placeAll(List<Capacity> demands) {
        long now = System.nanoTime();
        if (summary == null || now - summaryNanos > SUMMARY_MAX_AGE.toNanos()) {
            summary = new LinkedHashMap<>();
            reader.placementStates().forEach(lc -> summary.put(lc.id(), lc));
            summaryNanos = now;
        }
        Map<String, LcState> lcs = summary;
        List<Optional<String>> chosen = new ArrayList<>();
        for (Capacity demand : demands) {
            Optional<LcState> lc = place(lcs, demand);
            if (lc.isEmpty() && settings.energySaver()) {
                Optional<String> woken = wake(demand, List.copyOf(lcs.values()));
                if (woken.isPresent()) {
                    lcs.replaceAll((id, state) -> state.host().equals(woken.get()) ? state.poweredOn(true) : state);
                    lc = place(lcs, demand);
                }
            }
            if (lc.isPresent()) {
                LcState target = lc.get();
                lcs.put(target.id(), target.with(new LcState.VmLoad("pending-" + pending++, demand)));
            }
            chosen.add(lc.map(LcState::host));
        }
        return chosen;
    }

    /** Forgets the placement summary, so that the next dispatch reads the hierarchy afresh (after an operator's change). */
    public synchronized void refreshSummary() {
        summary = null;
    }

    private Optional<LcState> place(Map<String, LcState> lcs, Capacity demand) {
        return clusterPlacement.place(lcs, demand);
    }

    // ------------------------------------------------------------------ energy

    private Optional<String> wake(Capacity demand, List<LcState> states) {
        synchronized (power) {
            energy.observe(poweredOffInStore());
            // Only hosts a saver turned off: a host an operator disabled or a dead one stays as it is.
            List<LcState> off = states.stream().filter(lc -> energy.isOff(lc.host())).map(lc -> lc.poweredOn(false)).toList();
            Optional<String> woken = energy.wakeFor(demand, off, settings.thresholds(), Map.of());
            woken.ifPresent(host -> hosts.setEnabled(host, true, null));
            return woken;
        }
    }

    /** The hosts an energy saver (of any controller) powered off: their compute service says so. */
    public java.util.Set<String> poweredOffInStore() {
        return hosts.hosts().stream().filter(h -> !h.serviceEnabled() && h.disabledReason() != null
                && h.disabledReason().startsWith(POWERED_OFF_REASON)).map(io.strata.compute.Host::name)
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    /** The local controllers this coordinator's rounds cover: all of them in one process, its own group's distributed. */
    private List<LcState> managed(List<LcState> all) {
        if (!distributed) {
            return all;
        }
        Optional<String> group = ownGroup.get();
        return group.isEmpty() ? List.of() : all.stream().filter(lc -> group.get().equals(lc.groupManagerId())).toList();
    }

    // ------------------------------------------------------------------ periodic rounds

    /** Samples every local controller's load; relocates off those overloaded or underloaded over the window; powers off idle hosts. */
    public void monitoringRound() {
        List<LcState> lcs = managed(reader.view().states());
        if (lcs.isEmpty()) {
            return;
        }
        lcs.stream().filter(LcState::poweredOn).forEach(history::record);
        if (settings.relocation()) {
            for (LcState lc : lcs) {
                Optional<Capacity> average = history.average(lc.id());
                if (average.isEmpty() || !lc.poweredOn()) {
                    continue;
                }
                List<Move> moves = List.of();
                if (settings.thresholds().overloaded(average.get())) {
                    moves = relocation.overload(lc, lcs);
                } else if (settings.energySaver() && !lc.idle() && settings.thresholds().underloaded(average.get())) {
                    // Emptying an underloaded host only pays when the saver can then switch it off.
                    moves = relocation.underload(lc, lcs);
                }
                if (!moves.isEmpty()) {
                    execute(moves, lcs, "relocation");
                    return;     // one relocation per round: the next round samples the new state
                }
            }
        }
        if (settings.energySaver()) {
            // The compute service goes off before the host does, so nothing is scheduled onto a host going down.
            List<String> off;
            synchronized (power) {
                energy.observe(poweredOffInStore());
                off = energy.tick(lcs, Map.of(), new EnergySaver.Fence() {
                    @Override
                    public void close(String host) {
                        hosts.setEnabled(host, false, POWERED_OFF_REASON + " (" + energy.driverName() + ")");
                    }

                    @Override
                    public void reopen(String host) {
                        hosts.setEnabled(host, true, null);
                    }
                });
            }
            if (!off.isEmpty()) {
                refreshSummary();
            }
        }
    }

    /** Plans a consolidation and runs its migrations. Returns how many were started. */
    public int consolidationRound() {
        List<LcState> lcs = managed(reader.view().states());
        if (lcs.isEmpty()) {
            return 0;
        }
        List<Move> moves = consolidation.plan(lcs);
        return execute(moves, lcs, "consolidation");
    }

    private int execute(List<Move> moves, List<LcState> lcs, String why) {
        Map<String, String> hostOf = new HashMap<>();
        lcs.forEach(lc -> hostOf.put(lc.id(), lc.host()));
        int started = 0;
        for (Move move : moves) {
            try {
                migrator.migrate(move.vmId(), hostOf.get(move.to()));
                started++;
                history.reset(move.from());
                history.reset(move.to());
            } catch (CloudException e) {
                log.info("{}: cannot move {} to {}: {}", why, move.vmId(), hostOf.get(move.to()), e.getMessage());
            }
        }
        if (started > 0) {
            log.info("{}: {} live migration(s) started", why, started);
            refreshSummary();
        }
        return started;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
