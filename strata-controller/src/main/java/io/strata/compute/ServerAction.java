package io.strata.compute;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.strata.identity.AuthContext;

/**
 * One server action of {@code POST /servers/{id}/action}, named by the key of its body
 * ("os-stop", "createImage", "co_bless"…). Extensions register theirs with the servers API.
 */
@FunctionalInterface
public interface ServerAction {
    /**
     * @param body the value under the action's key (an empty object when it was null)
     */
    void handle(Context ctx, AuthContext auth, String serverId, ObjectNode body);
}
