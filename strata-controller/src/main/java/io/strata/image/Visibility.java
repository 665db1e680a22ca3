package io.strata.image;

import java.util.Locale;

/** Who may see an image, as in Glance v2.5+. */
public enum Visibility {
    /** Every project; only admins may publish. */
    PUBLIC,
    /** Only the owner's project. */
    PRIVATE,
    /** The owner's project and the projects it is shared with (members); Glance's default. */
    SHARED,
    /** Every project may use it, but it is listed only when asked for. */
    COMMUNITY;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The visibility named {@code value}, or null when it names none. */
    public static Visibility parse(String value) {
        for (Visibility visibility : values()) {
            if (visibility.wireName().equals(value)) {
                return visibility;
            }
        }
        return null;
    }
}
