package io.strata.bench;

import io.strata.hierarchy.Capacity;
import io.strata.hierarchy.energy.EnergySaver;
import io.strata.hierarchy.energy.TestDriver;
import io.strata.hierarchy.policy.ClusterPlacement;
import io.strata.hierarchy.policy.Consolidation;
import io.strata.hierarchy.policy.DispatchPolicy;
import io.strata.hierarchy.policy.LcState;
import io.strata.hierarchy.policy.Move;
import io.strata.hierarchy.policy.PlacementPolicy;
import io.strata.hierarchy.policy.Thresholds;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.threeten.extra.MutableClock;

/**
 * The hierarchy's policies at Snooze's benchmark scale, in memory (no API, no database, no
 * hypervisor): 2,000 local controllers in 20 group managers take 20,000 VMs in clusters of 10
 * through the leader's dispatching and the group managers' placement; then a synthetic day (24
 * hours compressed into steps) in which load rises and falls, run three ways — all hosts on,
 * energy saver only, consolidation + energy saver — counting powered-on hosts each hour.
 *
 * <pre>strata-bench hierarchy [--lcs 2000] [--gms 20] [--vms 20000] [--cluster 10] [--placement FirstFit] [--dispatching RoundRobin]</pre>
 */
final class HierarchySimulation {
    private static final Capacity HOST = new Capacity(32, 128L * 1024 * 1024, 131072, 131072);

    private HierarchySimulation() {}

    public static void main(String[] args) {
        int lcs = 2000;
        int gms = 20;
        int vms = 20000;
        int cluster = 10;
        String placement = "FirstFit";
        String dispatching = "RoundRobin";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--lcs" -> lcs = Integer.parseInt(args[i + 1]);
                case "--gms" -> gms = Integer.parseInt(args[i + 1]);
                case "--vms" -> vms = Integer.parseInt(args[i + 1]);
                case "--cluster" -> cluster = Integer.parseInt(args[i + 1]);
                case "--placement" -> placement = args[i + 1];
                case "--dispatching" -> dispatching = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.out.printf(Locale.ROOT, "hierarchy simulation: %d LCs in %d GMs, %d VMs in clusters of %d, dispatching %s, placement %s%n",
                lcs, gms, vms, cluster, dispatching, placement);
        submissions(lcs, gms, vms, cluster, dispatching, placement);
        for (String mode : List.of("all-on", "energy", "consolidation+energy")) {
            day(lcs, gms, vms, dispatching, placement, mode);
        }
    }

    private static Map<String, LcState> hosts(int lcs, int gms) {
        Map<String, LcState> state = new LinkedHashMap<>();
        int perGroup = (lcs + gms - 1) / gms;
        for (int i = 0; i < lcs; i++) {
            String id = String.format(Locale.ROOT, "lc-%04d", i);
            state.put(id, new LcState(id, id, "gm-" + (i / perGroup), HOST, Capacity.ZERO, List.of(), true));
        }
        return state;
    }

    private static Capacity vm(Random random) {
        int cores = 1 + random.nextInt(4);
        int gib = 1 << random.nextInt(4);   // 1, 2, 4 or 8 GiB
        return new Capacity(cores, gib * 1024.0 * 1024, 1000 + random.nextInt(4000), 1000 + random.nextInt(4000));
    }

    private static void submissions(int lcs, int gms, int vms, int cluster, String dispatching, String placement) {
        Map<String, LcState> state = hosts(lcs, gms);
        ClusterPlacement planner = new ClusterPlacement(DispatchPolicy.named(dispatching), PlacementPolicy.named(placement),
                Thresholds.DEFAULT);
        Random random = new Random(42);
        Latencies perCluster = new Latencies();
        int placed = 0;
        int refused = 0;
        long started = System.nanoTime();
        for (int c = 0; c < vms / cluster; c++) {
            long t0 = System.nanoTime();
            for (int v = 0; v < cluster; v++) {
                Capacity demand = vm(random);
                Optional<LcState> lc = planner.place(state, demand);
                if (lc.isPresent()) {
                    state.put(lc.get().id(), lc.get().with(new LcState.VmLoad("vm-" + c + "-" + v, demand)));
                    placed++;
                } else {
                    refused++;
                }
            }
            perCluster.add(System.nanoTime() - t0);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        long used = state.values().stream().filter(lc -> !lc.idle()).count();
        System.out.printf(Locale.ROOT, "placement: %d VMs placed, %d refused, in %.2f s = %.0f VMs/s; per cluster of %d: %s; %d of %d LCs in use%n",
                placed, refused, seconds, placed / seconds, cluster, perCluster.summary(), used, lcs);
    }

    /** A day of 24 hours × 4 steps: the VM count follows a curve between 30 % and 100 % of {@code peak}. */
    private static void day(int lcs, int gms, int peak, String dispatching, String placement, String mode) {
        Map<String, LcState> state = hosts(lcs, gms);
        ClusterPlacement planner = new ClusterPlacement(DispatchPolicy.named(dispatching), PlacementPolicy.named(placement),
                Thresholds.DEFAULT);
        MutableClock clock = MutableClock.of(Instant.parse("2026-11-23T00:00:00Z"), ZoneOffset.UTC);
        boolean energyOn = !mode.equals("all-on");
        boolean consolidate = mode.equals("consolidation+energy");
        EnergySaver saver = new EnergySaver(new TestDriver(), Duration.ofMinutes(10), 10, clock);
        Consolidation consolidation = new Consolidation(Thresholds.DEFAULT, 500);
        Random random = new Random(7);
        List<LcState.VmLoad> running = new ArrayList<>();
        Map<String, String> where = new LinkedHashMap<>();
        long hostHours = 0;
        int migrations = 0;
        int refused = 0;
        StringBuilder hourly = new StringBuilder();
        int stepsPerHour = 4;
        for (int step = 0; step < 24 * stepsPerHour; step++) {
            double hour = step / (double) stepsPerHour;
            int target = (int) (peak * (0.65 - 0.35 * Math.cos(2 * Math.PI * (hour - 3) / 24)));
            // Departures: 5 % of the VMs leave each step, plus whatever brings the count down to the target.
            int leave = Math.max(running.size() / 20, running.size() - target);
            for (int i = 0; i < leave && !running.isEmpty(); i++) {
                LcState.VmLoad vm = running.remove(random.nextInt(running.size()));
                String lcId = where.remove(vm.id());
                state.put(lcId, state.get(lcId).without(vm));
            }
            // Arrivals up to the target, placed like submissions; a full cloud wakes a sleeping host.
            while (running.size() < target) {
                LcState.VmLoad vm = new LcState.VmLoad("vm-" + step + "-" + running.size() + "-" + random.nextInt(1 << 30), vm(random));
                Optional<LcState> lc = planner.place(state, vm.demand());
                if (lc.isEmpty() && energyOn) {
                    Optional<String> woken = saver.wakeFor(vm.demand(), state.values().stream().filter(l -> !l.poweredOn()).toList(),
                            Thresholds.DEFAULT, Map.of());
                    woken.ifPresent(host -> state.put(host, state.get(host).poweredOn(true)));
                    lc = planner.place(state, vm.demand());
                }
                if (lc.isEmpty()) {
                    refused++;
                    break;
                }
                state.put(lc.get().id(), lc.get().with(vm));
                running.add(vm);
                where.put(vm.id(), lc.get().id());
            }
            if (consolidate && step % stepsPerHour == 0) {
                for (Move move : consolidation.plan(new ArrayList<>(state.values()))) {
                    LcState from = state.get(move.from());
                    LcState.VmLoad vm = from.vms().stream().filter(v -> v.id().equals(move.vmId())).findFirst().orElseThrow();
                    state.put(move.from(), from.without(vm));
                    state.put(move.to(), state.get(move.to()).with(vm));
                    where.put(vm.id(), move.to());
                    migrations++;
                }
            }
            if (energyOn) {
                for (String host : saver.tick(new ArrayList<>(state.values()), Map.of())) {
                    state.put(host, state.get(host).poweredOn(false));
                }
            }
            clock.add(Duration.ofMinutes(60 / stepsPerHour));
            long on = state.values().stream().filter(LcState::poweredOn).count();
            hostHours += on;
            if (step % (3 * stepsPerHour) == 0) {
                hourly.append(String.format(Locale.ROOT, " %02d:00 %d VMs/%d on", (int) hour, running.size(), on));
            }
        }
        System.out.printf(Locale.ROOT, "day, %s: average powered-on hosts %.0f of %d, %d live migrations, %d VMs refused;%s%n", mode,
                hostHours / (24.0 * stepsPerHour), lcs, migrations, refused, hourly);
    }
}
