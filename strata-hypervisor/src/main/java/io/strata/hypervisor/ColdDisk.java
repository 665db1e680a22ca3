package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Map;

/**
 * A powered-off VM's own disk state, as a cold migration or resize carries it to another host:
 * the top layer of its root disk (what the guest wrote over its image), or null when the VM boots
 * its kernel directly and has no root disk. The layer stays on the source host until the move is
 * confirmed, so a revert finds the source VM untouched.
 *
 * @param attributes driver facts the destination needs (for the fake driver, its console)
 */
public record ColdDisk(String vmId, Path rootDisk, Map<String, String> attributes) {
    public ColdDisk {
        requireNonNull(vmId, "vmId is null");
        attributes = Map.copyOf(attributes);
    }
}
