package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Everything needed to get a token, as keystoneauth reads it from OS_* variables or --os-*
 * options, and which endpoints to use from the catalog that comes back with it.
 */
public record Credentials(String authUrl, AuthMethod method, Scope scope, EndpointFilter endpoints) {
    public Credentials {
        requireNonNull(authUrl, "authUrl is null");
        requireNonNull(method, "method is null");
        requireNonNull(scope, "scope is null");
        requireNonNull(endpoints, "endpoints is null");
    }

    /** The body of {@code POST /v3/auth/tokens}. */
    public ObjectNode authRequest() {
        ObjectNode body = Json.object();
        ObjectNode auth = body.putObject("auth");
        method.writeTo(auth.putObject("identity"));
        scope.writeTo(auth);
        return body;
    }

    /** The Identity v3 root: OS_AUTH_URL may name the unversioned root, /v3 or the older /v2.0. */
    public String identityV3Url() {
        String url = authUrl.replaceAll("/+$", "");
        if (url.endsWith("/v3")) {
            return url;
        }
        if (url.endsWith("/v2.0")) {
            return url.substring(0, url.length() - "/v2.0".length()) + "/v3";
        }
        return url + "/v3";
    }
}
