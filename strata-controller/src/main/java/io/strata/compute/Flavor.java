package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Map;

/** A flavor: the size of a server. {@code swapMb} 0 means no swap (Nova shows it as ""). */
public record Flavor(
        String id,
        String name,
        int vcpus,
        int ramMb,
        int diskGb,
        int ephemeralGb,
        int swapMb,
        double rxtxFactor,
        boolean isPublic,
        boolean disabled,
        String description,
        Map<String, String> extraSpecs,
        Instant createdAt) {
    public Flavor {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        extraSpecs = Map.copyOf(extraSpecs);
    }

    public Flavor withExtraSpecs(Map<String, String> specs) {
        return new Flavor(id, name, vcpus, ramMb, diskGb, ephemeralGb, swapMb, rxtxFactor, isPublic, disabled, description, specs, createdAt);
    }
}
