package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A conversation with one cloud, as keystoneauth's session gives the openstack client: a token
 * from Identity v3 (obtained at the first call that needs one), and service endpoints looked up
 * in the catalog that came with it.
 */
public final class Session {
    /** Compute microversion the CLI speaks: embedded flavors (2.47), key types, descriptions, tags. */
    public static final String COMPUTE_MICROVERSION = "2.47";

    private final Credentials credentials;
    private final HttpTransport transport;
    private Token token;

    public Session(Credentials credentials, HttpTransport transport) {
        this.credentials = requireNonNull(credentials, "credentials is null");
        this.transport = requireNonNull(transport, "transport is null");
    }

    public Token token() {
        if (token == null) {
            token = authenticate();
        }
        return token;
    }

    private Token authenticate() {
        String url = credentials.identityV3Url() + "/auth/tokens";
        byte[] body = Json.write(credentials.authRequest()).getBytes(StandardCharsets.UTF_8);
        Response response = transport.send("POST", url, Map.of("Content-Type", "application/json", "Accept", "application/json",
                "User-Agent", ServiceClient.USER_AGENT), body).orThrow();
        String id = response.header("X-Subject-Token");
        if (id == null) {
            throw new CliException("The cloud at " + url + " answered without an X-Subject-Token: is OS_AUTH_URL an Identity v3 endpoint?");
        }
        JsonNode issued = response.json().path("token");
        return new Token(id, issued, ServiceCatalog.fromToken(issued));
    }

    /** The versioned root URL of a service: the catalog's endpoint for our interface and region. */
    public String endpoint(String type) {
        String url = token().catalog().url(type, credentials.endpoints()).map(u -> u.replaceAll("/+$", "")).orElse(null);
        if (url == null && type.equals("identity")) {
            // An unscoped token has no catalog; Identity is where we logged in.
            return credentials.identityV3Url();
        }
        if (url == null) {
            EndpointFilter filter = credentials.endpoints();
            throw new CliException(filter.interfaceName() + " endpoint for " + type + " service"
                    + (filter.region() == null ? "" : " in " + filter.region() + " region") + " not found");
        }
        // Identity and Image are listed unversioned (devstack style); the CLI speaks v3 and v2.
        return switch (type) {
            case "identity" -> url.endsWith("/v3") ? url : url + "/v3";
            case "image" -> url.endsWith("/v2") ? url : url + "/v2";
            case "network" -> url.endsWith("/v2.0") ? url : url + "/v2.0";
            default -> url;
        };
    }

    public ServiceClient compute() {
        return new ServiceClient(this, "compute", Map.of("OpenStack-API-Version", "compute " + COMPUTE_MICROVERSION,
                "X-OpenStack-Nova-API-Version", COMPUTE_MICROVERSION));
    }

    public ServiceClient identity() {
        return new ServiceClient(this, "identity", Map.of());
    }

    /** The migration service (Coriolis' API); its catalog URL already names the project. */
    public ServiceClient migration() {
        return new ServiceClient(this, "migration", Map.of());
    }

    public ServiceClient image() {
        return new ServiceClient(this, "image", Map.of());
    }

    /** Networking (Neutron), listed unversioned like devstack's; the CLI speaks v2.0. */
    public ServiceClient network() {
        return new ServiceClient(this, "network", Map.of());
    }

    HttpTransport transport() {
        return transport;
    }
}
