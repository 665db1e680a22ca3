package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import io.strata.compute.PowerState;

/**
 * Something that happened to a VM on its own: the guest powered off, paused on an error, or its
 * process vanished ({@code powerState} SHUTDOWN or CRASHED with a message saying why).
 */
public record VmEvent(String vmId, PowerState powerState, String message) {
    public VmEvent {
        requireNonNull(vmId, "vmId is null");
        requireNonNull(powerState, "powerState is null");
    }
}
