package io.strata.migration.provider;

import io.strata.core.CloudException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The providers a worker offers, by platform name. */
public final class ProviderRegistry {
    private final Map<String, MigrationProvider> providers = new LinkedHashMap<>();

    public ProviderRegistry(List<MigrationProvider> providers) {
        providers.forEach(p -> this.providers.put(p.platform(), p));
    }

    public List<MigrationProvider> all() {
        return List.copyOf(providers.values());
    }

    public List<String> platforms() {
        return List.copyOf(providers.keySet());
    }

    /** The provider of a platform; 404 in the API when there is none. */
    public MigrationProvider get(String platform) {
        MigrationProvider provider = providers.get(platform);
        if (provider == null) {
            throw CloudException.notFound("Provider %s not found. Available providers: %s", platform, String.join(", ", providers.keySet()));
        }
        return provider;
    }

    public boolean has(String platform) {
        return providers.containsKey(platform);
    }
}
