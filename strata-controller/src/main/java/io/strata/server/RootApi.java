package io.strata.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.identity.Catalog;

/** {@code GET /}: which services this process serves and where, for humans and health probes. */
final class RootApi implements ApiArea {
    private final Catalog catalog;

    RootApi(Catalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        routes.get("/", ctx -> {
            ObjectNode body = Json.object();
            body.put("name", "Strata");
            ArrayNode services = body.putArray("services");
            for (Catalog.Service service : catalog.services()) {
                services.addObject().put("type", service.type()).put("name", service.name()).put("url", catalog.url(service, null));
            }
            ctx.json(body);
        });
    }
}
