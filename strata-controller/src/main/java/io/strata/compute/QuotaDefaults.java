package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.util.EnumMap;
import java.util.Map;

/**
 * The quota every project has until an admin sets its own (Nova's [quota] section); -1 is
 * unlimited. Strata's defaults are Nova's except instances, cores and RAM, which are unlimited:
 * an all-in-one cloud on a laptop (and its scale tests) should not stop at ten servers. Set them
 * with {@code strata up --quota instances=10}.
 */
public record QuotaDefaults(Map<QuotaResource, Long> limits) {
    public static final QuotaDefaults DEFAULT = new QuotaDefaults(Map.ofEntries(
            Map.entry(QuotaResource.CORES, -1L),
            Map.entry(QuotaResource.FIXED_IPS, -1L),
            Map.entry(QuotaResource.FLOATING_IPS, 10L),
            Map.entry(QuotaResource.INJECTED_FILE_CONTENT_BYTES, 10240L),
            Map.entry(QuotaResource.INJECTED_FILE_PATH_BYTES, 255L),
            Map.entry(QuotaResource.INJECTED_FILES, 5L),
            Map.entry(QuotaResource.INSTANCES, -1L),
            Map.entry(QuotaResource.KEY_PAIRS, 100L),
            Map.entry(QuotaResource.METADATA_ITEMS, 128L),
            Map.entry(QuotaResource.RAM, -1L),
            Map.entry(QuotaResource.SECURITY_GROUP_RULES, 20L),
            Map.entry(QuotaResource.SECURITY_GROUPS, 10L),
            Map.entry(QuotaResource.SERVER_GROUP_MEMBERS, 10L),
            Map.entry(QuotaResource.SERVER_GROUPS, 10L)));

    public QuotaDefaults {
        requireNonNull(limits, "limits is null");
        EnumMap<QuotaResource, Long> all = new EnumMap<>(QuotaResource.class);
        for (QuotaResource resource : QuotaResource.values()) {
            Long limit = limits.get(resource);
            if (limit == null) {
                throw new IllegalArgumentException("no default quota for " + resource.wireName());
            }
            if (limit < -1) {
                throw new IllegalArgumentException("quota " + resource.wireName() + " must be -1 (unlimited) or more, not " + limit);
            }
            all.put(resource, limit);
        }
        limits = Map.copyOf(all);
    }

    public long limit(QuotaResource resource) {
        return limits.get(resource);
    }

    /** These defaults with one resource changed (the {@code --quota NAME=VALUE} option). */
    public QuotaDefaults with(QuotaResource resource, long limit) {
        EnumMap<QuotaResource, Long> changed = new EnumMap<>(limits);
        changed.put(resource, limit);
        return new QuotaDefaults(changed);
    }

    /** Parses {@code NAME=VALUE} onto these defaults; IllegalArgumentException with a readable message. */
    public QuotaDefaults with(String assignment) {
        int equals = assignment.indexOf('=');
        if (equals < 0) {
            throw new IllegalArgumentException("quota must be NAME=VALUE, not " + assignment);
        }
        String name = assignment.substring(0, equals).strip();
        QuotaResource resource = QuotaResource.fromWire(name)
                .orElseThrow(() -> new IllegalArgumentException("unknown quota " + name));
        try {
            return with(resource, Long.parseLong(assignment.substring(equals + 1).strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("quota " + name + " must be an integer, not " + assignment.substring(equals + 1));
        }
    }
}
