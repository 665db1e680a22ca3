package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** How the user proves who they are: keystoneauth's {@code password} and {@code token} plugins. */
public sealed interface AuthMethod {
    /** Writes this method's part of {@code auth.identity}. */
    void writeTo(ObjectNode identity);

    /** A user name (within a domain) or user id, with a password. */
    record Password(String userName, String userId, DomainRef userDomain, String password) implements AuthMethod {
        public Password {
            if (userName == null && userId == null) {
                throw new IllegalArgumentException("a user name or id is needed");
            }
            requireNonNull(password, "password is null");
            if (userId == null) {
                requireNonNull(userDomain, "userDomain is null (a user name is only unique within a domain)");
            }
        }

        @Override
        public void writeTo(ObjectNode identity) {
            identity.putArray("methods").add("password");
            ObjectNode user = identity.putObject("password").putObject("user");
            if (userId != null) {
                user.put("id", userId);
            } else {
                user.put("name", userName);
                userDomain.writeTo(user);
            }
            user.put("password", password);
        }
    }

    /** An existing token, exchanged for a new (possibly differently scoped) one. */
    record Token(String token) implements AuthMethod {
        public Token {
            requireNonNull(token, "token is null");
        }

        @Override
        public void writeTo(ObjectNode identity) {
            identity.putArray("methods").add("token");
            identity.putObject("token").put("id", token);
        }
    }
}
