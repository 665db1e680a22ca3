package io.strata.agent.liveimage;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.agent.LiveImageOrigin;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageFile;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's copies of live images blessed on other hosts, for clones started here without
 * shared storage. A copy is fetched from the blessing host's agent ({@link LiveImageExport}) over
 * HTTP, each file streamed to disk (zero blocks left as holes, so a mostly empty RAM file stays
 * sparse) and checked against the size and SHA-256 the origin lists, into a staging directory
 * that is renamed into place only when complete: a crash leaves a {@code .fetch-*} directory,
 * removed at the next start, never a half copy. Concurrent launches of one image share one fetch.
 * A copy lives until its live image is discarded (the controller then asks every host to remove it).
 */
public final class LiveImageCache {
    private static final Logger log = LoggerFactory.getLogger(LiveImageCache.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final String STAGING_PREFIX = ".fetch-";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Zero runs of this size are skipped (left as holes) instead of written. */
    private static final int BLOCK = 64 * 1024;
    private static final Duration LOG_EVERY = Duration.ofSeconds(2);
    static final String TOKEN_HEADER = "X-Strata-Agent-Token";
    static final String PREFIX = "/agent/v1";
    static final String CONTROLLER_PREFIX = "/internal/agents";

    private final Path root;
    private final Hypervisor hypervisor;
    private final String token;
    private final HttpClient http;
    private final Map<String, CompletableFuture<Path>> fetches = new ConcurrentHashMap<>();
    private final Map<String, FetchProgress> progress = new ConcurrentHashMap<>();

    /** How far a fetch has come: bytes received of all files' total. */
    public record FetchProgress(String liveImageId, String fromHost, long bytes, long totalBytes) {
        public int percent() {
            return totalBytes <= 0 ? 100 : (int) Math.min(100, bytes * 100 / totalBytes);
        }
    }

    /** The controller this host talks to, for images whose host runs inside it; null when there is none to ask. */
    private final java.util.function.Supplier<String> controllerUrl;

    public LiveImageCache(Path root, Hypervisor hypervisor, String token, java.util.function.Supplier<String> controllerUrl) {
        this.root = requireNonNull(root, "root is null").toAbsolutePath().normalize();
        this.hypervisor = requireNonNull(hypervisor, "hypervisor is null");
        this.token = requireNonNull(token, "token is null");
        this.controllerUrl = requireNonNull(controllerUrl, "controllerUrl is null");
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** Removes what fetches interrupted by a crash or a stop left behind (call before the first fetch). */
    public void removeUnfinished() {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> entries = Files.list(root)) {
            for (Path staged : entries.filter(p -> p.getFileName().toString().startsWith(STAGING_PREFIX)).toList()) {
                log.info("removing the unfinished live image copy {}", staged);
                deleteTree(staged);
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot list the live image cache " + root + ": " + e.getMessage(), e);
        }
    }

    /**
     * The directory of this host's copy of the live image, fetched from {@code origin} first if
     * there is none yet. A caller that finds a fetch of the same image under way waits for it.
     */
    public Path ensure(String liveImageId, LiveImageOrigin origin) {
        Path dir = dirOf(liveImageId);
        if (Files.isDirectory(dir)) {
            return dir;
        }
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = fetches.putIfAbsent(liveImageId, mine);
        if (running != null) {
            log.info("live image {}: waiting for the fetch already under way", liveImageId);
            try {
                return running.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        try {
            // Another fetch may have finished between the first look and taking the slot.
            if (!Files.isDirectory(dir)) {
                fetch(liveImageId, origin, dir);
            }
            mine.complete(dir);
            return dir;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            fetches.remove(liveImageId, mine);
            progress.remove(liveImageId);
        }
    }

    /** The fetch of the live image under way on this host, if any. */
    public Optional<FetchProgress> progress(String liveImageId) {
        return Optional.ofNullable(progress.get(liveImageId));
    }

    /** Whether this host holds a complete copy of the live image. */
    public boolean has(String liveImageId) {
        return Files.isDirectory(dirOf(liveImageId));
    }

    /** Removes this host's copy of the live image (absent is fine). */
    public void remove(String liveImageId) {
        Path dir = dirOf(liveImageId);
        if (Files.exists(dir)) {
            hypervisor.forgetLiveImage(dir);
            deleteTree(dir);
            log.info("copy of live image {} removed", liveImageId);
        }
    }

    public Path dirOf(String liveImageId) {
        Path dir = root.resolve(liveImageId).normalize();
        if (!LiveImageFile.isValidName(liveImageId) || !root.equals(dir.getParent())) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "not a live image id: " + liveImageId);
        }
        return dir;
    }

    private void fetch(String liveImageId, LiveImageOrigin origin, Path dir) {
        String base;
        if (origin.agentUrl() != null) {
            base = origin.agentUrl().replaceAll("/+$", "") + PREFIX + "/live-images/" + enc(liveImageId) + "/files";
        } else {
            // The blessing host runs inside the controller, which serves its files.
            String controller = controllerUrl.get();
            if (controller == null) {
                throw new HypervisorException(ErrorCode.CONFLICT, "live image " + liveImageId + " is on host " + origin.host()
                        + ", which has no agent API, and this host has no controller to ask");
            }
            base = controller.replaceAll("/+$", "") + CONTROLLER_PREFIX + "/hosts/" + enc(origin.host()) + "/live-images/"
                    + enc(liveImageId) + "/files";
        }
        long started = System.nanoTime();
        List<ExportedFile> files;
        try (InputStream listing = get(URI.create(base), origin)) {
            files = JSON.readValue(listing, new TypeReference<List<ExportedFile>>() {});
        } catch (IOException e) {
            throw new HypervisorException(ErrorCode.SERVICE_UNAVAILABLE, "cannot list live image " + liveImageId + " on host "
                    + origin.host() + ": " + e.getMessage());
        }
        long total = files.stream().mapToLong(ExportedFile::size).sum();
        log.info("live image {}: fetching {} files ({} MB) from host {}", liveImageId, files.size(), total >> 20, origin.host());
        Path staged = root.resolve(STAGING_PREFIX + liveImageId + "-" + UUID.randomUUID());
        try {
            Files.createDirectories(staged);
            Progress counter = new Progress(liveImageId, origin.host(), total);
            for (ExportedFile file : files) {
                if (!LiveImageFile.isValidName(file.name())) {
                    throw new HypervisorException(ErrorCode.CONFLICT, "host " + origin.host() + " lists an unusable file name " + file.name());
                }
                try (InputStream in = get(URI.create(base + "/" + enc(file.name())), origin)) {
                    receive(in, staged.resolve(file.name()), file, counter);
                }
            }
            hypervisor.adoptLiveImage(staged, dir);
            Files.move(staged, dir, StandardCopyOption.ATOMIC_MOVE);
            log.info("live image {}: copy from host {} complete, {} MB in {} ms", liveImageId, origin.host(), total >> 20,
                    (System.nanoTime() - started) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            deleteTree(staged);
            if (e instanceof HypervisorException h) {
                throw h;
            }
            throw new HypervisorException(ErrorCode.SERVICE_UNAVAILABLE, "cannot copy live image " + liveImageId + " from host "
                    + origin.host() + ": " + e.getMessage());
        }
    }

    /**
     * Copies a powered-off VM's disk from {@code origin}'s host (a cold migration or resize between
     * hosts without shared storage) into a staging directory of its own, checked against the size
     * and SHA-256 the source put in the disk's attributes; the caller creates the VM from the
     * returned file and then {@linkplain #discardColdDisk discards} it.
     */
    public Path fetchColdDisk(io.strata.hypervisor.ColdDisk disk, LiveImageOrigin origin) {
        String size = disk.attributes().get(io.strata.agent.ColdDisks.SIZE);
        String sha256 = disk.attributes().get(io.strata.agent.ColdDisks.SHA256);
        if (size == null || sha256 == null) {
            throw new HypervisorException(ErrorCode.CONFLICT, "the disk of VM " + disk.vmId() + " on host " + origin.host()
                    + " is not on storage this host sees, and its host did not say how to check a copy");
        }
        String path = "/vms/" + enc(disk.vmId()) + "/cold-disk/file";
        String url;
        if (origin.agentUrl() != null) {
            url = origin.agentUrl().replaceAll("/+$", "") + PREFIX + path;
        } else {
            String controller = controllerUrl.get();
            if (controller == null) {
                throw new HypervisorException(ErrorCode.CONFLICT, "the disk of VM " + disk.vmId() + " is on host " + origin.host()
                        + ", which has no agent API, and this host has no controller to ask");
            }
            url = controller.replaceAll("/+$", "") + CONTROLLER_PREFIX + "/hosts/" + enc(origin.host()) + path;
        }
        Path staged = root.resolve(STAGING_PREFIX + "cold-" + disk.vmId() + "-" + UUID.randomUUID());
        long started = System.nanoTime();
        try {
            Files.createDirectories(staged);
            Path target = staged.resolve("disk.qcow2");
            ExportedFile expected = new ExportedFile("disk.qcow2", Long.parseLong(size), sha256);
            try (InputStream in = get(URI.create(url), origin)) {
                receive(in, target, expected, new Progress("cold-" + disk.vmId(), origin.host(), expected.size()));
            } finally {
                progress.remove("cold-" + disk.vmId());
            }
            log.info("VM {}: disk copied from host {}, {} MB in {} ms", disk.vmId(), origin.host(), expected.size() >> 20,
                    (System.nanoTime() - started) / 1_000_000);
            return target;
        } catch (IOException | RuntimeException e) {
            deleteTree(staged);
            if (e instanceof HypervisorException h) {
                throw h;
            }
            throw new HypervisorException(ErrorCode.SERVICE_UNAVAILABLE, "cannot copy the disk of VM " + disk.vmId() + " from host "
                    + origin.host() + ": " + e.getMessage());
        }
    }

    /** Removes a disk copy {@link #fetchColdDisk} made, with its staging directory. */
    public void discardColdDisk(Path copy) {
        Path staged = copy.getParent();
        if (staged != null && staged.getParent() != null && staged.getParent().equals(root)
                && staged.getFileName().toString().startsWith(STAGING_PREFIX)) {
            deleteTree(staged);
        }
    }

    /** Counts the bytes of one fetch, publishing its progress and logging it every few seconds. */
    private final class Progress {
        private final String liveImageId;
        private final String fromHost;
        private final long total;
        private long bytes;
        private long lastLog = System.nanoTime();

        Progress(String liveImageId, String fromHost, long total) {
            this.liveImageId = liveImageId;
            this.fromHost = fromHost;
            this.total = total;
            progress.put(liveImageId, new FetchProgress(liveImageId, fromHost, 0, total));
        }

        void add(long received) {
            bytes += received;
            FetchProgress now = new FetchProgress(liveImageId, fromHost, bytes, total);
            progress.put(liveImageId, now);
            if (System.nanoTime() - lastLog > LOG_EVERY.toNanos()) {
                lastLog = System.nanoTime();
                log.info("live image {}: {} of {} MB from host {} ({}%)", liveImageId, bytes >> 20, total >> 20, fromHost, now.percent());
            }
        }
    }

    /** Writes one file as it arrives, zero blocks as holes, and checks its size and checksum. */
    private static void receive(InputStream in, Path target, ExportedFile file, Progress counter) throws IOException {
        MessageDigest digest = LiveImageExport.newDigest();
        byte[] buffer = new byte[BLOCK];
        byte[] zeros = new byte[BLOCK];
        long written = 0;
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            while (true) {
                int filled = in.readNBytes(buffer, 0, BLOCK);
                if (filled == 0) {
                    break;
                }
                digest.update(buffer, 0, filled);
                if (Arrays.mismatch(buffer, 0, filled, zeros, 0, filled) >= 0) {
                    out.write(ByteBuffer.wrap(buffer, 0, filled), written);
                }
                written += filled;
                counter.add(filled);
                if (written > file.size()) {
                    throw new IOException(file.name() + " is longer than the " + file.size() + " bytes listed");
                }
            }
            if (out.size() < written) {
                // The file ended in a hole: give it its length.
                out.write(ByteBuffer.wrap(new byte[1]), written - 1);
            }
            out.force(true);
        }
        if (written != file.size()) {
            throw new IOException(file.name() + " has " + written + " bytes, " + file.size() + " were listed");
        }
        String sha256 = HexFormat.of().formatHex(digest.digest());
        if (!sha256.equals(file.sha256())) {
            throw new IOException(file.name() + " arrived with SHA-256 " + sha256 + ", " + file.sha256() + " was listed");
        }
    }

    private InputStream get(URI uri, LiveImageOrigin origin) throws IOException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).header(TOKEN_HEADER, token).GET();
        String requestId = org.slf4j.MDC.get("request_id");
        if (requestId != null) {
            request.header("X-OpenStack-Request-Id", requestId);
        }
        HttpResponse<InputStream> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (response.statusCode() != 200) {
            String body;
            try (InputStream error = response.body()) {
                body = new String(error.readNBytes(2000), StandardCharsets.UTF_8);
            }
            ErrorCode code = response.statusCode() == 404 ? ErrorCode.NOT_FOUND : ErrorCode.SERVICE_UNAVAILABLE;
            throw new HypervisorException(code, "host " + origin.host() + " answered " + response.statusCode() + " for " + uri.getPath()
                    + ": " + body);
        }
        return response.body();
    }

    private static void deleteTree(Path dir) {
        try {
            io.strata.core.FileTrees.deleteTree(dir);
        } catch (IOException e) {
            throw new HypervisorException("cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
