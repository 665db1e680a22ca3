package io.strata.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * HTTP load against a running cloud (start one with the fake driver and enough hosts, see
 * bench/api.sh): token issue rate, create+delete cycles per second with N concurrent clients,
 * POST /servers latency, and GET /servers/detail latency with many servers in the project.
 */
final class ApiLoad {
    private final CloudClient cloud;

    private ApiLoad(CloudClient cloud) {
        this.cloud = cloud;
    }

    static void main(String[] args) throws Exception {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: api URL PASSWORD [--clients N] [--seconds S] [--servers N] [--warmup S] [--phases tokens,cycles,list]");
        }
        int clients = 16;
        int seconds = 20;
        int servers = 10_000;
        // Both JVMs (the cloud's and this one) compile their hot paths during the first tens of
        // seconds of load: measured cycles were 75 -> 210 -> 295/s in three back-to-back 20 s
        // runs against one process, so an unwarmed run measures the JIT, not the cloud.
        int warmup = 30;
        String phases = "tokens,cycles,list";
        for (int i = 2; i < args.length; i += 2) {
            switch (args[i]) {
                case "--clients" -> clients = Integer.parseInt(args[i + 1]);
                case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
                case "--servers" -> servers = Integer.parseInt(args[i + 1]);
                case "--phases" -> phases = args[i + 1];
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        ApiLoad load = new ApiLoad(new CloudClient(args[0], args[1]).login());
        System.out.printf(Locale.ROOT, "strata API load: url=%s clients=%d seconds=%d warmup=%d s cpus=%d%n", args[0], clients, seconds,
                warmup, Runtime.getRuntime().availableProcessors());
        String image = load.setUp();
        if (warmup > 0) {
            load.cycles(clients, warmup, image, false);
        }
        for (String phase : phases.split(",")) {
            switch (phase) {
                case "tokens" -> load.tokens(clients, seconds);
                case "cycles" -> load.cycles(clients, seconds, image, true);
                case "list" -> load.list(clients, servers, image);
                default -> throw new IllegalArgumentException("unknown phase " + phase);
            }
        }
        System.exit(0);
    }

    // ------------------------------------------------------------------ phases

    private void tokens(int clients, int seconds) throws Exception {
        Latencies latencies = new Latencies();
        long elapsed = runFor(clients, seconds, () -> {
            long start = System.nanoTime();
            cloud.issueToken();
            latencies.add(System.nanoTime() - start);
        });
        System.out.printf(Locale.ROOT, "token issue: %.1f /s (%s)%n", latencies.count() / (elapsed / 1e9), latencies.summary());
    }

    /** Create -> ACTIVE -> delete -> gone cycles; {@code report} false for a warm-up run. */
    private void cycles(int clients, int seconds, String image, boolean report) throws Exception {
        Latencies posts = new Latencies();
        Latencies cycles = new Latencies();
        long elapsed = runFor(clients, seconds, () -> {
            long start = System.nanoTime();
            JsonNode created = cloud.send("POST", "/compute/v2.1/servers", "{\"server\": {\"name\": \"bench-cycle\", \"imageRef\": \"" + image
                    + "\", \"flavorRef\": \"bench.nano\"}}", 202);
            posts.add(System.nanoTime() - start);
            String id = created.at("/server/id").asText();
            cloud.waitFor(id, "ACTIVE");
            cloud.send("DELETE", "/compute/v2.1/servers/" + id, null, 204);
            cloud.waitGone(id);
            cycles.add(System.nanoTime() - start);
        });
        if (!report) {
            System.out.printf(Locale.ROOT, "warm-up: %d create+delete cycles in %d s (not counted)%n", cycles.count(), seconds);
            return;
        }
        System.out.printf(Locale.ROOT, "create+delete cycles: %.1f /s with %d clients (cycle %s)%n", cycles.count() / (elapsed / 1e9),
                clients, cycles.summary());
        System.out.printf(Locale.ROOT, "POST /servers: %s%n", posts.summary());
    }

    private void list(int clients, int target, String image) throws Exception {
        int existing = countServers();
        long fillStart = System.nanoTime();
        while (existing < target) {
            int batch = Math.min(500, target - existing);
            cloud.send("POST", "/compute/v2.1/servers", "{\"server\": {\"name\": \"bench-list\", \"imageRef\": \"" + image
                    + "\", \"flavorRef\": \"bench.nano\", \"min_count\": " + batch + "}}", 202);
            existing += batch;
        }
        while (cloud.send("GET", "/compute/v2.1/servers?status=BUILD&limit=1", null, 200).get("servers").size() > 0) {
            Thread.sleep(200);
        }
        System.out.printf(Locale.ROOT, "filled the project to %d servers in %.1f s%n", countServers(), (System.nanoTime() - fillStart) / 1e9);
        for (int concurrency : new int[] {1, clients}) {
            for (String path : List.of("/compute/v2.1/servers/detail", "/compute/v2.1/servers")) {
                Latencies latencies = new Latencies();
                for (int warm = 0; warm < 20; warm++) {
                    cloud.send("GET", path, null, 200);
                }
                AtomicLong bytes = new AtomicLong();
                runCount(concurrency, 200, () -> {
                    long start = System.nanoTime();
                    HttpResponse<byte[]> response = cloud.raw("GET", path, null);
                    latencies.add(System.nanoTime() - start);
                    bytes.set(response.body().length);
                });
                System.out.printf(Locale.ROOT, "GET %s (page of 1000, %d KiB) with %d servers, %d client(s): %s%n", path.substring(13),
                        bytes.get() / 1024, target, concurrency, latencies.summary());
            }
        }
    }

    // ------------------------------------------------------------------ set-up

    private String setUp() throws Exception {
        cloud.nanoFlavor();
        return cloud.benchImage();
    }

    private int countServers() throws Exception {
        int count = 0;
        String marker = null;
        while (true) {
            JsonNode page = cloud.send("GET", "/compute/v2.1/servers" + (marker == null ? "" : "?marker=" + marker), null, 200).get("servers");
            count += page.size();
            if (page.size() < 1000) {
                return count;
            }
            marker = page.get(page.size() - 1).get("id").asText();
        }
    }

    // ------------------------------------------------------------------ plumbing

    /** Runs {@code work} in a loop on {@code clients} virtual threads for {@code seconds}; returns the nanoseconds it ran. */
    private static long runFor(int clients, int seconds, Work work) throws Exception {
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                futures.add(executor.submit(() -> {
                    while (System.nanoTime() < end) {
                        work.run();
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        }
        return System.nanoTime() - start;
    }

    private static void runCount(int clients, int total, Work work) throws Exception {
        AtomicLong remaining = new AtomicLong(total);
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                futures.add(executor.submit(() -> {
                    while (remaining.getAndDecrement() > 0) {
                        work.run();
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        }
    }

    @FunctionalInterface
    private interface Work {
        void run() throws Exception;
    }
}
