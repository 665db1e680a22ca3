package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A host aggregate: a named group of hosts with metadata. The {@code availability_zone} key of
 * its metadata makes its hosts an availability zone, as in Nova.
 */
public record Aggregate(int id, String uuid, String name, List<String> hosts, Map<String, String> metadata, Instant createdAt,
        Instant updatedAt) {
    public static final String ZONE_KEY = "availability_zone";

    public Aggregate {
        requireNonNull(uuid, "uuid is null");
        requireNonNull(name, "name is null");
        hosts = List.copyOf(hosts);
        metadata = Map.copyOf(metadata);
    }

    /** The availability zone this aggregate defines, or null. */
    public String zone() {
        return metadata.get(ZONE_KEY);
    }
}
