package io.strata.compute;

import java.util.Optional;

/**
 * What Nova's quota sets count, in the order its API lists them. The network quotas (and, from
 * 2.57, the injected-file ones) disappeared in later microversions; {@code removedIn} says when.
 */
public enum QuotaResource {
    CORES("cores", null),
    FIXED_IPS("fixed_ips", new ApiVersion(2, 36)),
    FLOATING_IPS("floating_ips", new ApiVersion(2, 36)),
    INJECTED_FILE_CONTENT_BYTES("injected_file_content_bytes", new ApiVersion(2, 57)),
    INJECTED_FILE_PATH_BYTES("injected_file_path_bytes", new ApiVersion(2, 57)),
    INJECTED_FILES("injected_files", new ApiVersion(2, 57)),
    INSTANCES("instances", null),
    KEY_PAIRS("key_pairs", null),
    METADATA_ITEMS("metadata_items", null),
    RAM("ram", null),
    SECURITY_GROUP_RULES("security_group_rules", new ApiVersion(2, 36)),
    SECURITY_GROUPS("security_groups", new ApiVersion(2, 36)),
    SERVER_GROUP_MEMBERS("server_group_members", null),
    SERVER_GROUPS("server_groups", null);

    private final String wireName;
    private final ApiVersion removedIn;

    QuotaResource(String wireName, ApiVersion removedIn) {
        this.wireName = wireName;
        this.removedIn = removedIn;
    }

    public String wireName() {
        return wireName;
    }

    /** Whether the API shows (and accepts) this resource at a microversion. */
    public boolean visibleAt(ApiVersion version) {
        return removedIn == null || version.compareTo(removedIn) < 0;
    }

    public static Optional<QuotaResource> fromWire(String name) {
        for (QuotaResource resource : values()) {
            if (resource.wireName.equals(name)) {
                return Optional.of(resource);
            }
        }
        return Optional.empty();
    }
}
