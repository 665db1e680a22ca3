package io.strata.agent.remote;

import static java.util.Objects.requireNonNull;

import io.strata.agent.AgentApi;
import io.strata.agent.ImageFetcher;
import io.strata.agent.ImageRef;
import io.strata.hypervisor.VmEvent;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An agent's line to the controllers: registers through whichever of the configured controllers
 * answers (the bootstrap), then heartbeats every {@code interval} and reports VM events to the
 * group manager the controllers name for this host, as Snooze's local controllers do; when that
 * group manager stops answering the agent goes back to the configured controllers, which name
 * a live one (they share one database, so any of them accepts the heartbeat meanwhile). It
 * re-registers when a controller does not know this host. Also fetches the Glance images VMs
 * boot from into a local cache, verified against their checksum.
 */
public final class ControllerLink implements ImageFetcher, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControllerLink.class);

    private final List<URI> controllers;
    private final String token;
    private final Duration interval;
    private final Path imageCache;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).version(HttpClient.Version.HTTP_1_1).build();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("controller-link").factory());
    /** Index of the controller that answered last: tried first next time. */
    private volatile int current;
    private volatile AgentWire.Registration registration;
    private volatile boolean registered;
    /** Where heartbeats and events go while it answers; null until a controller names it. */
    private volatile GroupManager groupManager;

    public ControllerLink(List<String> controllerUrls, String token, Duration interval, Path imageCache) {
        requireNonNull(controllerUrls, "controllerUrls is null");
        if (controllerUrls.isEmpty()) {
            throw new IllegalArgumentException("at least one controller URL is needed");
        }
        this.controllers = controllerUrls.stream().map(u -> URI.create(u.endsWith("/") ? u.substring(0, u.length() - 1) : u)).toList();
        this.token = requireNonNull(token, "token is null");
        this.interval = requireNonNull(interval, "interval is null");
        this.imageCache = requireNonNull(imageCache, "imageCache is null");
    }

    /** Joins the cloud with this agent (retrying until a controller accepts) and starts heartbeating. */
    public void start(AgentApi agent, String agentUrl) {
        registration = new AgentWire.Registration(agent.hostName(), agentUrl, agent.describe());
        agent.subscribe(this::report);
        timer.scheduleWithFixedDelay(this::beat, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean registered() {
        return registered;
    }

    private void beat() {
        try {
            if (!registered) {
                post("/register", registration);
                registered = true;
                log.info("host {} registered with {}", registration.hostName(), currentController());
                return;
            }
            HttpResponse<String> response = post("/heartbeat", new AgentWire.Heartbeat(registration.hostName()));
            if (response.statusCode() == 404) {
                // A controller that never heard of this host (a fresh database, a host deleted): join again.
                registered = false;
                beat();
                return;
            }
            follow(response);
        } catch (IOException e) {
            log.warn("no controller answers ({}); retrying in {} ms", e.getMessage(), interval.toMillis());
        } catch (RuntimeException e) {
            log.warn("heartbeat failed: {}", e.toString());
        }
    }

    /** Heartbeats the group manager the answer names from now on (none named: whichever controller answers). */
    private void follow(HttpResponse<String> response) throws IOException {
        if (response.statusCode() != 200 || response.body().isBlank()) {
            return;
        }
        AgentWire.HeartbeatReply reply = AgentWire.MAPPER.readValue(response.body(), AgentWire.HeartbeatReply.class);
        URI named = reply.groupManagerUrl() == null ? null : URI.create(reply.groupManagerUrl());
        GroupManager now = groupManager;
        if (named == null) {
            groupManager = null;
        } else if (now == null || !now.url().equals(named)) {
            groupManager = new GroupManager(reply.groupManagerId(), named);
            log.info("host {} heartbeats group manager {} at {}", registration.hostName(), reply.groupManagerId(), named);
        }
    }

    private void report(VmEvent event) {
        try {
            post("/events", new AgentWire.Event(registration.hostName(), event));
        } catch (IOException | RuntimeException e) {
            // The controllers reconcile this host's VMs when it rejoins; the event is not essential.
            log.warn("cannot report event of VM {}: {}", event.vmId(), e.getMessage());
        }
    }

    /**
     * Posts to this host's group manager when one is known, else (or when it does not answer: it
     * died, and the others will name a new one) to the first configured controller that answers.
     * Returns the response (404 allowed, other 4xx thrown).
     */
    private HttpResponse<String> post(String path, Object body) throws IOException {
        byte[] bytes = AgentWire.MAPPER.writeValueAsBytes(body);
        GroupManager manager = groupManager;
        if (manager != null) {
            try {
                HttpResponse<String> response = send(manager.url(), path, bytes);
                if (response.statusCode() < 500) {
                    return checked(manager.url(), path, response);
                }
                log.warn("group manager {} at {} answered {}; rejoining through the controllers", manager.id(), manager.url(),
                        response.statusCode());
            } catch (IOException e) {
                log.warn("group manager {} at {} does not answer ({}); rejoining through the controllers", manager.id(), manager.url(),
                        e.getMessage() == null ? e.toString() : e.getMessage());
            }
            groupManager = null;
        }
        IOException last = null;
        for (int i = 0; i < controllers.size(); i++) {
            int index = (current + i) % controllers.size();
            try {
                HttpResponse<String> response = send(controllers.get(index), path, bytes);
                if (response.statusCode() >= 500) {
                    last = new IOException(controllers.get(index) + " answered " + response.statusCode());
                    continue;
                }
                current = index;
                return checked(controllers.get(index), path, response);
            } catch (IOException e) {
                last = e;
            }
        }
        throw last == null ? new IOException("no controller") : new IOException(last.getMessage() == null ? last.toString() : last.getMessage());
    }

    private HttpResponse<String> send(URI controller, String path, byte[] body) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(controller + AgentWire.CONTROLLER_PREFIX + path))
                .timeout(Duration.ofSeconds(10))
                .header(AgentWire.TOKEN_HEADER, token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    private static HttpResponse<String> checked(URI controller, String path, HttpResponse<String> response) {
        if (response.statusCode() >= 400 && response.statusCode() != 404) {
            throw new IllegalStateException(controller + path + " answered " + response.statusCode() + ": " + response.body());
        }
        return response;
    }

    /** The base URL of the controller this agent last reached through its configured list. */
    public String currentController() {
        return controllers.get(current).toString();
    }

    /** The group manager this agent heartbeats, if a controller named one. */
    public java.util.Optional<URI> groupManager() {
        GroupManager manager = groupManager;
        return manager == null ? java.util.Optional.empty() : java.util.Optional.of(manager.url());
    }

    private record GroupManager(String id, URI url) {}

    /** Downloads the image from a controller unless the cache already holds it with the right checksum. */
    @Override
    public synchronized Path fetch(ImageRef image) {
        Path file = imageCache.resolve(image.id());
        try {
            if (Files.exists(file) && (image.checksum() == null || image.checksum().equals(md5(file)))) {
                return file;
            }
            Files.createDirectories(imageCache);
            IOException last = null;
            for (int i = 0; i < controllers.size(); i++) {
                URI controller = controllers.get((current + i) % controllers.size());
                HttpRequest request = HttpRequest.newBuilder(URI.create(controller + AgentWire.CONTROLLER_PREFIX + "/image/" + image.id()))
                        .header(AgentWire.TOKEN_HEADER, token).GET().build();
                try {
                    HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                    try (InputStream in = response.body()) {
                        if (response.statusCode() != 200) {
                            last = new IOException(controller + " answered " + response.statusCode() + " for image " + image.id());
                            continue;
                        }
                        Path partial = imageCache.resolve(image.id() + ".part");
                        Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                        if (image.checksum() != null && !image.checksum().equals(md5(partial))) {
                            Files.delete(partial);
                            throw new IllegalStateException("image " + image.id() + " arrived with the wrong checksum");
                        }
                        Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                        return file;
                    }
                } catch (IOException e) {
                    last = e;
                }
            }
            throw new IllegalStateException("cannot download image " + image.id() + ": " + (last == null ? "no controller" : last.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while downloading image " + image.id());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String md5(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("MD5");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
