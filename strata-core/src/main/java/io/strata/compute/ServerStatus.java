package io.strata.compute;

/**
 * The {@code status} users see, derived from vm_state and task_state exactly as Nova's
 * {@code nova.api.openstack.common._STATE_MAP} does, so that clients polling for ACTIVE,
 * SHUTOFF or REBOOT behave as they do against Nova.
 */
public final class ServerStatus {
    private ServerStatus() {}

    public static String of(VmState vmState, TaskState taskState) {
        return switch (vmState) {
            case BUILDING -> "BUILD";
            case ACTIVE -> activeStatus(taskState);
            case STOPPED -> taskState == TaskState.REBUILDING ? "REBUILD"
                    : taskState != null && taskState.isColdMoveStep() ? "RESIZE" : "SHUTOFF";
            case RESIZED -> taskState == TaskState.RESIZE_REVERTING ? "REVERT_RESIZE" : "VERIFY_RESIZE";
            case PAUSED -> "PAUSED";
            case SUSPENDED -> "SUSPENDED";
            case ERROR -> taskState == TaskState.REBUILDING ? "REBUILD" : "ERROR";
            case DELETED -> "DELETED";
            case BLESSED -> "BLESSED";
        };
    }

    private static String activeStatus(TaskState taskState) {
        if (taskState == null) {
            return "ACTIVE";
        }
        return switch (taskState) {
            case REBOOTING -> "REBOOT";
            case REBOOTING_HARD -> "HARD_REBOOT";
            case MIGRATING -> "MIGRATING";
            case REBUILDING -> "REBUILD";
            case RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH -> "RESIZE";
            default -> "ACTIVE";
        };
    }

    /** The vm_state a status filter ({@code ?status=SHUTOFF}) selects, or null if unknown. */
    public static VmState vmStateFor(String status) {
        return switch (status.toUpperCase(java.util.Locale.ROOT)) {
            case "BUILD" -> VmState.BUILDING;
            case "ACTIVE", "REBOOT", "HARD_REBOOT", "MIGRATING", "REBUILD", "RESIZE" -> VmState.ACTIVE;
            case "VERIFY_RESIZE", "REVERT_RESIZE" -> VmState.RESIZED;
            case "SHUTOFF" -> VmState.STOPPED;
            case "PAUSED" -> VmState.PAUSED;
            case "SUSPENDED" -> VmState.SUSPENDED;
            case "ERROR" -> VmState.ERROR;
            case "DELETED" -> VmState.DELETED;
            case "BLESSED" -> VmState.BLESSED;
            default -> null;
        };
    }
}
