package io.strata.agent.liveimage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.strata.agent.LiveImageOrigin;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.fake.FakeHypervisor;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LiveImageCache} against a real HTTP server playing the blessing host's agent (the same
 * routes and listing as {@link LiveImageExport} serves): one fetch for concurrent callers, files
 * checked and kept sparse, and a failed or interrupted fetch leaves nothing behind.
 */
class LiveImageCacheTest {
    private static final String TOKEN = "cache-token";
    private static final String IMAGE = "3f1c2a9e-0000-4000-8000-000000000001";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path origin;
    @TempDir
    Path cacheRoot;

    private HttpServer server;
    private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
    private final List<String> tokens = new CopyOnWriteArrayList<>();
    /** Checksums the server lists, by file name: replaced by a test to corrupt one. */
    private final Map<String, String> listed = new ConcurrentHashMap<>();
    private FakeHypervisor hypervisor;

    @BeforeEach
    void start() throws Exception {
        // A RAM file of 8 MB whose first half is a hole, and two small files.
        try (FileChannel ram = FileChannel.open(origin.resolve("ram"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            byte[] data = new byte[4 << 20];
            new java.util.Random(7).nextBytes(data);
            ram.write(ByteBuffer.wrap(data), 4 << 20);
        }
        Files.writeString(origin.resolve("state"), "device state");
        Files.writeString(origin.resolve("live-image.json"), "{\"vcpus\": 1}");
        for (String name : List.of("ram", "state", "live-image.json")) {
            listed.put(name, LiveImageExport.sha256(origin.resolve(name)));
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        String base = "/agent/v1/live-images/" + IMAGE + "/files";
        server.createContext(base, exchange -> {
            String path = exchange.getRequestURI().getPath();
            requests.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            tokens.add(String.valueOf(exchange.getRequestHeaders().getFirst("X-Strata-Agent-Token")));
            byte[] body;
            if (path.equals(base)) {
                sleep(Duration.ofMillis(300));     // long enough for a second caller to arrive meanwhile
                List<ExportedFile> files = new ArrayList<>();
                for (String name : List.of("live-image.json", "state", "ram")) {
                    files.add(new ExportedFile(name, Files.size(origin.resolve(name)), listed.get(name)));
                }
                body = JSON.writeValueAsBytes(files);
            } else {
                body = Files.readAllBytes(origin.resolve(path.substring(base.length() + 1)));
            }
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        hypervisor = new FakeHypervisor(FakeHypervisor.hostInfo("b", 4, 4096, 10), Duration.ZERO, cacheRoot.resolve("fake.json"));
    }

    @AfterEach
    void stop() {
        server.stop(0);
        hypervisor.close();
    }

    private LiveImageOrigin originHost() {
        return new LiveImageOrigin("a", "http://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    private LiveImageCache cache() {
        return new LiveImageCache(cacheRoot.resolve("copies"), hypervisor, TOKEN, () -> null);
    }

    @Test
    void concurrentLaunchesShareOneVerifiedSparseCopy() throws Exception {
        LiveImageCache cache = cache();
        List<Future<Path>> callers = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 3; i++) {
                callers.add(threads.submit(() -> cache.ensure(IMAGE, originHost())));
            }
        }
        Path copy = cacheRoot.resolve("copies").resolve(IMAGE);
        for (Future<Path> caller : callers) {
            assertThat(caller.get()).isEqualTo(copy);
        }
        assertThat(requests.get("/agent/v1/live-images/" + IMAGE + "/files").get()).isEqualTo(1);
        assertThat(requests.get("/agent/v1/live-images/" + IMAGE + "/files/ram").get()).isEqualTo(1);
        assertThat(tokens).containsOnly(TOKEN);
        for (String name : List.of("ram", "state", "live-image.json")) {
            assertThat(Files.mismatch(copy.resolve(name), origin.resolve(name))).isEqualTo(-1L);
        }
        // The hole stayed a hole: about 4 MB are allocated for the 8 MB file.
        assertThat(allocatedBytes(copy.resolve("ram"))).isLessThan(6L << 20);
        assertThat(cache.has(IMAGE)).isTrue();

        // Once there, the copy serves without asking the origin again.
        assertThat(cache.ensure(IMAGE, new LiveImageOrigin("a", null))).isEqualTo(copy);
        assertThat(requests.get("/agent/v1/live-images/" + IMAGE + "/files").get()).isEqualTo(1);

        cache.remove(IMAGE);
        assertThat(copy).doesNotExist();
        cache.remove(IMAGE);     // absent is fine
    }

    @Test
    void aFileThatDoesNotMatchItsChecksumLeavesNothing() throws Exception {
        listed.put("ram", "0".repeat(64));
        LiveImageCache cache = cache();
        assertThatThrownBy(() -> cache.ensure(IMAGE, originHost())).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("ram arrived with SHA-256");
        assertThat(entries(cacheRoot.resolve("copies"))).isEmpty();

        // The failure is not remembered: the next launch fetches again.
        listed.put("ram", LiveImageExport.sha256(origin.resolve("ram")));
        assertThat(cache.ensure(IMAGE, originHost())).exists();
    }

    @Test
    void anUnreachableOriginWithoutACopyIsAnError() {
        assertThatThrownBy(() -> cache().ensure(IMAGE, new LiveImageOrigin("a", null)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThatThrownBy(() -> cache().ensure("../etc", originHost()))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST));
    }

    @Test
    void whatACrashLeftHalfFetchedIsRemovedAtStart() throws Exception {
        Path half = cacheRoot.resolve("copies").resolve(".fetch-" + IMAGE + "-1234");
        Files.createDirectories(half);
        Files.writeString(half.resolve("ram"), "partial");
        Path complete = cacheRoot.resolve("copies").resolve("other-image");
        Files.createDirectories(complete);
        cache().removeUnfinished();
        assertThat(half).doesNotExist();
        assertThat(complete).exists();
    }

    private static List<Path> entries(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(dir)) {
            return list.toList();
        }
    }

    private static long allocatedBytes(Path file) throws Exception {
        Process stat = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).start();
        String[] parts = new String(stat.getInputStream().readAllBytes()).strip().split(" ");
        stat.waitFor();
        return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
