package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image data across controllers that do not share storage. The controller that received an
 * image's data records its own address as the image's location; every other controller copies
 * the data from there (the agent image route, with the agent token), verified against the image's
 * MD5 checksum and committed like an upload (staged, then renamed: a crash leaves no half file).
 * Copies are made in the background every {@code interval}, so that the image survives its first
 * controller, and at once when a client or an agent asks this controller for data it lacks.
 */
public final class ImageReplication implements ImageService.DataLocations, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ImageReplication.class);
    private static final String TOKEN_HEADER = "X-Strata-Agent-Token";
    private static final String IMAGE_ROUTE = "/internal/agents/image/";

    private final ImageStore store;
    private final ImageFiles files;
    private final String ownUrl;
    private final String token;
    private final Duration interval;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    /** Files seen without an image row in the last round (only the timer's thread touches it). */
    private Set<String> missingLastRound = Set.of();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofVirtual().name("image-replication").factory());

    /** {@code ownUrl}: this controller's own address (not a load balancer's), as other controllers reach it. */
    public ImageReplication(ImageStore store, ImageFiles files, String ownUrl, String token, Duration interval) {
        this.store = requireNonNull(store, "store is null");
        this.files = requireNonNull(files, "files is null");
        this.ownUrl = requireNonNull(ownUrl, "ownUrl is null").replaceAll("/+$", "");
        this.token = requireNonNull(token, "token is null");
        this.interval = requireNonNull(interval, "interval is null");
    }

    public void start() {
        timer.scheduleWithFixedDelay(() -> {
            try {
                sync();
            } catch (RuntimeException e) {
                log.warn("image replication round failed: {}", e.getMessage());
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * One round: removes the copies of images deleted through another controller, claims the
     * images whose data only this controller holds, copies those others hold.
     */
    public void sync() {
        removeDeleted();
        for (ImageStore.Location location : store.activeLocations()) {
            if (files.exists(location.id())) {
                if (location.storedAt() == null) {
                    store.claimLocation(location.id(), ownUrl);
                }
            } else if (location.storedAt() != null && !location.storedAt().equals(ownUrl)) {
                try {
                    copy(location);
                } catch (RuntimeException e) {
                    log.warn("cannot copy image {} from {} yet: {}", location.id(), location.storedAt(), e.getMessage());
                }
            }
        }
    }

    /**
     * A delete removes the row and the file of the controller it went through; the other
     * controllers find their copies here: a file whose image has no row in two rounds in a row is
     * removed. Two rounds, because an image made from a file on this controller (createFromFile)
     * has its file committed a moment before its row is inserted.
     */
    synchronized void removeDeleted() {
        Set<String> stored = files.storedIds();
        Set<String> existing = stored.isEmpty() ? Set.of() : store.existing(stored);
        Set<String> missing = new HashSet<>(stored);
        missing.removeAll(existing);
        for (String id : missing) {
            if (missingLastRound.contains(id)) {
                synchronized (locks.computeIfAbsent(id, key -> new Object())) {
                    log.info("image {} was deleted through another controller: removing this controller's copy", id);
                    files.delete(id);
                }
                locks.remove(id);
            }
        }
        missing.removeIf(id -> missingLastRound.contains(id));
        missingLastRound = missing;
    }

    @Override
    public void stored(String imageId) {
        store.claimLocation(imageId, ownUrl);
    }

    @Override
    public void beforeReading(String imageId) {
        try {
            ensure(imageId);
        } catch (RuntimeException e) {
            log.warn("image {} is not on this controller and could not be copied: {}", imageId, e.getMessage());
        }
    }

    /** Makes this controller hold the data of active image {@code imageId}, copying it now if needed. */
    public void ensure(String imageId) {
        if (files.exists(imageId)) {
            return;
        }
        Optional<ImageStore.Location> location = store.activeLocations().stream().filter(l -> l.id().equals(imageId)).findFirst();
        if (location.isEmpty() || location.get().storedAt() == null || location.get().storedAt().equals(ownUrl)) {
            return;     // nothing to copy from: the caller finds no file and says so
        }
        copy(location.get());
    }

    private void copy(ImageStore.Location location) {
        // One copy per image at a time; who waited finds the file there afterwards.
        synchronized (locks.computeIfAbsent(location.id(), id -> new Object())) {
            if (files.exists(location.id())) {
                return;
            }
            long started = System.nanoTime();
            HttpRequest request = HttpRequest.newBuilder(URI.create(location.storedAt() + IMAGE_ROUTE + location.id()))
                    .header(TOKEN_HEADER, token).GET().build();
            HttpResponse<InputStream> response;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                throw new CloudException(ErrorCode.SERVICE_UNAVAILABLE, "controller " + location.storedAt() + " does not answer: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CloudException(ErrorCode.SERVICE_UNAVAILABLE, "interrupted", e);
            }
            ImageData data;
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw new CloudException(ErrorCode.SERVICE_UNAVAILABLE, "controller " + location.storedAt() + " answered "
                            + response.statusCode() + " for image " + location.id());
                }
                // Data another controller took within its cap: copied whole, as it is.
                data = files.receive(body, Long.MAX_VALUE);
            } catch (IOException e) {
                throw new CloudException(ErrorCode.SERVICE_UNAVAILABLE, "copy of image " + location.id() + " broke off: " + e.getMessage(), e);
            }
            if (location.md5() != null && !location.md5().equals(data.md5())) {
                files.discard(data);
                throw new CloudException(ErrorCode.SERVICE_UNAVAILABLE, "image " + location.id() + " arrived from " + location.storedAt()
                        + " with MD5 " + data.md5() + ", not " + location.md5());
            }
            files.commit(data, location.id());
            log.info("image {}: {} MB copied from {} in {} ms", location.id(), data.sizeBytes() >> 20, location.storedAt(),
                    (System.nanoTime() - started) / 1_000_000);
        }
    }

    @Override
    public void close() {
        // No interrupt: a round may be inside a JDBC call, and an interrupt there can close the
        // embedded store's file channel. A round under way ends on its own.
        timer.shutdown();
    }
}
