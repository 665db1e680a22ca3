package io.strata.identity;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The service catalog: every API this process serves, at URLs under its public base URL. It is
 * derived from configuration rather than stored, so it can never point at a stale address; ids
 * are stable hashes of the service type so they survive restarts.
 */
public final class Catalog {
    public static final List<String> INTERFACES = List.of("public", "internal", "admin");

    private final String baseUrl;
    private final String region;
    private final List<Service> services;

    /** One service; {@code path} is appended to the base URL and may contain {@code %(project_id)s}. */
    public record Service(String type, String name, String path) {
        public String id() {
            return stableId("service:" + type);
        }
    }

    /** One endpoint as Keystone lists it. */
    public record Endpoint(String id, String serviceId, String serviceType, String interfaceName, String region, String url) {}

    public Catalog(String baseUrl, String region, List<Service> services) {
        this.baseUrl = stripTrailingSlash(requireNonNull(baseUrl, "baseUrl is null"));
        this.region = requireNonNull(region, "region is null");
        this.services = List.copyOf(services);
    }

    public static Catalog standard(String baseUrl, String region) {
        return new Catalog(baseUrl, region, List.of(
                new Service("identity", "keystone", "/identity"),
                new Service("compute", "nova", "/compute/v2.1"),
                new Service("image", "glance", "/image")));
    }

    public Catalog withService(Service service) {
        List<Service> all = new ArrayList<>(services);
        all.add(service);
        return new Catalog(baseUrl, region, all);
    }

    public String baseUrl() {
        return baseUrl;
    }

    public String region() {
        return region;
    }

    public List<Service> services() {
        return services;
    }

    /** The endpoint URL of a service for a project (project may be null for unscoped use). */
    public String url(Service service, String projectId) {
        String url = baseUrl + service.path();
        return projectId == null ? url : url.replace("%(project_id)s", projectId).replace("$(project_id)s", projectId);
    }

    public List<Endpoint> endpoints(Service service, String projectId) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (String interfaceName : INTERFACES) {
            endpoints.add(new Endpoint(stableId("endpoint:" + service.type() + ":" + interfaceName), service.id(), service.type(),
                    interfaceName, region, url(service, projectId)));
        }
        return endpoints;
    }

    public List<Endpoint> allEndpoints() {
        List<Endpoint> all = new ArrayList<>();
        for (Service service : services) {
            // Keystone lists endpoint templates with the project placeholder unexpanded.
            all.addAll(endpoints(service, null));
        }
        return all;
    }

    public String regionId() {
        return region;
    }

    private static String stableId(String seed) {
        return UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8)).toString().replace("-", "");
    }

    private static String stripTrailingSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
