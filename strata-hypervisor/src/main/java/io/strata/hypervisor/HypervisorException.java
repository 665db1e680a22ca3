package io.strata.hypervisor;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;

/**
 * A hypervisor could not do what was asked. {@link ErrorCode#CONFLICT} when the VM is in the
 * wrong state for the action, {@link ErrorCode#NOT_FOUND} when the host has no such VM,
 * {@link ErrorCode#INTERNAL} when the host itself failed (the message then becomes the fault).
 */
public class HypervisorException extends CloudException {
    public HypervisorException(ErrorCode code, String message) {
        super(code, message);
    }

    public HypervisorException(String message, Throwable cause) {
        super(ErrorCode.INTERNAL, message, cause);
    }

    public static HypervisorException noSuchVm(String vmId) {
        return new HypervisorException(ErrorCode.NOT_FOUND, "no VM " + vmId + " on this host");
    }

    public static HypervisorException wrongState(String vmId, Object state, VmAction action) {
        return new HypervisorException(ErrorCode.CONFLICT,
                "cannot " + action.name().toLowerCase(java.util.Locale.ROOT) + " VM " + vmId + " while it is " + state);
    }
}
