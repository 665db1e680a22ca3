package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/** A server group: its policy and its live members (servers not yet deleted). */
public record ServerGroup(String id, String name, String projectId, String userId, Policy policy, List<String> members, Instant createdAt) {
    /** Nova's four policies; the soft ones are preferences the scheduler weighs, not filters. */
    public enum Policy {
        AFFINITY("affinity"),
        ANTI_AFFINITY("anti-affinity"),
        SOFT_AFFINITY("soft-affinity"),
        SOFT_ANTI_AFFINITY("soft-anti-affinity");

        private final String wireName;

        Policy(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }

        public static Policy fromWire(String name) {
            for (Policy policy : values()) {
                if (policy.wireName.equals(name)) {
                    return policy;
                }
            }
            throw new IllegalArgumentException("unknown server group policy " + name);
        }
    }

    public ServerGroup {
        requireNonNull(id, "id is null");
        requireNonNull(policy, "policy is null");
        members = List.copyOf(members);
    }
}
