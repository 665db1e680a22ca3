package io.strata.agent.remote;

import static java.util.Objects.requireNonNull;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.agent.AgentApi;
import io.strata.agent.LocalController;
import io.strata.agent.liveimage.LiveImageExport;
import io.strata.hypervisor.VmAction;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@link AgentApi} of one host as HTTP routes under {@code /agent/v1}: one route per
 * method, bodies are the domain records in JSON. {@link RemoteAgent} is the client side.
 */
public final class AgentHttpApi {
    private final AgentApi agent;
    /** This host's live images for other hosts to copy; null where the agent offers none. */
    private final LiveImageExport export;
    /** This host's copies of other hosts' live images, for fetch progress; null without. */
    private final LocalController local;
    /** Where snapshots the controller fetches are written (see POST /vms/{id}/snapshot without a path). */
    private final Path snapshots;

    public AgentHttpApi(AgentApi agent, Path snapshots) {
        this(agent, null, null, snapshots);
    }

    public AgentHttpApi(AgentApi agent, LiveImageExport export, LocalController local, Path snapshots) {
        this.agent = requireNonNull(agent, "agent is null");
        this.export = export;
        this.local = local;
        this.snapshots = requireNonNull(snapshots, "snapshots is null");
    }

    public void addRoutes(RoutesConfig routes) {
        String p = AgentWire.AGENT_PREFIX;
        routes.get(p + "/host", ctx -> json(ctx, agent.describe()));
        routes.get(p + "/vms", ctx -> json(ctx, agent.discover()));
        routes.post(p + "/vms", ctx -> {
            AgentWire.SpawnRequest request = read(ctx, AgentWire.SpawnRequest.class);
            json(ctx, agent.spawn(request.spec(), request.images()));
        });
        routes.post(p + "/vms/{id}/shared-rebuild", ctx -> {
            AgentWire.SpawnRequest request = read(ctx, AgentWire.SpawnRequest.class);
            if (request.spec() == null || !ctx.pathParam("id").equals(request.spec().id())) {
                throw io.strata.core.CloudException.badRequest("the spec must describe VM %s", ctx.pathParam("id"));
            }
            json(ctx, agent.rebuildFromSharedDisk(request.spec(), request.images()));
        });
        routes.get(p + "/vms/{id}", ctx -> {
            Optional<?> vm = agent.find(ctx.pathParam("id"));
            if (vm.isEmpty()) {
                ctx.status(404);
                json(ctx, new AgentWire.Error("NOT_FOUND", "no VM " + ctx.pathParam("id") + " on this host"));
                return;
            }
            json(ctx, vm.get());
        });
        routes.delete(p + "/vms/{id}", ctx -> {
            agent.destroy(ctx.pathParam("id"));
            ctx.status(204);
        });
        routes.post(p + "/vms/{id}/action", ctx -> {
            String action = read(ctx, AgentWire.ActionRequest.class).action();
            json(ctx, agent.act(ctx.pathParam("id"), VmAction.valueOf(action.toUpperCase(Locale.ROOT))));
        });
        routes.get(p + "/vms/{id}/console", ctx -> {
            int lines = Integer.parseInt(Optional.ofNullable(ctx.queryParam("lines")).orElse("100"));
            ctx.contentType("text/plain; charset=utf-8").result(agent.consoleLog(ctx.pathParam("id"), lines));
        });
        routes.post(p + "/vms/{id}/snapshot", ctx -> {
            String path = read(ctx, AgentWire.SnapshotRequest.class).path();
            if (path != null) {
                json(ctx, new AgentWire.SnapshotResponse(agent.snapshotDisk(ctx.pathParam("id"), Path.of(path)), null));
                return;
            }
            // Written here, fetched by the controller, then deleted: no storage shared with it.
            String name = java.util.UUID.randomUUID() + ".img";
            java.nio.file.Files.createDirectories(snapshots);
            json(ctx, new AgentWire.SnapshotResponse(agent.snapshotDisk(ctx.pathParam("id"), snapshots.resolve(name)), name));
        });
        routes.get(p + "/snapshots/{name}", ctx -> {
            Path file = snapshotFile(ctx.pathParam("name"));
            ctx.contentType("application/octet-stream");
            ctx.header("Content-Length", Long.toString(java.nio.file.Files.size(file)));
            ctx.result(java.nio.file.Files.newInputStream(file));
        });
        routes.delete(p + "/snapshots/{name}", ctx -> {
            java.nio.file.Files.deleteIfExists(snapshotFile(ctx.pathParam("name")));
            ctx.status(204);
        });
        routes.post(p + "/vms/{id}/bless", ctx -> {
            json(ctx, agent.bless(ctx.pathParam("id"), read(ctx, AgentWire.BlessRequest.class).liveImageId()));
        });
        routes.post(p + "/launch", ctx -> {
            AgentWire.LaunchRequest request = read(ctx, AgentWire.LaunchRequest.class);
            json(ctx, agent.launch(request.image(), request.spec(), request.origin()));
        });
        if (export != null) {
            // Read by other hosts' agents that copy this host's live images (see LiveImageCache).
            routes.get(p + "/live-images/{id}/files", ctx -> json(ctx, export.list(ctx.pathParam("id"))));
            routes.get(p + "/live-images/{id}/files/{name}", ctx -> {
                Path file = export.file(ctx.pathParam("id"), ctx.pathParam("name"));
                // Streamed from the file: a RAM file of gigabytes never sits in this process's memory.
                ctx.contentType("application/octet-stream");
                ctx.header("Content-Length", Long.toString(java.nio.file.Files.size(file)));
                ctx.result(java.nio.file.Files.newInputStream(file));
            });
        }
        if (local != null) {
            // A powered-off VM's disk, for a cold migration or resize to a host without shared storage.
            routes.get(p + "/vms/{id}/cold-disk/file", ctx -> {
                Path file = local.coldDiskFile(ctx.pathParam("id"));
                ctx.contentType("application/octet-stream");
                ctx.header("Content-Length", Long.toString(java.nio.file.Files.size(file)));
                ctx.result(java.nio.file.Files.newInputStream(file));
            });
            routes.get(p + "/live-images/{id}/fetch", ctx -> {
                Optional<?> fetch = local.liveImageFetch(ctx.pathParam("id"));
                if (fetch.isEmpty()) {
                    ctx.status(404);
                    json(ctx, new AgentWire.Error("NOT_FOUND", "no fetch of live image " + ctx.pathParam("id") + " under way"));
                    return;
                }
                json(ctx, fetch.get());
            });
        }
        routes.delete(p + "/live-images/{id}", ctx -> {
            agent.discardLiveImage(ctx.pathParam("id"));
            ctx.status(204);
        });
        routes.get(p + "/vms/{id}/migration-source", ctx -> json(ctx, agent.migrationSource(ctx.pathParam("id"))));
        routes.post(p + "/incoming", ctx -> {
            AgentWire.IncomingRequest request = read(ctx, AgentWire.IncomingRequest.class);
            json(ctx, request.liveImageId() != null
                    ? agent.prepareIncomingClone(request.spec(), request.source(), request.liveImageId(), request.origin())
                    : agent.prepareIncoming(request.spec(), request.source(), request.images()));
        });
        routes.post(p + "/vms/{id}/migrate-out", ctx -> {
            agent.migrateOut(ctx.pathParam("id"), read(ctx, AgentWire.MigrateOut.class).target());
            ctx.status(204);
        });
        routes.post(p + "/vms/{id}/complete-incoming", ctx -> json(ctx, agent.completeIncoming(ctx.pathParam("id"))));
        routes.get(p + "/vms/{id}/diagnostics", ctx -> json(ctx, agent.diagnostics(ctx.pathParam("id"))));
        routes.get(p + "/vms/{id}/cold-disk", ctx -> json(ctx, agent.coldDisk(ctx.pathParam("id"))));
        routes.post(p + "/cold-incoming", ctx -> {
            AgentWire.CreateFromRequest request = read(ctx, AgentWire.CreateFromRequest.class);
            json(ctx, agent.createFrom(request.spec(), request.images(), request.disk(), request.start(), request.origin()));
        });
    }

    private Path snapshotFile(String name) {
        // The name came over the wire: only one this API made, never a path elsewhere.
        if (!name.matches("[0-9a-f-]{36}\\.img")) {
            throw new io.strata.hypervisor.HypervisorException(io.strata.core.ErrorCode.BAD_REQUEST, "not a snapshot name: " + name);
        }
        Path file = snapshots.resolve(name);
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new io.strata.hypervisor.HypervisorException(io.strata.core.ErrorCode.NOT_FOUND, "no snapshot " + name);
        }
        return file;
    }

    private static <T> T read(Context ctx, Class<T> type) throws java.io.IOException {
        return AgentWire.MAPPER.readValue(ctx.bodyAsBytes(), type);
    }

    private static void json(Context ctx, Object value) throws java.io.IOException {
        ctx.contentType("application/json").result(AgentWire.MAPPER.writeValueAsBytes(value));
    }
}
