package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import io.strata.migration.provider.MigrationProvider;
import io.strata.migration.provider.ProviderException;
import io.strata.migration.provider.ProviderRegistry;
import io.strata.migration.provider.Schemas;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Endpoints and the secrets that hold their connection info. Connection info given inline is
 * sealed into a secret owned by the endpoint (deleted with it); a {@code secret_ref} points at a
 * secret stored beforehand, which the endpoint only uses. Neither is ever shown in clear.
 */
public final class EndpointService {
    private static final String OWNED_PREFIX = "endpoint:";

    private final MigrationStore store;
    private final SecretBox box;
    private final ProviderRegistry providers;
    private final Clock clock;

    public EndpointService(MigrationStore store, SecretBox box, ProviderRegistry providers, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.box = requireNonNull(box, "box is null");
        this.providers = requireNonNull(providers, "providers is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** A stored secret's reference and name. */
    public record SecretRef(String id, String name) {}

    public SecretRef createSecret(String projectId, String name, JsonNode payload) {
        String id = UUID.randomUUID().toString();
        seal(id, projectId, name, payload);
        return new SecretRef(id, name);
    }

    public void deleteSecret(String projectId, String id) {
        MigrationStore.SealedSecret secret = store.findSecret(id).filter(s -> s.projectId().equals(projectId))
                .orElseThrow(() -> CloudException.notFound("Secret %s could not be found", id));
        boolean used = store.list(Kind.ENDPOINT, null, Endpoint.class).stream().anyMatch(e -> e.secretId().equals(secret.id()));
        if (used) {
            throw CloudException.conflict("Secret %s is used by an endpoint", id);
        }
        store.deleteSecret(id);
    }

    private void seal(String id, String projectId, String name, JsonNode payload) {
        SecretBox.Sealed sealed = box.seal(id, payload.toString());
        store.insertSecret(new MigrationStore.SealedSecret(id, projectId, name, sealed.nonce(), sealed.ciphertext()));
    }

    public Endpoint create(String projectId, String name, String type, String description, JsonNode connectionInfo, List<String> regions) {
        if (!providers.has(type)) {
            throw CloudException.badRequest("Unknown endpoint type '%s'; available providers: %s", type, String.join(", ", providers.platforms()));
        }
        MigrationProvider provider = providers.get(type);
        String id = UUID.randomUUID().toString();
        String secretId = secretFor(projectId, id, provider, connectionInfo);
        Instant now = clock.instant();
        Endpoint endpoint = new Endpoint(id, projectId, name, type, description, secretId, checkRegions(regions), now, now);
        store.insert(Kind.ENDPOINT, endpoint);
        return endpoint;
    }

    /** The secret holding {@code connectionInfo}: a referenced one, or a new one owned by the endpoint. */
    private String secretFor(String projectId, String endpointId, MigrationProvider provider, JsonNode connectionInfo) {
        if (connectionInfo.has("secret_ref")) {
            String ref = connectionInfo.get("secret_ref").asText();
            MigrationStore.SealedSecret secret = store.findSecret(ref).filter(s -> s.projectId().equals(projectId))
                    .orElseThrow(() -> CloudException.badRequest("Secret %s referenced by connection_info could not be found", ref));
            checkSchema(provider, open(secret));
            return secret.id();
        }
        checkSchema(provider, connectionInfo);
        String secretId = UUID.randomUUID().toString();
        seal(secretId, projectId, OWNED_PREFIX + endpointId, connectionInfo);
        return secretId;
    }

    private static void checkSchema(MigrationProvider provider, JsonNode connectionInfo) {
        List<String> problems = Schemas.validate(connectionInfo, provider.connectionInfoSchema(), "connection_info");
        if (!problems.isEmpty()) {
            throw CloudException.badRequest("Invalid connection info for %s: %s", provider.platform(), String.join("; ", problems));
        }
    }

    private List<String> checkRegions(List<String> regions) {
        if (regions == null) {
            return List.of();
        }
        for (String region : regions) {
            if (store.find(Kind.REGION, region, Region.class).isEmpty()) {
                throw CloudException.badRequest("Region %s could not be found", region);
            }
        }
        return List.copyOf(regions);
    }

    public Endpoint get(String projectId, String id) {
        return store.find(Kind.ENDPOINT, id, Endpoint.class).filter(e -> e.projectId().equals(projectId))
                .orElseThrow(() -> CloudException.notFound("Endpoint with ID '%s' not found.", id));
    }

    public List<Endpoint> list(String projectId) {
        return store.list(Kind.ENDPOINT, projectId, Endpoint.class);
    }

    public Endpoint update(String projectId, String id, String name, String description, JsonNode connectionInfo, List<String> regions) {
        Endpoint endpoint = get(projectId, id);
        String secretId = endpoint.secretId();
        String oldOwned = null;
        if (connectionInfo != null) {
            secretId = secretFor(projectId, id, providers.get(endpoint.type()), connectionInfo);
            oldOwned = ownedSecret(endpoint);
        }
        String newSecret = secretId;
        List<String> newRegions = regions == null ? endpoint.mappedRegions() : checkRegions(regions);
        Endpoint updated = store.update(Kind.ENDPOINT, id, Endpoint.class, e -> e.with(name == null ? e.name() : name,
                description == null ? e.description() : description, newSecret, newRegions, clock.instant()))
                .orElseThrow(() -> CloudException.notFound("Endpoint with ID '%s' not found.", id));
        if (oldOwned != null && !oldOwned.equals(newSecret)) {
            store.deleteSecret(oldOwned);
        }
        return updated;
    }

    public void delete(String projectId, String id) {
        Endpoint endpoint = get(projectId, id);
        boolean used = store.list(Kind.TRANSFER, null, Transfer.class).stream()
                .anyMatch(t -> t.originEndpointId().equals(id) || t.destinationEndpointId().equals(id));
        if (used) {
            throw CloudException.conflict("Endpoint %s is in use by replicas or migrations; delete them first", id);
        }
        store.delete(Kind.ENDPOINT, id);
        String owned = ownedSecret(endpoint);
        if (owned != null) {
            store.deleteSecret(owned);
        }
    }

    private String ownedSecret(Endpoint endpoint) {
        return store.findSecret(endpoint.secretId()).filter(s -> (OWNED_PREFIX + endpoint.id()).equals(s.name()))
                .map(MigrationStore.SealedSecret::id).orElse(null);
    }

    /** The endpoint's connection info in clear, for providers only. */
    public JsonNode connection(Endpoint endpoint) {
        MigrationStore.SealedSecret secret = store.findSecret(endpoint.secretId())
                .orElseThrow(() -> new CloudException(io.strata.core.ErrorCode.CONFLICT,
                        "The secret of endpoint " + endpoint.id() + " has been deleted"));
        return open(secret);
    }

    private JsonNode open(MigrationStore.SealedSecret secret) {
        String clear = box.open(secret.id(), new SecretBox.Sealed(secret.nonce(), secret.ciphertext()));
        try {
            return MigrationStore.MAPPER.readTree(clear);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("secret " + secret.id() + " does not hold JSON", e);
        }
    }

    public MigrationProvider provider(Endpoint endpoint) {
        return providers.get(endpoint.type());
    }

    /** Coriolis' validate-connection result. */
    public record Validation(boolean valid, String message) {}

    public Validation validate(String projectId, String id) {
        Endpoint endpoint = get(projectId, id);
        try {
            provider(endpoint).validateConnection(connection(endpoint));
            return new Validation(true, "");
        } catch (ProviderException e) {
            return new Validation(false, e.getMessage());
        }
    }

    /** Runs a listing against the endpoint; a provider failure is a 400 in the user's terms. */
    public <T> T query(String projectId, String id, java.util.function.BiFunction<MigrationProvider, JsonNode, T> call) {
        Endpoint endpoint = get(projectId, id);
        try {
            return call.apply(provider(endpoint), connection(endpoint));
        } catch (ProviderException e) {
            throw CloudException.badRequest("%s", e.getMessage());
        }
    }

    /** Checks an environment against one of the endpoint's provider schemas. */
    public void checkEnvironment(Endpoint endpoint, ObjectNode environment, boolean destination) {
        MigrationProvider provider = provider(endpoint);
        ObjectNode schema = destination ? provider.destinationEnvironmentSchema() : provider.sourceEnvironmentSchema();
        List<String> problems = Schemas.validate(environment, schema, destination ? "destination_environment" : "source_environment");
        if (!problems.isEmpty()) {
            throw CloudException.badRequest("%s", String.join("; ", problems));
        }
    }
}
