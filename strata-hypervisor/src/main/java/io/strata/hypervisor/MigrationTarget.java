package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * A destination prepared to receive a VM: where the source sends the migration stream and, when
 * the VM has a root disk, where it mirrors the disk's top layer (an NBD export).
 */
public record MigrationTarget(String vmId, String migrationUri, String diskExportUri, Map<String, String> attributes) {
    public MigrationTarget {
        requireNonNull(vmId, "vmId is null");
        requireNonNull(migrationUri, "migrationUri is null");
        attributes = Map.copyOf(attributes);
    }
}
