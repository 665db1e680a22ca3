package io.strata.agent.remote;

import static java.util.Objects.requireNonNull;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.strata.agent.LocalController;
import io.strata.agent.liveimage.LiveImageCache;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.fake.FakeHypervisor;
import io.strata.hypervisor.qemu.AccelMode;
import io.strata.hypervisor.qemu.QemuConfig;
import io.strata.hypervisor.qemu.QemuHypervisor;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code strata agent} process: the local controller of one hypervisor host, serving its
 * {@link io.strata.agent.AgentApi} over HTTP to the controllers and keeping its
 * {@link ControllerLink} to them. Every request must carry the cloud's shared agent token.
 */
public final class AgentServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentServer.class);

    /**
     * How the agent is configured.
     *
     * @param controllers   base URLs of the controllers (any of them will do)
     * @param listenHost    address the agent API binds to
     * @param listenPort    its port (0 picks a free one)
     * @param advertiseUrl  URL controllers reach this agent at; null derives it from the bound address
     * @param fakeHost      capacity of the fake driver's host: vcpus, memory MB, disk GB
     * @param fakeActionDelay how long each fake VM transition takes
     * @param sharedInstanceStorage a directory shared with other hosts (NFS, CephFS) where the QEMU
     *                      driver keeps its VMs' root disks, so that when this host dies another
     *                      host mounting it rebuilds them from their disks; null keeps them local
     * @param ramRoot       where the QEMU driver keeps guest RAM files (tmpfs); null for /dev/shm/strata. Only
     *                      several agents on one machine (tests) need their own: a VM that moves between them
     *                      keeps its id, hence its RAM file's name
     */
    public record Settings(
            List<String> controllers,
            String hostName,
            String driver,
            Path dataDir,
            String listenHost,
            int listenPort,
            String advertiseUrl,
            String token,
            Duration heartbeatInterval,
            int fakeVcpus,
            long fakeMemoryMb,
            long fakeDiskGb,
            Duration fakeActionDelay,
            String accel,
            Path sharedInstanceStorage,
            Path ramRoot) {
        /** A host whose VM disks are its own. */
        public Settings(List<String> controllers, String hostName, String driver, Path dataDir, String listenHost, int listenPort,
                String advertiseUrl, String token, Duration heartbeatInterval, int fakeVcpus, long fakeMemoryMb, long fakeDiskGb,
                Duration fakeActionDelay, String accel) {
            this(controllers, hostName, driver, dataDir, listenHost, listenPort, advertiseUrl, token, heartbeatInterval, fakeVcpus,
                    fakeMemoryMb, fakeDiskGb, fakeActionDelay, accel, null, null);
        }

        public Settings {
            controllers = List.copyOf(requireNonNull(controllers, "controllers is null"));
            requireNonNull(hostName, "hostName is null");
            requireNonNull(driver, "driver is null");
            requireNonNull(dataDir, "dataDir is null");
            requireNonNull(listenHost, "listenHost is null");
            requireNonNull(token, "token is null");
            requireNonNull(heartbeatInterval, "heartbeatInterval is null");
            requireNonNull(fakeActionDelay, "fakeActionDelay is null");
            if (controllers.isEmpty()) {
                throw new IllegalArgumentException("--controller names no controller");
            }
            for (String controller : controllers) {
                URI uri = URI.create(controller);
                if (uri.getScheme() == null || uri.getHost() == null) {
                    throw new IllegalArgumentException("not a controller URL: " + controller);
                }
            }
            if (!hostName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
                throw new IllegalArgumentException("host name must be letters, digits, '.', '_' or '-' (at most 63): " + hostName);
            }
            if (!driver.equals("fake") && !driver.equals("qemu")) {
                throw new IllegalArgumentException("driver must be fake or qemu, not " + driver);
            }
            if (token.isBlank()) {
                throw new IllegalArgumentException("the agent token is empty");
            }
            if (listenPort < 0 || listenPort > 65535) {
                throw new IllegalArgumentException("port must be within 0..65535, not " + listenPort);
            }
            if (heartbeatInterval.isZero() || heartbeatInterval.isNegative()) {
                throw new IllegalArgumentException("heartbeat interval must be positive");
            }
            if (sharedInstanceStorage != null && !driver.equals("qemu")) {
                throw new IllegalArgumentException("--shared-instance-storage needs --driver qemu (fake VMs have no disks)");
            }
        }
    }

    private final LocalController agent;
    private final ControllerLink link;
    private final Javalin app;
    private final String url;

    private AgentServer(LocalController agent, ControllerLink link, Javalin app, String url) {
        this.agent = agent;
        this.link = link;
        this.app = app;
        this.url = url;
    }

    public static AgentServer start(Settings settings) throws java.io.IOException {
        Files.createDirectories(settings.dataDir());
        // Snapshots wait here only until their controller fetched them: any left were interrupted.
        Path snapshots = settings.dataDir().resolve("snapshots");
        if (Files.isDirectory(snapshots)) {
            try (java.util.stream.Stream<Path> left = Files.list(snapshots)) {
                for (Path file : left.toList()) {
                    Files.deleteIfExists(file);
                }
            }
        }
        ControllerLink link = new ControllerLink(settings.controllers(), settings.token(), settings.heartbeatInterval(),
                settings.dataDir().resolve("images"));
        Hypervisor hypervisor = hypervisor(settings);
        Path liveImages = settings.dataDir().resolve("live-images");
        // Other hosts' live images, copied here for clones: this host shares no storage with them.
        LiveImageCache liveImageCache = new LiveImageCache(settings.dataDir().resolve("live-image-copies"), hypervisor, settings.token(),
                link::currentController);
        liveImageCache.removeUnfinished();
        LocalController agent = new LocalController(settings.hostName(), hypervisor, link, liveImages, liveImageCache);
        byte[] expected = settings.token().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        AgentHttpApi api = new AgentHttpApi(agent, agent.liveImageExport(), agent, snapshots);
        Javalin app = Javalin.create(config -> {
            config.concurrency.useVirtualThreads = true;
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.maxRequestSize = 16L * 1024 * 1024;
            config.routes.before(ctx -> {
                // The controller's request id, so that this agent's log lines of a call carry the id the API client saw.
                String requestId = ctx.header(AgentWire.REQUEST_ID_HEADER);
                if (requestId != null && requestId.matches("req-[0-9a-f-]{1,64}")) {
                    org.slf4j.MDC.put("request_id", requestId);
                } else {
                    org.slf4j.MDC.remove("request_id");
                }
                String given = ctx.header(AgentWire.TOKEN_HEADER);
                // Constant-time comparison: the token is the only thing between the network and the VMs.
                if (given == null || !MessageDigest.isEqual(expected, given.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                    throw new CloudException(ErrorCode.UNAUTHORIZED, "missing or wrong " + AgentWire.TOKEN_HEADER);
                }
            });
            api.addRoutes(config.routes);
            config.routes.after(ctx -> org.slf4j.MDC.remove("request_id"));
            config.routes.exception(CloudException.class, (e, ctx) -> error(ctx, e.code(), e.getMessage()));
            config.routes.exception(IllegalArgumentException.class, (e, ctx) -> error(ctx, ErrorCode.BAD_REQUEST, e.getMessage()));
            config.routes.exception(com.fasterxml.jackson.core.JacksonException.class,
                    (e, ctx) -> error(ctx, ErrorCode.BAD_REQUEST, "malformed body: " + e.getOriginalMessage()));
            config.routes.exception(Exception.class, (e, ctx) -> {
                log.error("{} {} failed", ctx.method(), ctx.path(), e);
                error(ctx, ErrorCode.INTERNAL, e.toString());
            });
        });
        try {
            app.start(settings.listenHost(), settings.listenPort());
        } catch (RuntimeException e) {
            agent.close();
            throw new IllegalStateException("cannot listen on " + settings.listenHost() + ":" + settings.listenPort() + ": " + e.getMessage(), e);
        }
        String host = settings.listenHost().equals("0.0.0.0") || settings.listenHost().equals("::") ? "127.0.0.1" : settings.listenHost();
        String url = settings.advertiseUrl() != null ? settings.advertiseUrl() : "http://" + host + ":" + app.port();
        link.start(agent, url);
        log.info("agent of host {} listening at {}, controllers {}", settings.hostName(), url, settings.controllers());
        return new AgentServer(agent, link, app, url);
    }

    private static Hypervisor hypervisor(Settings settings) {
        Path dataDir = settings.dataDir();
        return switch (settings.driver()) {
            case "fake" -> new FakeHypervisor(FakeHypervisor.hostInfo(settings.hostName(), settings.fakeVcpus(), settings.fakeMemoryMb(),
                    settings.fakeDiskGb()), settings.fakeActionDelay(), dataDir.resolve("fake").resolve(settings.hostName() + ".json"));
            case "qemu" -> new QemuHypervisor(QemuConfig.defaults(dataDir, settings.hostName(), URI.create(
                            settings.advertiseUrl() != null ? settings.advertiseUrl() : "http://" + settings.listenHost()).getHost())
                    .withAccel(AccelMode.valueOf(settings.accel().toUpperCase(Locale.ROOT)))
                    .withSharedInstanceRoot(settings.sharedInstanceStorage())
                    .withRamRoot(settings.ramRoot() != null ? settings.ramRoot() : Path.of("/dev/shm/strata")));
            default -> throw new IllegalArgumentException("driver must be fake or qemu, not " + settings.driver());
        };
    }

    private static void error(Context ctx, ErrorCode code, String message) {
        ctx.status(code.httpStatus());
        try {
            ctx.contentType("application/json").result(AgentWire.MAPPER.writeValueAsBytes(new AgentWire.Error(code.name(), message)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            ctx.result(message);
        }
    }

    public String url() {
        return url;
    }

    public int port() {
        return app.port();
    }

    public boolean registered() {
        return link.registered();
    }

    @Override
    public void close() {
        link.close();
        app.stop();
        agent.close();
    }
}
