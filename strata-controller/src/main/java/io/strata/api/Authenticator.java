package io.strata.api;

import io.strata.identity.AuthContext;

/** Turns the X-Auth-Token of a request into who is calling, or throws a 401 CloudException. */
@FunctionalInterface
public interface Authenticator {
    AuthContext authenticate(String token);
}
