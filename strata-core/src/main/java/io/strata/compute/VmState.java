package io.strata.compute;

import java.util.Locale;

/**
 * Nova's {@code vm_state}: what the VM is, as opposed to {@link TaskState}, what is being done
 * to it. Stored in lower case as Nova shows it in {@code OS-EXT-STS:vm_state}.
 */
public enum VmState {
    BUILDING,
    ACTIVE,
    STOPPED,
    PAUSED,
    SUSPENDED,
    ERROR,
    DELETED,
    /** Moved or resized by a cold migration and waiting to be confirmed or reverted (VERIFY_RESIZE); the source VM is kept powered off. */
    RESIZED,
    /** A live image: the frozen memory and disk of a running server, from which clones start. */
    BLESSED;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static VmState fromWireName(String name) {
        return valueOf(name.toUpperCase(Locale.ROOT));
    }
}
