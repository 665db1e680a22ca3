package io.strata.compute;

import java.time.Instant;

/**
 * A hypervisor host and its compute service, as os-hypervisors and os-services show them.
 * {@code serviceEnabled} false keeps the scheduler away; {@code lastHeartbeat} decides up/down.
 * {@code sharedStorage} names the instance storage the host shares with others (null: none).
 */
public record Host(
        int id,
        String uuid,
        String name,
        String zone,
        boolean serviceEnabled,
        String disabledReason,
        boolean forcedDown,
        String hypervisorType,
        long hypervisorVersion,
        String accelerator,
        String hostIp,
        String agentUrl,
        int vcpus,
        long memoryMb,
        long localGb,
        Instant lastHeartbeat,
        Instant createdAt,
        Instant updatedAt,
        String sharedStorage) {
    /** Whether {@code other} sees the same VM disks as this host (both on one shared instance storage). */
    public boolean sharesStorageWith(Host other) {
        return sharedStorage != null && sharedStorage.equals(other.sharedStorage()) && !name.equals(other.name());
    }
}
