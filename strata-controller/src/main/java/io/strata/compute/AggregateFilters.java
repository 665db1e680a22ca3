package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Nova's two aggregate filters in one pass over the aggregates:
 * <ul>
 * <li>AggregateInstanceExtraSpecsFilter: each flavor extra spec scoped {@code aggregate_instance_extra_specs:}
 * (or not scoped at all) must match the metadata of one of the host's aggregates; other scopes
 * ({@code hw:}, {@code quota:} …) are for other parts and ignored.</li>
 * <li>AggregateMultiTenancyIsolation: a host in an aggregate with {@code filter_tenant_id*} metadata
 * (comma-separated project ids) takes only those projects' servers.</li>
 * </ul>
 */
public final class AggregateFilters implements HostFilter {
    static final String SCOPE = "aggregate_instance_extra_specs";
    static final String TENANT_KEY = "filter_tenant_id";

    private final AggregateService aggregates;

    public AggregateFilters(AggregateService aggregates) {
        this.aggregates = requireNonNull(aggregates, "aggregates is null");
    }

    @Override
    public Choice forRequest(Scheduler.Request request) {
        Map<String, Map<String, Set<String>>> byHost = aggregates.metadataByHost();
        Map<String, String> specs = request.flavor().extraSpecs();
        return host -> {
            Map<String, Set<String>> metadata = byHost.getOrDefault(host.name(), Map.of());
            return tenantAllowed(metadata, request.projectId()) && extraSpecsMatch(metadata, specs);
        };
    }

    static boolean tenantAllowed(Map<String, Set<String>> metadata, String projectId) {
        boolean isolated = false;
        for (Map.Entry<String, Set<String>> entry : metadata.entrySet()) {
            if (!entry.getKey().startsWith(TENANT_KEY)) {
                continue;
            }
            isolated = true;
            for (String value : entry.getValue()) {
                if (projectId != null && Arrays.stream(value.split(",")).map(String::strip).anyMatch(projectId::equals)) {
                    return true;
                }
            }
        }
        return !isolated;
    }

    static boolean extraSpecsMatch(Map<String, Set<String>> metadata, Map<String, String> specs) {
        for (Map.Entry<String, String> spec : specs.entrySet()) {
            String key = spec.getKey();
            int colon = key.indexOf(':');
            if (colon >= 0) {
                if (!key.substring(0, colon).equals(SCOPE)) {
                    continue;
                }
                key = key.substring(colon + 1);
            }
            Set<String> values = metadata.get(key);
            if (values == null || values.stream().noneMatch(value -> matches(value, spec.getValue()))) {
                return false;
            }
        }
        return true;
    }

    /** Nova's extra_specs_ops, the string forms: plain equality, {@code s==}, {@code s!=}, {@code <in>}, {@code <or>}. */
    static boolean matches(String value, String requirement) {
        String req = requirement.strip();
        if (req.startsWith("<or>")) {
            List<String> options = Arrays.stream(req.split("<or>")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            return options.contains(value.strip());
        }
        if (req.startsWith("<in>")) {
            return value.contains(req.substring(4).strip());
        }
        if (req.startsWith("s==")) {
            return value.equals(req.substring(3).strip());
        }
        if (req.startsWith("s!=")) {
            return !value.equals(req.substring(3).strip());
        }
        return value.strip().equals(req);
    }
}
