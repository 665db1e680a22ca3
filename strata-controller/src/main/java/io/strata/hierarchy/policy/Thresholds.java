package io.strata.hierarchy.policy;

import io.strata.hierarchy.Capacity;

/**
 * Snooze's utilisation thresholds per resource, as fractions of a local controller's total:
 * below MIN on every resource is underload, above MAX on any is overload, and a VM fits where
 * used + demand stays within MID × total on every resource.
 */
public record Thresholds(Capacity min, Capacity mid, Capacity max) {
    public static final Thresholds DEFAULT = new Thresholds(new Capacity(0.2, 0.2, 0.2, 0.2), new Capacity(0.9, 0.9, 0.9, 0.9),
            new Capacity(1.0, 1.0, 1.0, 1.0));

    public Thresholds {
        if (!min.fitsWithin(mid) || !mid.fitsWithin(max)) {
            throw new IllegalArgumentException("thresholds must be MIN <= MID <= MAX for every resource");
        }
    }

    public boolean fits(LcState lc, Capacity demand) {
        return lc.poweredOn() && lc.used().plus(demand).fitsWithin(limit(lc.total(), mid));
    }

    public boolean overloaded(Capacity utilisation) {
        return utilisation.cpu() > max.cpu() || utilisation.memoryKb() > max.memoryKb() || utilisation.rxKb() > max.rxKb()
                || utilisation.txKb() > max.txKb();
    }

    public boolean underloaded(Capacity utilisation) {
        return utilisation.cpu() < min.cpu() && utilisation.memoryKb() < min.memoryKb() && utilisation.rxKb() < min.rxKb()
                && utilisation.txKb() < min.txKb();
    }

    private static Capacity limit(Capacity total, Capacity fraction) {
        return new Capacity(total.cpu() * fraction.cpu(), total.memoryKb() * fraction.memoryKb(), total.rxKb() * fraction.rxKb(),
                total.txKb() * fraction.txKb());
    }
}
