package io.strata.hierarchy;

import java.util.List;

/**
 * Snooze's resource vector {@code [cpu cores, memory KB, rx KB, tx KB]}: what a local controller
 * has in total, what its VMs use, what a VM asks for.
 */
public record Capacity(double cpu, double memoryKb, double rxKb, double txKb) {
    public static final Capacity ZERO = new Capacity(0, 0, 0, 0);
    /** Snooze's default network capacity of a host, 128 MB/s each way (as its getLocalControllerList shows). */
    public static final double DEFAULT_NETWORK_KB = 131072;

    public Capacity plus(Capacity other) {
        return new Capacity(cpu + other.cpu, memoryKb + other.memoryKb, rxKb + other.rxKb, txKb + other.txKb);
    }

    public Capacity minus(Capacity other) {
        return new Capacity(cpu - other.cpu, memoryKb - other.memoryKb, rxKb - other.rxKb, txKb - other.txKb);
    }

    public Capacity times(double factor) {
        return new Capacity(cpu * factor, memoryKb * factor, rxKb * factor, txKb * factor);
    }

    /** True when every resource is at most the other's. */
    public boolean fitsWithin(Capacity limit) {
        return cpu <= limit.cpu && memoryKb <= limit.memoryKb && rxKb <= limit.rxKb && txKb <= limit.txKb;
    }

    /** Snooze sorts by the L1 norm, each resource relative to {@code scale} so KB do not drown cores. */
    public double l1Relative(Capacity scale) {
        return ratio(cpu, scale.cpu) + ratio(memoryKb, scale.memoryKb) + ratio(rxKb, scale.rxKb) + ratio(txKb, scale.txKb);
    }

    /** Per resource utilisation of {@code total}, in [0, 1] for a sane host. */
    public Capacity utilisationOf(Capacity total) {
        return new Capacity(ratio(cpu, total.cpu), ratio(memoryKb, total.memoryKb), ratio(rxKb, total.rxKb), ratio(txKb, total.txKb));
    }

    public double max() {
        return Math.max(Math.max(cpu, memoryKb), Math.max(rxKb, txKb));
    }

    public List<Double> asList() {
        return List.of(cpu, memoryKb, rxKb, txKb);
    }

    private static double ratio(double value, double total) {
        return total <= 0 ? 0 : value / total;
    }
}
