package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import io.strata.compute.PowerState;
import java.util.Map;

/**
 * A VM as its host sees it. {@code details} carries driver facts worth showing to operators
 * (process id, accelerator, forwarded SSH port, memory target), keyed by short names.
 */
public record VmInfo(String id, PowerState powerState, Map<String, String> details) {
    public VmInfo {
        requireNonNull(id, "id is null");
        requireNonNull(powerState, "powerState is null");
        details = Map.copyOf(details);
    }

    public VmInfo(String id, PowerState powerState) {
        this(id, powerState, Map.of());
    }
}
