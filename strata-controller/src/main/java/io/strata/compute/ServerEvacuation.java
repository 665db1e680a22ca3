package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.time.Clock;
import java.util.Set;

/**
 * Nova's evacuate: when a server's host is down (its agent stopped heartbeating, or an admin
 * forced its service down), the server is built again from its image on a host the scheduler
 * picks, or on the host the admin names (which must be up and enabled); when the failed host's
 * instance storage is shared with the destination, from its own disk there instead (Nova's
 * {@code onSharedStorage}, recognised from the hosts rather than taken from the request; see
 * {@link ComputeManager#evacuate}). The VM left on the failed host is removed when that host's agent comes back (the
 * reconciliation removes VMs no live server owns there).
 */
public final class ServerEvacuation {
    private static final Set<VmState> EVACUABLE = Set.of(VmState.ACTIVE, VmState.STOPPED, VmState.ERROR);

    private final ServerService servers;
    private final ServerStore store;
    private final HostRegistry hosts;
    private final ComputeManager manager;
    private final Clock clock;

    public ServerEvacuation(ServerService servers, ServerStore store, HostRegistry hosts, ComputeManager manager, Policy policy, Clock clock,
            ServersApi serversApi) {
        this.servers = requireNonNull(servers, "servers is null");
        this.store = requireNonNull(store, "store is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.manager = requireNonNull(manager, "manager is null");
        this.clock = requireNonNull(clock, "clock is null");
        requireNonNull(policy, "policy is null");
        serversApi.registerAction("evacuate", (ctx, auth, id, body) -> {
            policy.enforce(auth, "os_compute_api:os-evacuate");
            RequestBody.onlyKeys(body, Set.of("host", "adminPass", "onSharedStorage", "force"), "evacuate");
            String target = RequestBody.optionalString(body, "host", 1, 255);
            String adminPass = RequestBody.optionalString(body, "adminPass", 0, 255);
            evacuate(auth, id, target);
            if (ComputeRoutes.version(ctx).atLeast(2, 14)) {
                ctx.status(200);
            } else {
                ctx.status(200).json(Json.object().put("adminPass", adminPass == null ? ServerService.generatePassword() : adminPass));
            }
        });
    }

    private void evacuate(AuthContext auth, String id, String target) {
        Server server = servers.get(auth, id);
        if (server.host() == null) {
            throw CloudException.conflict("Cannot 'evacuate' instance %s while it is in vm_state %s", id, server.vmState().wireName());
        }
        Host host = hosts.refresh().stream().filter(h -> h.name().equals(server.host())).findFirst()
                .orElseThrow(() -> CloudException.notFound("Compute host %s could not be found.", server.host()));
        if (hosts.isUp(host)) {
            throw CloudException.badRequest("Compute service of %s is still in use.", host.name());
        }
        if (target != null) {
            // As Nova's API checks a named destination before anything moves.
            Host destination = hosts.find(target).orElseThrow(() -> CloudException.notFound("Compute host %s not found.", target));
            if (destination.name().equals(host.name())) {
                throw CloudException.badRequest("The target host can't be the same one.");
            }
            if (!hosts.isUp(destination)) {
                throw CloudException.badRequest("Compute service of %s is unavailable at this time.", target);
            }
            if (!destination.serviceEnabled()) {
                throw CloudException.badRequest("Compute service of %s is disabled.", target);
            }
        }
        if (!EVACUABLE.contains(server.vmState()) || server.taskState() != null
                || !store.beginEvacuate(id, host.name(), clock.instant())) {
            throw CloudException.conflict("Cannot 'evacuate' instance %s while it is in vm_state %s", id, server.vmState().wireName());
        }
        manager.evacuate(store.find(id).orElseThrow(), host.name(), target, auth.userId());
    }
}
