package io.strata.hypervisor.qemu;

import io.strata.core.ErrorCode;
import io.strata.hypervisor.HypervisorException;

/**
 * QEMU refused a QMP command ({@code errorClass} is QMP's "class", e.g. GenericError or
 * CommandNotFound), or the monitor could not be reached, timed out or closed.
 */
public final class QmpException extends HypervisorException {
    private final String errorClass;

    public QmpException(String errorClass, String message) {
        super(ErrorCode.INTERNAL, message);
        this.errorClass = errorClass;
    }

    public QmpException(String message, Throwable cause) {
        super(message, cause);
        this.errorClass = "IOError";
    }

    /** QMP's error class, or "Timeout", "Closed", "IOError" for failures of the connection itself. */
    public String errorClass() {
        return errorClass;
    }
}
