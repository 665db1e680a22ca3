package io.strata.compute;

/** Nova's {@code OS-EXT-STS:power_state} codes, as the hypervisor reports them. */
public enum PowerState {
    NOSTATE(0),
    RUNNING(1),
    PAUSED(3),
    SHUTDOWN(4),
    CRASHED(6),
    SUSPENDED(7);

    private final int code;

    PowerState(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static PowerState fromCode(int code) {
        for (PowerState state : values()) {
            if (state.code == code) {
                return state;
            }
        }
        throw new IllegalArgumentException("unknown power state " + code);
    }
}
