package io.strata.image;

import java.util.Locale;

/** A project's answer to an image shared with it; only accepted images appear in its image list. */
public enum MemberStatus {
    PENDING,
    ACCEPTED,
    REJECTED;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The status named {@code value}, or null when it names none. */
    public static MemberStatus parse(String value) {
        for (MemberStatus status : values()) {
            if (status.wireName().equals(value)) {
                return status;
            }
        }
        return null;
    }
}
