package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's createBackup server action: a snapshot image marked {@code image_type=backup} with its
 * {@code backup_type}; once it is uploaded, the server's backups of that type beyond
 * {@code rotation} are deleted, oldest first. Rotation 0 only deletes them.
 */
public final class ServerBackups {
    private static final Logger log = LoggerFactory.getLogger(ServerBackups.class);

    private final ServerService servers;
    private final ImageCatalog images;

    public ServerBackups(ServerService servers, ImageCatalog images, Policy policy, ServersApi serversApi) {
        this.servers = requireNonNull(servers, "servers is null");
        this.images = requireNonNull(images, "images is null");
        requireNonNull(policy, "policy is null");
        serversApi.registerAction("createBackup", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-create-backup");
            RequestBody.onlyKeys(body, Set.of("name", "backup_type", "rotation", "metadata"), "createBackup");
            String name = RequestBody.requiredString(body, "name", 0, 255);
            String type = RequestBody.requiredString(body, "backup_type", 0, 255);
            int rotation = rotation(body);
            Map<String, String> metadata = RequestBody.stringMap(body, "metadata", 255, 255);
            backup(ctx, auth, id, name, type, rotation, metadata == null ? Map.of() : metadata);
        });
    }

    private void backup(Context ctx, AuthContext auth, String id, String name, String type, int rotation, Map<String, String> metadata) {
        Server server = servers.get(auth, id);
        if (rotation == 0) {
            rotate(auth, server.id(), type, 0);
            ctx.status(202);
            return;
        }
        Map<String, String> properties = new HashMap<>(metadata);
        properties.put("image_type", "backup");
        properties.put("backup_type", type);
        String imageId = servers.createImage(auth, server.id(), name, properties, () -> rotate(auth, server.id(), type, rotation));
        if (ComputeRoutes.version(ctx).atLeast(2, 45)) {
            ctx.status(202).json(Json.object().put("image_id", imageId));
        } else {
            ctx.header("Location", Requests.baseUrl(ctx) + "/image/v2/images/" + imageId);
            ctx.status(202);
        }
    }

    /**
     * Keeps the newest {@code keep} backups of a type. Failures are logged, never thrown: the new
     * backup is good, and what could not be deleted goes at the next rotation.
     */
    private void rotate(AuthContext auth, String serverId, String type, int keep) {
        try {
            List<String> backups = images.backups(auth, serverId, type);
            for (String old : backups.subList(Math.min(keep, backups.size()), backups.size())) {
                images.delete(auth, old);
                log.info("rotated out {} backup {} of server {}", type, old, serverId);
            }
        } catch (RuntimeException e) {
            log.warn("could not rotate the {} backups of server {}: {}", type, serverId, e.getMessage());
        }
    }

    /** Nova takes the rotation as an integer or a string of one, at least 0. */
    private static int rotation(com.fasterxml.jackson.databind.node.ObjectNode body) {
        var value = body.get("rotation");
        if (value == null || value.isNull()) {
            throw CloudException.badRequest("Invalid input for field/attribute createBackup. Value: %s. 'rotation' is a required property",
                    body);
        }
        String text = value.asText().strip();
        if (!(value.isIntegralNumber() || value.isTextual()) || !text.matches("\\d+")) {
            throw RequestBody.invalid("rotation", value, "is not of type 'integer', 'string' (at least 0)");
        }
        return Integer.parseInt(text);
    }
}
