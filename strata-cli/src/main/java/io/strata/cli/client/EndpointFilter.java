package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

/** Which catalog endpoint to use: OS_INTERFACE (public, internal, admin) and OS_REGION_NAME (any if null). */
public record EndpointFilter(String interfaceName, String region) {
    public EndpointFilter {
        requireNonNull(interfaceName, "interfaceName is null");
        // keystoneauth accepts the Identity v2 spellings too.
        interfaceName = interfaceName.endsWith("URL") ? interfaceName.substring(0, interfaceName.length() - 3) : interfaceName;
    }

    public static EndpointFilter publicAnyRegion() {
        return new EndpointFilter("public", null);
    }
}
