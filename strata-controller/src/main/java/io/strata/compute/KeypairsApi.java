package io.strata.compute;

import static io.strata.api.RequestBody.member;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.HashSet;
import java.util.Set;

/** Nova's os-keypairs: per-user keypairs, generated or imported. */
public final class KeypairsApi implements ApiArea {
    private final KeypairService keypairs;
    private final Policy policy;
    private final QuotaService quotas;

    public KeypairsApi(KeypairService keypairs, Policy policy, QuotaService quotas) {
        this.keypairs = requireNonNull(keypairs, "keypairs is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/os-keypairs", ctx -> {
                String user = userOf(ctx, ctx.queryParam("user_id"));
                ApiVersion v = ComputeRoutes.version(ctx);
                ObjectNode body = Json.object();
                ArrayNode items = body.putArray("keypairs");
                for (Keypair k : keypairs.list(user)) {
                    ObjectNode item = items.addObject().putObject("keypair");
                    item.put("name", k.name());
                    item.put("public_key", k.publicKey());
                    item.put("fingerprint", k.fingerprint());
                    if (v.atLeast(2, 2)) {
                        item.put("type", k.type());
                    }
                }
                ctx.json(body);
            });
            r.post(p + "/os-keypairs", this::create);
            r.get(p + "/os-keypairs/{name}", ctx -> {
                Keypair k = keypairs.get(userOf(ctx, ctx.queryParam("user_id")), ctx.pathParam("name"));
                ObjectNode item = Json.object();
                item.put("name", k.name());
                item.put("public_key", k.publicKey());
                item.put("fingerprint", k.fingerprint());
                item.put("user_id", k.userId());
                item.put("deleted", false);
                item.put("created_at", Json.isoMicrosNoZone(k.createdAt()));
                item.putNull("updated_at");
                item.putNull("deleted_at");
                item.put("id", k.id());
                if (ComputeRoutes.version(ctx).atLeast(2, 2)) {
                    item.put("type", k.type());
                }
                ctx.json(Json.object().set("keypair", item));
            });
            r.delete(p + "/os-keypairs/{name}", ctx -> {
                keypairs.delete(userOf(ctx, ctx.queryParam("user_id")), ctx.pathParam("name"));
                ctx.status(ComputeRoutes.version(ctx).atLeast(2, 2) ? 204 : 202);
            });
        });
    }

    private void create(Context ctx) {
        ApiVersion v = ComputeRoutes.version(ctx);
        ObjectNode k = member(RequestBody.parse(ctx), "keypair");
        Set<String> allowed = new HashSet<>(Set.of("name", "public_key"));
        if (v.atLeast(2, 2)) {
            allowed.add("type");
        }
        if (v.atLeast(2, 10)) {
            allowed.add("user_id");
        }
        RequestBody.onlyKeys(k, allowed, "keypair");
        String name = RequestBody.requiredString(k, "name", 1, 255);
        String type = RequestBody.optionalString(k, "type", 1, 10);
        if (type == null) {
            type = "ssh";
        }
        if (!type.equals("ssh") && !type.equals("x509")) {
            throw CloudException.badRequest("Invalid input for field/attribute type. Value: %s. '%s' is not one of ['ssh', 'x509']", type, type);
        }
        String user = userOf(ctx, RequestBody.optionalString(k, "user_id", 1, 255));
        // The key_pairs quota of the caller's project applies to each of its users.
        long limit = quotas.limits(Requests.auth(ctx).projectId()).get(QuotaResource.KEY_PAIRS);
        KeypairService.Created created = keypairs.create(user, limit, name, type, RequestBody.optionalString(k, "public_key", 1, 65535));
        ObjectNode item = Json.object();
        Keypair keypair = created.keypair();
        item.put("name", keypair.name());
        item.put("public_key", keypair.publicKey());
        item.put("fingerprint", keypair.fingerprint());
        item.put("user_id", keypair.userId());
        if (created.privateKey() != null) {
            item.put("private_key", created.privateKey());
        }
        if (v.atLeast(2, 2)) {
            item.put("type", keypair.type());
        }
        ctx.status(v.atLeast(2, 2) ? 201 : 200).json(Json.object().set("keypair", item));
    }

    /** The caller's own keypairs, or (admins, from 2.10) another user's. */
    private String userOf(Context ctx, String requestedUser) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:os-keypairs");
        if (requestedUser == null || requestedUser.equals(auth.userId())) {
            return auth.userId();
        }
        if (!ComputeRoutes.version(ctx).atLeast(2, 10)) {
            return auth.userId();
        }
        policy.enforce(auth, "os_compute_api:os-keypairs:other_user");
        return requestedUser;
    }
}
