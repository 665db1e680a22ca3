package io.strata.api;

import io.javalin.config.RoutesConfig;
import java.util.Set;

/** One API (identity, compute, image…): its routes, and which of them need no token. */
public interface ApiArea {
    void addRoutes(RoutesConfig routes);

    /** "METHOD /exact/path" entries reachable without a token (version documents, token issue). */
    default Set<String> publicRoutes() {
        return Set.of();
    }
}
