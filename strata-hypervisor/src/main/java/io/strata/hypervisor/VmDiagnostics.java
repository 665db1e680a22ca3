package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import io.strata.compute.PowerState;
import java.util.List;

/**
 * What a host can tell about a VM's use of its resources right now (Nova's server diagnostics).
 * Counters are totals since the VM's process started; a figure the driver cannot know is -1.
 *
 * @param memoryMaxKb   the memory the guest was given
 * @param memoryActualKb what the balloon leaves the guest (its whole memory without a balloon)
 * @param memoryRssKb   what the VM's process holds in host memory
 */
public record VmDiagnostics(
        PowerState state,
        String driver,
        long uptimeSeconds,
        long memoryMaxKb,
        long memoryActualKb,
        long memoryRssKb,
        List<Cpu> cpus,
        List<Disk> disks,
        List<Nic> nics) {
    public VmDiagnostics {
        requireNonNull(state, "state is null");
        requireNonNull(driver, "driver is null");
        cpus = List.copyOf(cpus);
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
    }

    /** One virtual CPU: the host CPU time its thread used, in nanoseconds. */
    public record Cpu(int id, long timeNanos) {}

    /** One disk by its guest name (vda, vdb…). */
    public record Disk(String name, long readBytes, long readRequests, long writeBytes, long writeRequests, long errors) {}

    /** One NIC by MAC. */
    public record Nic(String name, String mac, long rxOctets, long rxPackets, long rxErrors, long rxDrop, long txOctets, long txPackets,
            long txErrors, long txDrop) {}
}
