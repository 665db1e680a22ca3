package io.strata.compute;

/** Nova's allocation ratios: how far each resource of a host may be overcommitted. */
public record SchedulerSettings(double cpuAllocationRatio, double ramAllocationRatio, double diskAllocationRatio) {
    public static final SchedulerSettings DEFAULT = new SchedulerSettings(16.0, 1.5, 1.0);

    public SchedulerSettings {
        if (cpuAllocationRatio <= 0 || ramAllocationRatio <= 0 || diskAllocationRatio <= 0) {
            throw new IllegalArgumentException("allocation ratios must be positive");
        }
    }
}
