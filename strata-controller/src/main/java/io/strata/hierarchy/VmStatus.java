package io.strata.hierarchy;

import io.strata.compute.Server;
import io.strata.compute.TaskState;
import io.strata.compute.VmState;

/** Snooze's VirtualMachineStatus, read from a Compute server's state. */
public enum VmStatus {
    UNKNOWN, ERROR, OFFLINE, PAUSED, RUNNING, SHUTDOWN_PENDING;

    public static VmStatus of(Server server) {
        if (server.deleted() || server.vmState() == VmState.DELETED || server.taskState() == TaskState.DELETING
                || server.taskState() == TaskState.POWERING_OFF) {
            return SHUTDOWN_PENDING;
        }
        return switch (server.vmState()) {
            case ACTIVE -> RUNNING;
            case PAUSED, SUSPENDED -> PAUSED;
            case ERROR -> ERROR;
            case STOPPED -> OFFLINE;
            default -> UNKNOWN;
        };
    }
}
