package io.strata.network;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The one flat network every server joins, as the Networking API shows it: Strata hands out its
 * addresses itself (the compute service's address pool), so there is one network with one IPv4
 * subnet. Ids are stable hashes of the name, as the catalog's are, so they survive restarts and
 * a network map that names one stays valid.
 */
public record Network(String id, String name, String subnetId, String cidr, String gateway) {
    /** The network's name unless configured otherwise; also the key of a server's {@code addresses}. */
    public static final String DEFAULT_NAME = "default";

    public Network {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(subnetId, "subnetId is null");
        requireNonNull(cidr, "cidr is null");
        requireNonNull(gateway, "gateway is null");
    }

    /** The flat network {@code name} over the addresses {@code cidr}, gateway {@code gateway}. */
    public static Network flat(String name, String cidr, String gateway) {
        return new Network(stableId("network:" + name), name, stableId("subnet:" + name + ":" + cidr), cidr, gateway);
    }

    /** Whether {@code reference} (an id, dashed or not) names this network. */
    public boolean hasId(String reference) {
        return reference != null && reference.replace("-", "").equalsIgnoreCase(id.replace("-", ""));
    }

    private static String stableId(String seed) {
        return UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8)).toString();
    }
}
