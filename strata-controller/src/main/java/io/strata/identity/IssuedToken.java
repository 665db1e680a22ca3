package io.strata.identity;

/** A token handed to a client (the only time its clear text exists) and what it stands for. */
public record IssuedToken(String token, AuthContext auth) {}
