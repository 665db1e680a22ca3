package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * What a destination host needs to receive a running VM by live migration: the VM as its source
 * runs it (devices must match exactly), and the root disk's backing chain, whose top layer the
 * source streams while the memory follows.
 *
 * @param boot              how the VM was started (a live-image clone: its image's boot)
 * @param diskBacking       the file under the VM's root disk overlay (an image or a live image's
 *                          disk base), or null when it has no root disk; the destination must be
 *                          able to read it at this path (same machine or shared image storage)
 * @param diskVirtualSize   the overlay's virtual size in bytes (the destination's must match)
 * @param attributes        driver facts the destination needs (for the fake driver, its console)
 */
public record MigrationSource(
        String vmId,
        int vcpus,
        int memoryMb,
        int targetMemoryMb,
        BootSource boot,
        String diskBacking,
        String diskBackingFormat,
        long diskVirtualSize,
        Map<String, String> attributes) {
    public MigrationSource {
        requireNonNull(vmId, "vmId is null");
        attributes = Map.copyOf(attributes);
    }
}
