package io.strata.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A synthetic day through the Snooze API of a running cloud (fake driver): the number of VMs
 * follows a cosine between {@code trough} at 03:00 and {@code peak} at 15:00; each hour, compressed
 * into {@code hourSeconds}, a share of the VMs leaves ({@code destroyVirtualMachine}) and clusters
 * are submitted ({@code startVirtualCluster}) until the hour's count runs. Meanwhile the
 * bootstrap's {@code getLocalControllerList} is sampled every second and the hosts not PASSIVE
 * (powered off by the energy saver) are counted. Unlike {@code hierarchy}, the cloud's own
 * monitoring, energy saver and consolidation rounds act, on their own timers, as they would in
 * production; bench/cluster-day.sh compresses their intervals by the same factor as the hours.
 *
 * <pre>strata-bench cluster-day URL PASSWORD [--peak 1000] [--trough 300] [--hour-seconds 10] [--hours 24]
 *     [--leave-percent 5] [--cluster 10] [--clients 8]</pre>
 */
final class ClusterDay {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long KB_PER_GB = 1024L * 1024;

    private final CloudClient cloud;
    private final Random random = new Random(42);
    private final List<String> running = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger names = new AtomicInteger();

    private ClusterDay(CloudClient cloud) {
        this.cloud = cloud;
    }

    static void main(String[] args) throws Exception {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: cluster-day URL PASSWORD [--peak N] [--trough N] [--hour-seconds S] [--hours N] "
                    + "[--leave-percent P] [--cluster N] [--clients N]");
        }
        int peak = 1000;
        int trough = 300;
        int hourSeconds = 10;
        int hours = 24;
        int leavePercent = 5;
        int cluster = 10;
        int clients = 8;
        for (int i = 2; i < args.length; i += 2) {
            switch (args[i]) {
                case "--peak" -> peak = Integer.parseInt(args[i + 1]);
                case "--trough" -> trough = Integer.parseInt(args[i + 1]);
                case "--hour-seconds" -> hourSeconds = Integer.parseInt(args[i + 1]);
                case "--hours" -> hours = Integer.parseInt(args[i + 1]);
                case "--leave-percent" -> leavePercent = Integer.parseInt(args[i + 1]);
                case "--cluster" -> cluster = Integer.parseInt(args[i + 1]);
                case "--clients" -> clients = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        ClusterDay day = new ClusterDay(new CloudClient(args[0], args[1]).login());
        String image = day.cloud.benchImage();
        day.run(image, peak, trough, hourSeconds, hours, leavePercent, cluster, clients);
        System.exit(0);
    }

    /** The day's VM count at {@code hour}: lowest at 03:00, highest at 15:00. */
    static int target(int hour, int peak, int trough) {
        double phase = Math.cos(2 * Math.PI * (hour - 3) / 24.0);
        return (int) Math.round(trough + (peak - trough) * (1 - phase) / 2);
    }

    private void run(String image, int peak, int trough, int hourSeconds, int hours, int leavePercent, int cluster, int clients)
            throws Exception {
        int hosts = lcStatuses().size();
        System.out.printf(Locale.ROOT, "cluster day: %d hosts, VMs %d (03:00) to %d (15:00), %d %% leave each hour, an hour = %d s%n", hosts,
                trough, peak, leavePercent, hourSeconds);
        double onSum = 0;
        int samples = 0;
        long migrationsBefore = migrations();
        for (int hour = 0; hour < hours; hour++) {
            long hourStart = System.nanoTime();
            int want = target(hour, peak, trough);
            int leaving = Math.max(0, running.size() * leavePercent / 100 + Math.max(0, running.size() - want));
            destroy(leaving);
            submit(image, Math.max(0, want - running.size()), cluster, clients);
            int hourSamples = 0;
            double hourOn = 0;
            do {
                int on = poweredOn();
                hourOn += on;
                hourSamples++;
                Thread.sleep(1000);
            } while (System.nanoTime() - hourStart < hourSeconds * 1_000_000_000L);
            onSum += hourOn;
            samples += hourSamples;
            System.out.printf(Locale.ROOT, "%02d:00 VMs %5d, powered-on hosts %.0f (hour average), %d now%n", hour, running.size(),
                    hourOn / hourSamples, poweredOn());
        }
        System.out.printf(Locale.ROOT, "day: average powered-on hosts %.0f of %d, %d live migrations, %d VMs refused%n", onSum / samples, hosts,
                migrations() - migrationsBefore, refused.get());
        destroy(running.size());
    }

    private void destroy(int count) throws Exception {
        List<String> doomed = new ArrayList<>();
        synchronized (running) {
            Collections.shuffle(running, random);
            for (int i = 0; i < count && !running.isEmpty(); i++) {
                doomed.add(running.remove(running.size() - 1));
            }
        }
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (List<String> part : partition(doomed, 8)) {
                futures.add(executor.submit(() -> {
                    for (String vm : part) {
                        text(cloud.raw("POST", "/groupmanager?destroyVirtualMachine", vm), "destroyVirtualMachine");
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        }
    }

    private void submit(String image, int count, int cluster, int clients) throws Exception {
        AtomicInteger left = new AtomicInteger(count);
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                futures.add(executor.submit(() -> {
                    int size;
                    while ((size = Math.min(cluster, left.getAndAdd(-cluster))) > 0) {
                        startCluster(image, size);
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        }
    }

    /** One cluster of VMs of 1–4 cores and 1–8 GiB, polled until settled. */
    private void startCluster(String image, int size) throws Exception {
        StringBuilder body = new StringBuilder("{\"virtualMachineTemplates\": [");
        for (int i = 0; i < size; i++) {
            int vcpus;
            long memoryGb;
            synchronized (random) {
                vcpus = 1 + random.nextInt(4);
                memoryGb = 1 + random.nextInt(8);
            }
            body.append(i == 0 ? "" : ", ").append("{\"name\": \"day").append(names.incrementAndGet()).append("\", \"vcpus\": ").append(vcpus)
                    .append(", \"memory\": ").append(memoryGb * KB_PER_GB).append(", \"imageId\": \"").append(image).append("\"}");
        }
        body.append("]}");
        String task = text(cloud.raw("POST", "/groupmanager?startVirtualCluster", body.toString()), "startVirtualCluster").strip();
        String taskBody = MAPPER.writeValueAsString(task);
        while (true) {
            String answer = text(cloud.raw("POST", "/groupmanager?getVirtualClusterResponse", taskBody), "getVirtualClusterResponse").strip();
            if (!answer.isEmpty() && !answer.equals("null")) {
                List<String> ok = new ArrayList<>();
                int bad = 0;
                boolean settled = true;
                for (JsonNode vm : MAPPER.readTree(answer).path("virtualMachineMetaData")) {
                    switch (vm.path("status").asText()) {
                        case "RUNNING" -> ok.add(vm.at("/virtualMachineLocation/virtualMachineId").asText());
                        case "ERROR" -> bad++;
                        default -> settled = false;
                    }
                }
                if (settled && ok.size() + bad == size) {
                    running.addAll(ok);
                    refused.addAndGet(bad);
                    return;
                }
            }
            Thread.sleep(100);
        }
    }

    private int poweredOn() throws Exception {
        int on = 0;
        for (JsonNode lc : lcStatuses()) {
            on += lc.path("status").asText().equals("PASSIVE") ? 0 : 1;
        }
        return on;
    }

    private JsonNode lcStatuses() throws Exception {
        return MAPPER.readTree(text(cloud.raw("GET", "/bootstrap?getLocalControllerList", null), "getLocalControllerList"))
                .path("localControllers");
    }

    /** Live migrations the cloud has recorded (os-migrations), consolidation's included. */
    private long migrations() throws Exception {
        return cloud.send("GET", "/compute/v2.1/os-migrations?migration_type=live-migration", null, 200).path("migrations").size();
    }

    private static <T> List<List<T>> partition(List<T> items, int parts) {
        List<List<T>> result = new ArrayList<>();
        for (int p = 0; p < parts; p++) {
            result.add(new ArrayList<>());
        }
        for (int i = 0; i < items.size(); i++) {
            result.get(i % parts).add(items.get(i));
        }
        return result;
    }

    private static String text(HttpResponse<byte[]> response, String what) {
        String body = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() != 200) {
            throw new IllegalStateException(what + " answered " + response.statusCode() + ": " + body);
        }
        return body;
    }
}
