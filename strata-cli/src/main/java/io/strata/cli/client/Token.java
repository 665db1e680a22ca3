package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;

/** A token the cloud issued: its id, and the token body saying what it is for, with the catalog read from it. */
public record Token(String id, JsonNode body, ServiceCatalog catalog) {
    public Token {
        requireNonNull(id, "id is null");
        requireNonNull(body, "body is null");
        requireNonNull(catalog, "catalog is null");
    }

    public String expiresAt() {
        return body.path("expires_at").asText(null);
    }

    public String userId() {
        return body.at("/user/id").asText(null);
    }

    public String projectId() {
        return body.at("/project/id").asText(null);
    }

    public String domainId() {
        return body.at("/domain/id").asText(null);
    }
}
