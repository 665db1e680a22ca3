package io.strata.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Live images on real guests, through the Compute API of a running cloud with the QEMU driver
 * (bench/live-image.sh starts one): cold boot against clone start, p50/p99 of clone starts for
 * several batch sizes, bless time against guest RAM, and the PSS of idle clones.
 *
 * <p>"Guest running" is, for a cold boot, the guest's ready marker on its console (the kernel
 * booted and init ran); for a clone, the server turning ACTIVE, which the driver reports once QEMU
 * has loaded the image's device state and resumed the vCPUs (its memory is the image's, so the
 * guest is already past its boot). Both are timed from the API call.
 */
final class LiveImageLoad {
    private static final String READY = "STRATA-GUEST-READY";

    private final CloudClient cloud;
    private final String image;
    private final Path dataDir;
    /** The cloud's process, when on this machine: its scheduler times are shown per batch. */
    private final long controllerPid;
    /**
     * How often a batch is polled. Each poll is a list of the whole batch, which costs the
     * controller CPU on the cores the clones start on (a quarter of its time in a 50-clone
     * burst at 20 ms); the launched_at times below do not depend on it.
     */
    private final long pollMillis;

    private LiveImageLoad(CloudClient cloud, String image, Path dataDir, long controllerPid, long pollMillis) {
        this.cloud = cloud;
        this.image = image;
        this.dataDir = dataDir;
        this.controllerPid = controllerPid;
        this.pollMillis = pollMillis;
    }

    static void main(String[] args) throws Exception {
        if (args.length < 4) {
            throw new IllegalArgumentException("usage: live-image URL PASSWORD IMAGE_ID DATA_DIR [--boots N] [--counts 1,10,50] "
                    + "[--ram 256,512,1024] [--settle SECONDS] [--singles N] [--warm N] [--warmup BATCHES] [--warmup-size CLONES] [--controller-pid PID] [--poll-ms MS] [--cold-only]");
        }
        int boots = 5;
        String counts = "1,10,50";
        String rams = "256,512,1024";
        int settle = 10;
        int singles = 10;
        int warmup = 0;
        int warmupSize = 10;
        int warm = 1;
        long controllerPid = 0;
        long pollMillis = CloudClient.POLL_MILLIS;
        boolean coldOnly = false;
        for (int i = 4; i < args.length; i += 2) {
            if (args[i].equals("--cold-only")) {
                coldOnly = true; // the QEMU driver's own benchmark: cold boots through the API, no live image
                i--;
                continue;
            }
            switch (args[i]) {
                case "--boots" -> boots = Integer.parseInt(args[i + 1]);
                case "--counts" -> counts = args[i + 1];
                case "--ram" -> rams = args[i + 1];
                case "--settle" -> settle = Integer.parseInt(args[i + 1]);
                case "--singles" -> singles = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--warmup-size" -> warmupSize = Integer.parseInt(args[i + 1]);
                case "--warm" -> warm = Integer.parseInt(args[i + 1]);
                case "--controller-pid" -> controllerPid = Long.parseLong(args[i + 1]);
                case "--poll-ms" -> pollMillis = Long.parseLong(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        LiveImageLoad load = new LiveImageLoad(new CloudClient(args[0], args[1]).login(), args[2], Path.of(args[3]), controllerPid, pollMillis);
        System.out.printf(Locale.ROOT, "strata live-image benchmark: url=%s cpus=%d%n", args[0], Runtime.getRuntime().availableProcessors());
        String flavor = load.flavor(256);
        Latencies cold = load.coldBoots(flavor, boots);
        if (coldOnly) {
            System.exit(0);
        }
        Latencies one = null;
        String source = load.bootToReady(flavor, "li-source");
        long blessStart = System.nanoTime();
        String live = load.bless(source);
        System.out.printf(Locale.ROOT, "bless of a 256 MB guest (API call to BLESSED): %.0f ms%n", (System.nanoTime() - blessStart) / 1e6);
        // A controller that has served requests for a while has its code compiled; a fresh one
        // interprets the launch path for its first batches (the first 10-clone batch of a run is
        // typically the slowest). Warm-up batches (10 clones each unless --warmup-size says otherwise:
        // a burst of 50 runs code a burst of 10 does not, e.g. longer lists and bigger commits) are
        // launched, printed and deleted first.
        for (int i = 0; i < warmup; i++) {
            load.awaitWarm(Math.min(warm, warmupSize));
            Latencies ignored = new Latencies();
            Latencies ignoredRecorded = new Latencies();
            List<String> clones = load.launch(live, warmupSize, ignored, ignoredRecorded);
            System.out.printf(Locale.ROOT, "warm-up batch %d of %d clones (not counted): p50 %.1f ms as the API records it%n", i + 1,
                    warmupSize, ignoredRecorded.percentileMillis(50));
            load.deleteAll(clones);
        }
        // One clone at a time, as a user would start them: each finds the live image's warm QEMU
        // process (strata up --live-image-warm, default 1) refilled since the previous one.
        if (singles > 0) {
            Latencies single = new Latencies();
            Latencies singleRecorded = new Latencies();
            List<String> started = new ArrayList<>();
            for (int i = 0; i < singles; i++) {
                Thread.sleep(3000); // the pool refills in the background (about 1-2 s of QEMU start and load)
                started.addAll(load.launch(live, 1, single, singleRecorded));
            }
            System.out.printf(Locale.ROOT, "clone start, one at a time, 3 s apart (API call to ACTIVE seen): %s%n", single.summary());
            System.out.printf(Locale.ROOT, "clone start, one at a time, 3 s apart (API call to the launched_at the API records): %s%n",
                    singleRecorded.summary());
            one = single;
            Thread.sleep(settle * 1000L);
            load.reportPss(started);
            load.deleteAll(started);
            Thread.sleep(3000);
        }
        for (String count : counts.split(",")) {
            int n = Integer.parseInt(count.trim());
            // A batch meets the pool as the cloud keeps it: full (refilled in the background since the last batch).
            load.awaitWarm(warm);
            Latencies starts = new Latencies();
            Latencies recorded = new Latencies();
            List<String> clones = load.launch(live, n, starts, recorded);
            System.out.printf(Locale.ROOT, "clone start, %d at once (API call to ACTIVE seen, each): %s%n", n, starts.summary());
            System.out.printf(Locale.ROOT, "clone start, %d at once (API call to the launched_at the API records, each): %s%n", n,
                    recorded.summary());
            if (one == null) {
                one = starts;
            }
            Thread.sleep(settle * 1000L);
            load.reportPss(clones);
            load.deleteAll(clones);
        }
        if (one != null) {
            System.out.printf(Locale.ROOT, "speed-up of one clone start over a cold boot (p50): %.1fx%n",
                    cold.percentileMillis(50) / one.percentileMillis(50));
        }
        load.deleteAll(List.of(source));
        load.cloud.send("POST", "/compute/v2.1/servers/" + live + "/action", "{\"co_discard\": null}", 200);
        for (String ram : rams.split(",")) {
            int mb = Integer.parseInt(ram.trim());
            String server = load.bootToReady(load.flavor(mb), "li-ram-" + mb);
            long start = System.nanoTime();
            String image = load.bless(server);
            System.out.printf(Locale.ROOT, "bless of a %d MB guest (API call to BLESSED): %.0f ms%n", mb, (System.nanoTime() - start) / 1e6);
            load.deleteAll(List.of(server));
            load.cloud.send("POST", "/compute/v2.1/servers/" + image + "/action", "{\"co_discard\": null}", 200);
        }
        System.exit(0);
    }

    private String flavor(int ramMb) throws Exception {
        String id = "bench.li." + ramMb;
        if (cloud.status("/compute/v2.1/flavors/" + id) == 404) {
            cloud.send("POST", "/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"" + id + "\", \"id\": \"" + id + "\", \"ram\": " + ramMb
                    + ", \"vcpus\": 1, \"disk\": 1}}", 200);
        }
        return id;
    }

    private Latencies coldBoots(String flavor, int boots) throws Exception {
        Latencies ready = new Latencies();
        for (int i = 0; i < boots; i++) {
            long start = System.nanoTime();
            String id = create(flavor, "li-cold-" + i);
            awaitConsole(id);
            ready.add(System.nanoTime() - start);
            deleteAll(List.of(id));
        }
        System.out.printf(Locale.ROOT, "cold boot (API call to the guest's ready marker), one at a time: %s%n", ready.summary());
        return ready;
    }

    private String bootToReady(String flavor, String name) throws Exception {
        String id = create(flavor, name);
        awaitConsole(id);
        return id;
    }

    private String create(String flavor, String name) throws Exception {
        return cloud.send("POST", "/compute/v2.1/servers", "{\"server\": {\"name\": \"" + name + "\", \"imageRef\": \"" + image
                + "\", \"flavorRef\": \"" + flavor + "\"}}", 202).at("/server/id").asText();
    }

    private void awaitConsole(String id) throws Exception {
        cloud.waitFor(id, "ACTIVE");
        while (!cloud.send("POST", "/compute/v2.1/servers/" + id + "/action", "{\"os-getConsoleOutput\": {\"length\": 50}}", 200)
                .get("output").asText().contains(READY)) {
            Thread.sleep(CloudClient.POLL_MILLIS);
        }
    }

    private String bless(String server) throws Exception {
        String live = cloud.send("POST", "/compute/v2.1/servers/" + server + "/action", "{\"co_bless\": {}}", 200).get(0).get("id").asText();
        cloud.waitFor(live, "BLESSED");
        return live;
    }

    /**
     * Launches {@code n} clones in one call; each clone's time runs from the call to its ACTIVE,
     * twice: as this client saw it (later by up to a poll interval) and as the API recorded it
     * ({@code OS-SRV-USG:launched_at}, in microseconds, taken when the driver reported the guest
     * running; this machine's clock on both sides). One list request per poll interval watches
     * them all, as a client watching a batch would: a GET per clone every 20 ms (2,500 requests/s
     * for 50 clones) was load of the benchmark's own on the two cores the clones start on.
     */
    private List<String> launch(String live, int n, Latencies starts, Latencies recorded) throws Exception {
        SchedulerTimes controllerBefore = controllerPid > 0 ? SchedulerTimes.of(controllerPid) : null;
        SchedulerTimes selfBefore = SchedulerTimes.of(ProcessHandle.current().pid());
        Latencies lists = new Latencies();
        java.time.Instant called = java.time.Instant.now();
        long start = System.nanoTime();
        JsonNode launched = cloud.send("POST", "/compute/v2.1/servers/" + live + "/action",
                "{\"co_launch\": {\"name\": \"li-clone\", \"num_instances\": " + n + "}}", 200);
        System.out.printf(Locale.ROOT, "co_launch of %d clones answered after %.1f ms%n", n, (System.nanoTime() - start) / 1e6);
        List<String> ids = new ArrayList<>();
        launched.forEach(c -> ids.add(c.get("id").asText()));
        Set<String> waiting = new HashSet<>(ids);
        long deadline = start + 600_000_000_000L;
        while (!waiting.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(waiting.size() + " clones not ACTIVE after 10 minutes");
            }
            long sent = System.nanoTime();
            JsonNode list = cloud.send("GET", "/compute/v2.1/servers/detail?name=li-clone", null, 200).get("servers");
            long now = System.nanoTime();
            lists.add(now - sent);
            for (JsonNode server : list) {
                String id = server.get("id").asText();
                if (!waiting.contains(id)) {
                    continue;
                }
                String status = server.get("status").asText();
                if (status.equals("ACTIVE") && server.get("OS-EXT-STS:task_state").isNull()) {
                    waiting.remove(id);
                    starts.add(now - start);
                    java.time.Instant launchedAt = java.time.LocalDateTime.parse(server.get("OS-SRV-USG:launched_at").asText())
                            .toInstant(java.time.ZoneOffset.UTC);
                    recorded.add(java.time.Duration.between(called, launchedAt).toNanos());
                } else if (status.equals("ERROR")) {
                    throw new IllegalStateException("clone " + id + " went to ERROR: " + server.get("fault"));
                }
            }
            if (!waiting.isEmpty()) {
                Thread.sleep(pollMillis);
            }
        }
        // Whether the control plane was starved of CPU or waited on something else while the batch started.
        System.out.printf(Locale.ROOT, "  list requests while waiting (each): %s%n", lists.summary());
        if (controllerBefore != null) {
            System.out.printf(Locale.ROOT, "  controller during the batch: %s%n", SchedulerTimes.of(controllerPid).since(controllerBefore));
        }
        System.out.printf(Locale.ROOT, "  benchmark client during the batch: %s%n", SchedulerTimes.of(ProcessHandle.current().pid()).since(selfBefore));
        return ids;
    }

    /** Waits (up to 3 minutes) until {@code n} warm QEMU processes have loaded, and reports what one costs. */
    private void awaitWarm(int n) throws Exception {
        long deadline = System.nanoTime() + 180_000_000_000L;
        List<Path> loaded = List.of();
        while (System.nanoTime() < deadline) {
            loaded = warmProcesses();
            if (loaded.size() >= n) {
                Thread.sleep(2000);     // the last one's state load (a few hundred ms after its monitor is up)
                break;
            }
            Thread.sleep(500);
        }
        long totalKb = 0;
        for (Path pidFile : loaded) {
            totalKb += pssKb(Files.readString(pidFile).strip());
        }
        if (!loaded.isEmpty()) {
            System.out.printf(Locale.ROOT, "warm processes waiting: %d (of %d kept), PSS %.0f MB each%n", loaded.size(), n,
                    totalKb / 1024.0 / loaded.size());
        }
    }

    /** Pid files of the warm pool's processes that have loaded (their QMP socket is up). */
    private List<Path> warmProcesses() throws IOException {
        Path root = dataDir.resolve("qemu");
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (var dirs = Files.list(root)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith(".warm-")).map(d -> d.resolve("qemu.pid"))
                    .filter(Files::exists).filter(p -> Files.exists(p.resolveSibling("qmp.sock"))).toList();
        }
    }

    private static long pssKb(String pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "smaps_rollup"))) {
                if (line.startsWith("Pss:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            // gone meanwhile
        }
        return 0;
    }

    private void reportPss(List<String> clones) throws IOException {
        long totalKb = 0;
        int counted = 0;
        for (String id : clones) {
            Path pidFile = dataDir.resolve("qemu").resolve(id).resolve("qemu.pid");
            if (!Files.exists(pidFile)) {
                continue;
            }
            String pid = Files.readString(pidFile).strip();
            for (String line : Files.readAllLines(Path.of("/proc", pid, "smaps_rollup"))) {
                if (line.startsWith("Pss:")) {
                    totalKb += Long.parseLong(line.replaceAll("[^0-9]", ""));
                    counted++;
                }
            }
        }
        if (counted > 0) {
            System.out.printf(Locale.ROOT, "PSS per idle clone (%d clones of a 256 MB guest): %.0f MB%n", counted, totalKb / 1024.0 / counted);
        }
    }

    private void deleteAll(List<String> ids) throws Exception {
        for (String id : ids) {
            cloud.send("DELETE", "/compute/v2.1/servers/" + id, null, 204);
        }
        for (String id : ids) {
            cloud.waitGone(id);
        }
    }
}
