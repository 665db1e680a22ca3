package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The service catalog that came with a token: services by type, each with its endpoints. */
public record ServiceCatalog(List<Service> services) {
    public record Service(String type, String name, List<Endpoint> endpoints) {}

    public record Endpoint(String id, String interfaceName, String region, String url) {}

    public ServiceCatalog {
        services = List.copyOf(requireNonNull(services, "services is null"));
    }

    /** Reads {@code token.catalog} of an Identity v3 token body. */
    public static ServiceCatalog fromToken(JsonNode token) {
        List<Service> services = new ArrayList<>();
        for (JsonNode service : token.path("catalog")) {
            List<Endpoint> endpoints = new ArrayList<>();
            for (JsonNode endpoint : service.path("endpoints")) {
                String region = endpoint.hasNonNull("region_id") ? endpoint.path("region_id").asText()
                        : endpoint.path("region").asText(null);
                endpoints.add(new Endpoint(endpoint.path("id").asText(null), endpoint.path("interface").asText(), region,
                        endpoint.path("url").asText()));
            }
            services.add(new Service(service.path("type").asText(), service.path("name").asText(""), endpoints));
        }
        return new ServiceCatalog(services);
    }

    /** The URL of the first endpoint of this service type matching the filter, as keystoneauth picks it. */
    public Optional<String> url(String type, EndpointFilter filter) {
        for (Service service : services) {
            if (!service.type().equals(type)) {
                continue;
            }
            for (Endpoint endpoint : service.endpoints()) {
                if (endpoint.interfaceName().equals(filter.interfaceName())
                        && (filter.region() == null || filter.region().equals(endpoint.region()))) {
                    return Optional.of(endpoint.url());
                }
            }
        }
        return Optional.empty();
    }
}
