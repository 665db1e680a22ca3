package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * One move of a server between hosts, as Nova's migrations table records it.
 *
 * @param type       Nova's migration_type: "migration" (cold), "resize", "live-migration", "evacuation"
 * @param status     Nova's status words for that type (pre-migrating, migrating, post-migrating,
 *                   finished, confirming, confirmed, reverting, reverted, error; running, completed,
 *                   failed; accepted, done)
 * @param oldFlavor  the flavor before the move (cold moves only, else null), to revert to
 * @param newFlavor  the flavor after it (the same as the old one for a plain migration)
 * @param wasRunning whether the guest ran when the move began, so a revert or rollback starts it again
 */
public record ServerMigration(
        int id,
        String uuid,
        String serverId,
        String projectId,
        String userId,
        String type,
        String status,
        String sourceCompute,
        String destCompute,
        Flavor oldFlavor,
        Flavor newFlavor,
        boolean wasRunning,
        Instant createdAt,
        Instant updatedAt) {
    public static final String COLD = "migration";
    public static final String RESIZE = "resize";
    public static final String LIVE = "live-migration";
    public static final String EVACUATION = "evacuation";

    public ServerMigration {
        requireNonNull(uuid, "uuid is null");
        requireNonNull(serverId, "serverId is null");
        requireNonNull(type, "type is null");
        requireNonNull(status, "status is null");
    }

    public boolean isColdMove() {
        return type.equals(COLD) || type.equals(RESIZE);
    }
}
