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

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TaskState fromWireName(String name) {
        return name == null ? null : valueOf(name.toUpperCase(Locale.ROOT));
    }
}
