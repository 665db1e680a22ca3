package io.strata.compute;

import java.time.Instant;

/**
 * A hypervisor host and its compute service, as os-hypervisors and os-services show them.
 * {@code serviceEnabled} false keeps the scheduler away; {@code lastHeartbeat} decides up/down.
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
        Instant updatedAt) {}
