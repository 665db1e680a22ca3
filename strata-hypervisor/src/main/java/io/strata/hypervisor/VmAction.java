package io.strata.hypervisor;

/** Power actions, as Nova's server actions name them. */
public enum VmAction {
    STOP,
    START,
    REBOOT_SOFT,
    REBOOT_HARD,
    PAUSE,
    UNPAUSE,
    SUSPEND,
    RESUME
}
