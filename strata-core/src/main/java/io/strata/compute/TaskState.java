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
    REBUILDING;

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
