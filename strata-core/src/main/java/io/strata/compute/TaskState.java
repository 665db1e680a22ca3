package io.strata.compute;

import java.util.Locale;

/** Nova's {@code task_state}: the operation in progress on a server, null when idle. */
public enum TaskState {
    SCHEDULING,
    NETWORKING,
    SPAWNING,
    POWERING_OFF,
    POWERING_ON,
    REBOOTING,
    REBOOTING_HARD,
    PAUSING,
    UNPAUSING,
    SUSPENDING,
    RESUMING,
    DELETING,
    IMAGE_SNAPSHOT,
    IMAGE_UPLOADING,
    MIGRATING,
    BLESSING,
    LAUNCHING,
    REBUILDING,
    // cold migration and resize, in Nova's order
    RESIZE_PREP,
    RESIZE_MIGRATING,
    RESIZE_MIGRATED,
    RESIZE_FINISH,
    RESIZE_CONFIRMING,
    RESIZE_REVERTING;

    /** The steps of a cold move before it reaches VERIFY_RESIZE, while the server's host is still the source. */
    public boolean isColdMoveStep() {
        return this == RESIZE_PREP || this == RESIZE_MIGRATING || this == RESIZE_MIGRATED || this == RESIZE_FINISH;
    }

    /** Nova's spelling: underscores, except the power tasks, which Nova writes with hyphens. */
    public String wireName() {
        return switch (this) {
            case POWERING_OFF -> "powering-off";
            case POWERING_ON -> "powering-on";
            default -> name().toLowerCase(Locale.ROOT);
        };
    }

    public static TaskState fromWireName(String name) {
        return name == null ? null : valueOf(name.toUpperCase(Locale.ROOT).replace('-', '_'));
    }
}
