package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.micrometer.core.instrument.MeterRegistry;
import io.strata.agent.remote.AgentWire;
import io.strata.api.ApiArea;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's endpoints for agents on other hosts ({@code /internal/agents}): register,
 * heartbeat, VM events, and the image files VMs boot from. No Keystone token here: agents prove
 * themselves with the cloud's shared agent token instead.
 */
public final class AgentLinkApi implements ApiArea {
    private static final Logger log = LoggerFactory.getLogger(AgentLinkApi.class);
    private static final String PREFIX = AgentWire.CONTROLLER_PREFIX;

    private final HostRegistry hosts;
    private final ComputeManager manager;
    private final ImageCatalog images;
    private final byte[] token;
    private final Function<String, AgentWire.HeartbeatReply> groupManagerOf;
    private final MeterRegistry metrics;

    /**
     * {@code groupManagerOf}: for a host, the group manager it heartbeats (see {@link AgentWire.HeartbeatReply});
     * {@code metrics} counts the heartbeats this controller received per host.
     */
    public AgentLinkApi(HostRegistry hosts, ComputeManager manager, ImageCatalog images, String token,
            Function<String, AgentWire.HeartbeatReply> groupManagerOf, MeterRegistry metrics) {
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.manager = requireNonNull(manager, "manager is null");
        this.images = requireNonNull(images, "images is null");
        this.token = requireNonNull(token, "token is null").getBytes(StandardCharsets.UTF_8);
        this.groupManagerOf = requireNonNull(groupManagerOf, "groupManagerOf is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    @Override
    public Set<String> publicRoutes() {
        return Set.of("POST " + PREFIX + "/*", "GET " + PREFIX + "/*");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        routes.post(PREFIX + "/register", ctx -> {
            authenticate(ctx);
            AgentWire.Registration registration = read(ctx, AgentWire.Registration.class);
            if (registration.host() == null || registration.agentUrl() == null
                    || !registration.host().hostname().equals(registration.hostName())) {
                throw CloudException.badRequest("a registration needs hostName, agentUrl and host (describing the same host)");
            }
            Host host = hosts.registerRemote(registration.host(), registration.agentUrl());
            log.info("host {} registered from {}", host.name(), registration.agentUrl());
            // Make the store and the host agree (VMs evacuated while it was away are removed there).
            Thread.ofVirtual().name("reconcile-" + host.name()).start(() -> manager.reconcile(hosts.agent(host.name())));
            ctx.status(204);
        });
        routes.post(PREFIX + "/heartbeat", ctx -> {
            authenticate(ctx);
            AgentWire.Heartbeat heartbeat = read(ctx, AgentWire.Heartbeat.class);
            if (heartbeat.hostName() == null || !hosts.heartbeat(heartbeat.hostName())) {
                throw CloudException.notFound("Compute host %s is not registered.", heartbeat.hostName());
            }
            metrics.counter("strata.agent.heartbeats", "host", heartbeat.hostName()).increment();
            // Accepted wherever it lands (the controllers share one store), but the answer tells
            // the agent which group manager to heartbeat from now on.
            ctx.contentType("application/json").result(AgentWire.MAPPER.writeValueAsBytes(groupManagerOf.apply(heartbeat.hostName())));
        });
        routes.post(PREFIX + "/events", ctx -> {
            authenticate(ctx);
            AgentWire.Event event = read(ctx, AgentWire.Event.class);
            if (event.hostName() == null || event.event() == null) {
                throw CloudException.badRequest("an event needs hostName and event");
            }
            manager.onVmEvent(event.hostName(), event.event());
            ctx.status(204);
        });
        // The live images of this process's own hosts, for remote agents that start clones of them
        // (their agents serve the same routes for the images they blessed themselves).
        routes.get(PREFIX + "/hosts/{host}/live-images/{id}/files", ctx -> {
            authenticate(ctx);
            ctx.contentType("application/json").result(AgentWire.MAPPER.writeValueAsBytes(
                    exportOf(ctx.pathParam("host")).list(ctx.pathParam("id"))));
        });
        routes.get(PREFIX + "/hosts/{host}/live-images/{id}/files/{name}", ctx -> {
            authenticate(ctx);
            Path file = exportOf(ctx.pathParam("host")).file(ctx.pathParam("id"), ctx.pathParam("name"));
            ctx.header("Content-Length", Long.toString(Files.size(file)));
            ctx.contentType("application/octet-stream").result(Files.newInputStream(file));
        });
        // Powered-off VMs' disks of this process's own hosts, for remote agents a cold move goes to.
        routes.get(PREFIX + "/hosts/{host}/vms/{id}/cold-disk/file", ctx -> {
            authenticate(ctx);
            Path file = localHost(ctx.pathParam("host")).coldDiskFile(ctx.pathParam("id"));
            ctx.header("Content-Length", Long.toString(Files.size(file)));
            ctx.contentType("application/octet-stream").result(Files.newInputStream(file));
        });
        routes.get(PREFIX + "/image/{id}", ctx -> {
            authenticate(ctx);
            Path file = images.file(ctx.pathParam("id"));
            ctx.header("Content-Length", Long.toString(Files.size(file)));
            ctx.contentType("application/octet-stream").result(Files.newInputStream(file));
        });
    }

    private io.strata.agent.liveimage.LiveImageExport exportOf(String host) {
        return localHost(host).liveImageExport();
    }

    private io.strata.agent.LocalController localHost(String host) {
        return hosts.findAgent(host)
                .filter(io.strata.agent.LocalController.class::isInstance)
                .map(io.strata.agent.LocalController.class::cast)
                .orElseThrow(() -> CloudException.notFound("Compute host %s does not run in this controller.", host));
    }

    private void authenticate(Context ctx) {
        String given = ctx.header(AgentWire.TOKEN_HEADER);
        if (given == null || !MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8))) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, "missing or wrong " + AgentWire.TOKEN_HEADER);
        }
    }

    private static <T> T read(Context ctx, Class<T> type) {
        try {
            return AgentWire.MAPPER.readValue(ctx.bodyAsBytes(), type);
        } catch (IOException e) {
            throw CloudException.badRequest("Malformed request body: %s", e.getMessage());
        }
    }
}
