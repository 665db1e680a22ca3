package io.strata.api;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.json.JavalinJackson;
import io.javalin.router.Endpoint;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The one HTTP port of a controller: every API area's routes behind the shared filters — request
 * ids, authentication, metrics — and one place that turns exceptions into each API's own error
 * shape (4xx logged at WARN, 5xx at ERROR, never a stack trace to the client).
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    private static final String STARTED_AT = "strata.started_nanos";

    private final Javalin app;
    private final String host;
    private final int port;

    public ApiServer(String host, int port, List<ApiArea> areas, Authenticator authenticator, PrometheusMeterRegistry metrics) {
        requireNonNull(areas, "areas is null");
        requireNonNull(authenticator, "authenticator is null");
        requireNonNull(metrics, "metrics is null");
        this.host = requireNonNull(host, "host is null");
        this.port = port;
        Set<String> publicRoutes = new HashSet<>(Set.of("GET /", "GET /metrics", "GET /healthz"));
        areas.forEach(area -> publicRoutes.addAll(area.publicRoutes()));

        this.app = Javalin.create(config -> {
            config.concurrency.useVirtualThreads = true;
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.router.ignoreTrailingSlashes = true;
            config.router.treatMultipleSlashesAsSingleSlash = true;
            config.http.maxRequestSize = 64L * 1024 * 1024;
            // No response compression: image downloads carry their exact length and checksum, and
            // on loopback or a LAN gzip costs more CPU than it saves.
            config.http.compressionStrategy = io.javalin.compression.CompressionStrategy.NONE;
            config.jsonMapper(new JavalinJackson(Json.MAPPER, true));
            config.jetty.modifyServer(server -> server.setStopTimeout(2_000));

            config.routes.before(ctx -> {
                ctx.attribute(STARTED_AT, System.nanoTime());
                String requestId = "req-" + UUID.randomUUID();
                ctx.attribute(Requests.REQUEST_ID, requestId);
                MDC.put("request_id", requestId);
                ctx.header("x-openstack-request-id", requestId);
                if (ctx.path().startsWith("/compute")) {
                    ctx.header("x-compute-request-id", requestId);
                }
                if (ctx.method() == HandlerType.OPTIONS || isPublic(publicRoutes, ctx)) {
                    return;
                }
                ctx.attribute(Requests.AUTH, authenticator.authenticate(ctx.header("X-Auth-Token")));
            });

            for (ApiArea area : areas) {
                area.addRoutes(config.routes);
            }
            config.routes.get("/healthz", ctx -> ctx.result("ok"));
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));

            config.routes.exception(CloudException.class, (e, ctx) -> renderError(ctx, e.code(), e.getMessage(), e));
            config.routes.exception(JsonProcessingException.class,
                    (e, ctx) -> renderError(ctx, ErrorCode.BAD_REQUEST, "Malformed request body: " + e.getOriginalMessage(), e));
            config.routes.exception(Exception.class, (e, ctx) -> renderError(ctx, ErrorCode.INTERNAL,
                    "Unexpected error while handling the request; see the server log for " + Requests.requestId(ctx) + ".", e));
            config.http.prefer405over404 = true;
            // Javalin answers unmatched routes in plain text; answer in the API's own shape instead.
            // A matched endpoint that chose 404/405 has already written its body.
            config.routes.error(404, ctx -> {
                if (ctx.endpoints().lastHttpEndpoint() == null) {
                    renderError(ctx, ErrorCode.NOT_FOUND, "The resource could not be found.", null);
                }
            });
            config.routes.error(405, ctx -> {
                if (ctx.endpoints().lastHttpEndpoint() == null) {
                    renderError(ctx, ErrorCode.METHOD_NOT_ALLOWED, "The method is not allowed for the requested URL.", null);
                }
            });

            config.routes.after(ctx -> {
                Long started = ctx.attribute(STARTED_AT);
                if (started != null) {
                    Endpoint endpoint = ctx.endpoints().lastHttpEndpoint();
                    Timer.builder("strata.api.requests")
                            .description("API requests by route and status")
                            .tag("method", ctx.method().name())
                            .tag("route", endpoint == null ? "unmatched" : endpoint.path)
                            .tag("status", Integer.toString(ctx.statusCode()))
                            .publishPercentileHistogram()
                            .register(metrics)
                            .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                }
                if (log.isDebugEnabled()) {
                    // With the time taken: a request that waited long before it began shows as a short one here.
                    log.debug("{} {} -> {} in {} ms", ctx.method(), ctx.path(), ctx.statusCode(),
                            started == null ? -1 : (System.nanoTime() - started) / 1_000_000);
                }
                MDC.remove("request_id");
            });
        });
    }

    private static boolean isPublic(Set<String> publicRoutes, Context ctx) {
        String path = ctx.path();
        if (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        String method = ctx.method() == HandlerType.HEAD ? "GET" : ctx.method().name();
        if (publicRoutes.contains(method + " " + path)) {
            return true;
        }
        // "METHOD /prefix/*" entries: routes that authenticate on their own (agents' shared token).
        for (String route : publicRoutes) {
            if (route.endsWith("/*") && (method + " " + path).startsWith(route.substring(0, route.length() - 1))) {
                return true;
            }
        }
        return false;
    }

    private static void renderError(Context ctx, ErrorCode code, String message, Exception cause) {
        if (code.isClientError()) {
            log.warn("{} {} -> {} {}", ctx.method(), ctx.path(), code.httpStatus(), message);
        } else {
            log.error("{} {} -> {} {}", ctx.method(), ctx.path(), code.httpStatus(), message, cause);
        }
        ObjectNode body = ApiStyle.forPath(ctx.path()).errorBody(code, message);
        ctx.status(code.httpStatus());
        if (code == ErrorCode.UNAUTHORIZED) {
            ctx.header("WWW-Authenticate", "Keystone uri=\"" + Requests.baseUrl(ctx) + "/identity\"");
        }
        if (ctx.method() == HandlerType.HEAD) {
            ctx.result("");
            return;
        }
        ctx.json(body);
    }

    public ApiServer start() {
        app.start(host, port);
        return this;
    }

    /** The port actually bound (useful when configured as 0). */
    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }
}
