package io.strata.image;

import java.util.Locale;

/**
 * Glance's image statuses that Strata uses. Data arrives in one streamed upload, so an image goes
 * queued → saving → active; a failed upload goes back to queued (Glance v2 no longer uses killed).
 */
public enum ImageStatus {
    /** Registered, no data yet. */
    QUEUED,
    /** Data is being received; it becomes visible only once complete. */
    SAVING,
    /** Data complete and checksummed. */
    ACTIVE,
    /** Data kept but not downloadable by non-admins (Glance's deactivate action). */
    DEACTIVATED;

    /** The lower-case name Glance puts on the wire and in the database. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ImageStatus fromWire(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
