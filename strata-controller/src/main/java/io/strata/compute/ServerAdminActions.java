package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.api.RequestBody;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.time.Clock;
import java.util.Set;

/**
 * Server actions from Nova's admin toolbox: lock / unlock (a locked server refuses other actions
 * from non-admins with 409), os-resetState (admins force ACTIVE or ERROR and clear the task), and
 * the deferred-delete actions forceDelete (a delete in any state) / restore (never applies).
 * They register themselves with the servers API.
 */
public final class ServerAdminActions {
    private final ServerService servers;
    private final ServerStore store;
    private final Clock clock;

    public ServerAdminActions(ServerService servers, ServerStore store, Policy policy, Clock clock, ServersApi serversApi) {
        this.servers = requireNonNull(servers, "servers is null");
        this.store = requireNonNull(store, "store is null");
        requireNonNull(policy, "policy is null");
        this.clock = requireNonNull(clock, "clock is null");
        serversApi.registerAction("lock", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-lock-server:lock");
            setLocked(auth, id, true);
            ctx.status(202);
        });
        serversApi.registerAction("unlock", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-lock-server:unlock");
            setLocked(auth, id, false);
            ctx.status(202);
        });
        // forceDelete deletes in any state, as Nova's does (see ServerService#forceDelete).
        serversApi.registerAction("forceDelete", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-deferred-delete:force");
            servers.forceDelete(auth, id);
            ctx.status(202);
        });
        // Deletes are immediate here (Nova with reclaim_instance_interval = 0): no server is ever
        // SOFT_DELETED, so restore finds none in that state, as Nova would answer.
        serversApi.registerAction("restore", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-deferred-delete:restore");
            Server server = servers.get(auth, id);
            throw CloudException.conflict("Cannot 'restore' instance %s while it is in vm_state %s", server.id(),
                    server.vmState().wireName());
        });
        serversApi.registerAction("os-resetState", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-admin-actions:reset_state");
            RequestBody.onlyKeys(body, Set.of("state"), "os-resetState");
            resetState(auth, id, RequestBody.requiredString(body, "state", 1, 16));
            ctx.status(202);
        });
    }

    private void setLocked(AuthContext auth, String id, boolean locked) {
        store.setLocked(servers.get(auth, id).id(), locked, clock.instant());
    }

    private void resetState(AuthContext auth, String id, String state) {
        VmState vmState = switch (state) {
            case "active" -> VmState.ACTIVE;
            case "error" -> VmState.ERROR;
            default -> throw CloudException.badRequest("Invalid input for field/attribute state. Value: %s. '%s' is not one of "
                    + "['active', 'error']", state, state);
        };
        store.resetState(servers.get(auth, id).id(), vmState, clock.instant());
    }
}
