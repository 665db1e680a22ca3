package io.strata.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Virtual clusters through the HTTP APIs of a running cloud: {@code clients} concurrent users each
 * submit a cluster of {@code cluster} VMs, poll until every VM of it is placed and running, and
 * submit the next, until {@code vms} VMs run. Through the Snooze API a cluster is one
 * {@code startVirtualCluster} (polled with {@code getVirtualClusterResponse}); through the Compute
 * API it is one multiple create ({@code min_count}, polled with the {@code reservation_id} filter).
 * Unlike {@code hierarchy} this goes through HTTP, the database and the hypervisor driver.
 */
final class ClusterLoad {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final CloudClient cloud;
    private final long pollMillis;

    private ClusterLoad(CloudClient cloud, long pollMillis) {
        this.cloud = cloud;
        this.pollMillis = pollMillis;
    }

    static void main(String[] args) throws Exception {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: cluster-api URL PASSWORD [--vms N] [--cluster N] [--clients N] [--via snooze|compute] "
                    + "[--poll-ms N]");
        }
        int vms = 20_000;
        int cluster = 10;
        int clients = 16;
        String via = "snooze";
        long pollMillis = 100;
        for (int i = 2; i < args.length; i += 2) {
            switch (args[i]) {
                case "--vms" -> vms = Integer.parseInt(args[i + 1]);
                case "--cluster" -> cluster = Integer.parseInt(args[i + 1]);
                case "--clients" -> clients = Integer.parseInt(args[i + 1]);
                case "--via" -> via = args[i + 1];
                case "--poll-ms" -> pollMillis = Long.parseLong(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (!via.equals("snooze") && !via.equals("compute")) {
            throw new IllegalArgumentException("--via is snooze or compute");
        }
        ClusterLoad load = new ClusterLoad(new CloudClient(args[0], args[1]).login(), pollMillis);
        String image = load.cloud.benchImage();
        load.cloud.nanoFlavor();
        System.out.printf(Locale.ROOT, "strata cluster load: url=%s via=%s vms=%d cluster=%d clients=%d poll=%d ms cpus=%d%n", args[0], via, vms,
                cluster, clients, pollMillis, Runtime.getRuntime().availableProcessors());
        load.run(via, vms / cluster, cluster, clients, image);
        System.exit(0);
    }

    private void run(String via, int clusters, int size, int clients, String image) throws Exception {
        Latencies submits = new Latencies();
        Latencies placements = new Latencies();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long start = System.nanoTime();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                futures.add(executor.submit(() -> {
                    for (int index = next.getAndIncrement(); index < clusters; index = next.getAndIncrement()) {
                        long submitted = System.nanoTime();
                        int[] outcome = via.equals("snooze") ? snoozeCluster(index, size, image, submits, submitted)
                                : computeCluster(index, size, image, submits, submitted);
                        placements.add(System.nanoTime() - submitted);
                        running.addAndGet(outcome[0]);
                        failed.addAndGet(outcome[1]);
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "%s: %d VMs running, %d failed, in %d clusters of %d: %.1f s = %.0f VMs/s, %.1f submissions/s%n", via,
                running.get(), failed.get(), clusters, size, seconds, running.get() / seconds, clusters / seconds);
        System.out.printf(Locale.ROOT, "%s: submission call %s%n", via, submits.summary());
        System.out.printf(Locale.ROOT, "%s: placement latency per cluster (submit to all running) %s%n", via, placements.summary());
    }

    /** One startVirtualCluster, polled until settled; answers {running, failed}. */
    private int[] snoozeCluster(int index, int size, String image, Latencies submits, long submitted) throws Exception {
        StringBuilder body = new StringBuilder("{\"virtualMachineTemplates\": [");
        for (int i = 0; i < size; i++) {
            body.append(i == 0 ? "" : ", ").append("{\"name\": \"vc").append(index).append('-').append(i)
                    .append("\", \"vcpus\": 1, \"memory\": 16384, \"imageId\": \"").append(image)
                    .append("\", \"networkCapacityDemand\": {\"rxBytes\": 12800.0, \"txBytes\": 12800.0}}");
        }
        body.append("]}");
        String task = text(cloud.raw("POST", "/groupmanager?startVirtualCluster", body.toString()), "startVirtualCluster").strip();
        submits.add(System.nanoTime() - submitted);
        String taskBody = MAPPER.writeValueAsString(task);
        while (true) {
            String answer = text(cloud.raw("POST", "/groupmanager?getVirtualClusterResponse", taskBody), "getVirtualClusterResponse").strip();
            if (!answer.isEmpty() && !answer.equals("null")) {
                JsonNode response = MAPPER.readTree(answer);
                int ok = 0;
                int bad = 0;
                boolean settled = true;
                for (JsonNode vm : response.path("virtualMachineMetaData")) {
                    switch (vm.path("status").asText()) {
                        case "RUNNING" -> ok++;
                        case "ERROR" -> bad++;
                        default -> settled = false;
                    }
                }
                if (settled && ok + bad == size) {
                    return new int[] {ok, bad};
                }
            }
            Thread.sleep(pollMillis);
        }
    }

    /** One multiple create of {@code size} servers, polled by reservation id until all are ACTIVE or ERROR. */
    private int[] computeCluster(int index, int size, String image, Latencies submits, long submitted) throws Exception {
        JsonNode created = cloud.send("POST", "/compute/v2.1/servers", "{\"server\": {\"name\": \"vc" + index + "\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"bench.nano\", \"min_count\": " + size + ", \"max_count\": " + size
                + ", \"return_reservation_id\": true}}", 202);
        submits.add(System.nanoTime() - submitted);
        String reservation = created.get("reservation_id").asText();
        while (true) {
            JsonNode servers = cloud.send("GET", "/compute/v2.1/servers/detail?reservation_id=" + reservation, null, 200).get("servers");
            int ok = 0;
            int bad = 0;
            for (JsonNode server : servers) {
                String status = server.get("status").asText();
                if (status.equals("ACTIVE") && server.get("OS-EXT-STS:task_state").isNull()) {
                    ok++;
                } else if (status.equals("ERROR")) {
                    bad++;
                }
            }
            if (servers.size() == size && ok + bad == size) {
                return new int[] {ok, bad};
            }
            Thread.sleep(pollMillis);
        }
    }

    private static String text(HttpResponse<byte[]> response, String what) {
        String body = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() != 200) {
            throw new IllegalStateException(what + " answered " + response.statusCode() + ": " + body);
        }
        return body;
    }
}
