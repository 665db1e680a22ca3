package io.strata.bench;

import io.strata.hypervisor.qemu.QmpClient;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.DiskReplicator;
import io.strata.migration.disk.RawDisk;
import io.strata.migration.host.LiveQemuDisk;
import io.strata.migration.host.LocalHost;
import io.strata.migration.host.TrackedQcow2Disk;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Replication of one disk: a full execution, then an incremental one after a share of its 64 KiB
 * blocks changed, against {@code qemu-img convert} of the same disk in the same run. The disk is
 * fully allocated, half random (incompressible) and half a repetitive, compressible pattern, as an
 * installed system's disk roughly is. Checks the destination's checksum after each execution.
 *
 * <pre>  java -jar strata-bench.jar replication [--size-mb 1024] [--changed-percent 1] [--dir DIR] [--cases raw,qcow2,live]</pre>
 * {@code --cases} runs only the named sections (all three by default); qcow2 needs the raw disk,
 * which is filled for it either way.
 */
final class ReplicationBench {
    private static final int BLOCK = DiskReplicator.BLOCK_SIZE;

    private ReplicationBench() {}

    public static void main(String[] args) throws Exception {
        long sizeMb = 1024;
        double changedPercent = 1.0;
        Path base = Path.of(System.getProperty("java.io.tmpdir"));
        java.util.Set<String> cases = java.util.Set.of("raw", "qcow2", "live");
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--size-mb" -> sizeMb = Long.parseLong(args[i + 1]);
                case "--changed-percent" -> changedPercent = Double.parseDouble(args[i + 1]);
                case "--dir" -> base = Path.of(args[i + 1]);
                case "--cases" -> cases = java.util.Set.of(args[i + 1].split(","));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory(base, "replication-bench-");
        try {
            if (!java.util.Set.of("raw", "qcow2", "live").containsAll(cases)) {
                throw new IllegalArgumentException("--cases takes raw, qcow2 and live: " + cases);
            }
            if (cases.contains("raw")) {
                run(dir, sizeMb << 20, changedPercent);
                System.out.println();
            } else {
                fill(dir.resolve("source.raw"), sizeMb << 20);
            }
            if (cases.contains("qcow2")) {
                runQcow2AtRest(dir, sizeMb << 20, changedPercent);
                System.out.println();
            }
            if (cases.contains("live")) {
                runLive(dir, sizeMb << 20, changedPercent);
            }
        } finally {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void run(Path dir, long size, double changedPercent) throws Exception {
        Path source = dir.resolve("source.raw");
        Path target = dir.resolve("target.raw");
        Path state = dir.resolve("state.hashes");
        fill(source, size);
        int blocks = (int) (size / BLOCK);
        System.out.printf("disk: %d MiB raw, fully allocated (half random, half compressible), %d blocks of %d KiB%n",
                size >> 20, blocks, BLOCK >> 10);

        long convertStart = System.nanoTime();
        Process convert = new ProcessBuilder("qemu-img", "convert", "-f", "raw", "-O", "raw", source.toString(), dir.resolve("convert.raw").toString())
                .inheritIO().start();
        if (convert.waitFor() != 0) {
            throw new IllegalStateException("qemu-img convert failed");
        }
        double convertSeconds = (System.nanoTime() - convertStart) / 1e9;
        Files.delete(dir.resolve("convert.raw"));

        DiskReplicator replicator = new DiskReplicator();
        DiskReplicator.Stats full = replicate(replicator, source, target, state);
        check(source, target, "full");

        int changed = (int) Math.round(blocks * changedPercent / 100);
        change(source, blocks, changed);
        DiskReplicator.Stats incremental = replicate(replicator, source, target, state);
        check(source, target, "incremental");

        double fullSeconds = full.millis() / 1000.0;
        double incrementalSeconds = incremental.millis() / 1000.0;
        System.out.printf("qemu-img convert (raw to raw, same disk): %.2f s, %.0f MiB/s%n", convertSeconds, size / 1048576.0 / convertSeconds);
        System.out.printf("full execution: %.2f s, %.0f MiB/s, %d of %d blocks sent, %.1f MiB on the wire (%.1f%% of the disk)%n",
                fullSeconds, size / 1048576.0 / fullSeconds, full.blocksSent(), full.blocks(), full.wireBytes() / 1048576.0,
                100.0 * full.wireBytes() / size);
        System.out.printf("incremental execution (%d blocks = %.2f%% changed): %.2f s, %d blocks sent, %.2f MiB on the wire (%.2f%% of the disk)%n",
                changed, 100.0 * changed / blocks, incrementalSeconds, incremental.blocksSent(), incremental.wireBytes() / 1048576.0,
                100.0 * incremental.wireBytes() / size);
        System.out.printf("full / incremental time: %.1fx; full throughput / qemu-img convert: %.0f%%%n", fullSeconds / incrementalSeconds,
                100.0 * convertSeconds / fullSeconds);
        System.out.println("checksums: destination equals source after both executions");
    }

    /**
     * The same disk as a qcow2 image at rest, read as the qemu-host provider reads it, through the
     * NBD export of a qemu-storage-daemon: the full execution adds a persistent dirty bitmap to the
     * image and reads every allocated block, hashing it; the changed blocks are then written
     * through qemu-io (QEMU's block layer, as a guest would), and the incremental execution reads
     * only the clusters the bitmap marks (NBD block status). The full execution is compared with
     * {@code qemu-img convert} of the image to raw (the conversion that checks the destination).
     */
    private static void runQcow2AtRest(Path dir, long size, double changedPercent) throws Exception {
        Path raw = dir.resolve("source.raw");
        Path source = dir.resolve("source.qcow2");
        Path target = dir.resolve("qcow2-target.raw");
        Path state = dir.resolve("qcow2-state.hashes");
        Path scratch = dir.resolve("qcow2-scratch");
        Files.createDirectories(scratch);
        exec("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), source.toString());
        // A disk at rest has long been written back: the conversion's dirty pages are flushed
        // here, not by the first flush the full execution's open makes (seconds for 1 GiB).
        try (java.nio.channels.FileChannel written = java.nio.channels.FileChannel.open(source, java.nio.file.StandardOpenOption.WRITE)) {
            written.force(true);
        }
        DiskReplicator replicator = new DiskReplicator();
        // Only an image with a backing file is read through a raw copy: not this one.
        TrackedQcow2Disk.Fallback copy = () -> {
            throw new IllegalStateException("the image was read through the untracked fallback");
        };
        // A worker is a long-running process that has used QMP, Jackson and the replicator
        // before: two executions on a separate 64 MiB image load and compile that code first, so
        // the timed execution does not pay this JVM's class loading (0.6-0.9 s on this host).
        Path warmImage = dir.resolve("warm-up.qcow2");
        exec("qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-o", "size=64M", raw.toString(), warmImage.toString());
        exec("qemu-img", "resize", "--shrink", warmImage.toString(), "64M");
        for (int i = 0; i < 2; i++) {
            replicateQcow2(replicator, warmImage, dir.resolve("warm-up.raw"), dir.resolve("warm-up.hashes"), scratch, copy, i > 0);
        }
        long fullStart = System.nanoTime();
        DiskReplicator.Stats full = replicateQcow2(replicator, source, target, state, scratch, copy, false);
        double fullSeconds = (System.nanoTime() - fullStart) / 1e9;
        double[] fullPhases = lastPhases.clone();
        double convertSeconds = checkQcow2(source, target, dir, "qcow2 full");

        int blocks = (int) (size / BLOCK);
        int changed = (int) Math.round(blocks * changedPercent / 100);
        SplittableRandom random = new SplittableRandom(4);
        BitSet chosen = new BitSet(blocks);
        while (chosen.cardinality() < changed) {
            chosen.set(random.nextInt(blocks));
        }
        java.util.List<String> qemuIo = new java.util.ArrayList<>(java.util.List.of("qemu-io", "-f", "qcow2"));
        for (int block = chosen.nextSetBit(0); block >= 0; block = chosen.nextSetBit(block + 1)) {
            qemuIo.addAll(java.util.List.of("-c", "write -q -P " + (1 + random.nextInt(255)) + " " + (long) block * BLOCK + " " + BLOCK));
        }
        qemuIo.add(source.toString());
        exec(qemuIo.toArray(String[]::new));

        long incrementalStart = System.nanoTime();
        DiskReplicator.Stats incremental = replicateQcow2(replicator, source, target, state, scratch, copy, true);
        double incrementalSeconds = (System.nanoTime() - incrementalStart) / 1e9;
        double[] incrementalPhases = lastPhases.clone();
        checkQcow2(source, target, dir, "qcow2 incremental");
        System.out.printf("offline qcow2 with a persistent dirty bitmap (times include opening and closing: qemu-storage-daemon start, bitmap rotation, its stop):%n");
        System.out.printf("qemu-img convert (qcow2 to raw, same image): %.2f s, %.0f MiB/s%n", convertSeconds, size / 1048576.0 / convertSeconds);
        System.out.printf("full execution: %.2f s, %.0f MiB/s, %d of %d blocks sent (replicator alone: %.2f s)%n", fullSeconds,
                size / 1048576.0 / fullSeconds, full.blocksSent(), full.blocks(), full.millis() / 1000.0);
        System.out.printf("incremental execution (%d blocks = %.2f%% changed): %.3f s, %d blocks read, %d sent, %.2f MiB handed over (%.2f%% of the disk)"
                + " (replicator alone: %.3f s)%n", changed, 100.0 * changed / blocks, incrementalSeconds, incremental.bytesRead() / BLOCK,
                incremental.blocksSent(), incremental.wireBytes() / 1048576.0, 100.0 * incremental.wireBytes() / size, incremental.millis() / 1000.0);
        System.out.printf("full / incremental time: %.1fx; full throughput / qemu-img convert (qcow2 to raw): %.0f%%%n",
                fullSeconds / incrementalSeconds, 100.0 * convertSeconds / fullSeconds);
        System.out.printf("open / replicate / close: full %.3f / %.3f / %.3f s, incremental %.3f / %.3f / %.3f s%n", fullPhases[0], fullPhases[1],
                fullPhases[2], incrementalPhases[0], incrementalPhases[1], incrementalPhases[2]);
        System.out.println("checksums: destination equals the image's content after both executions");
    }

    /** Seconds the last {@link #replicateTimed} spent opening the source, replicating and closing both ends. */
    private static final double[] lastPhases = new double[3];

    private static DiskReplicator.Stats replicateQcow2(DiskReplicator replicator, Path source, Path target, Path state, Path scratch,
            TrackedQcow2Disk.Fallback copy, boolean expectTracked) throws IOException {
        return replicateTimed(replicator, () -> {
            TrackedQcow2Disk from = TrackedQcow2Disk.open(new LocalHost(), source, "bench", scratch, copy);
            if (from.tracked() != expectTracked) {
                from.close();
                throw new IllegalStateException("the image's bitmap was " + (expectTracked ? "not " : "") + "used");
            }
            return from;
        }, target, state);
    }

    /** Opens a source; the opening is timed as the execution's first phase. */
    private interface SourceOpener {
        BlockSource open() throws IOException;
    }

    /** One execution into the raw file {@code target}, its open / replicate / close split kept in {@link #lastPhases}. */
    private static DiskReplicator.Stats replicateTimed(DiskReplicator replicator, SourceOpener opener, Path target, Path state)
            throws IOException {
        long start = System.nanoTime();
        DiskReplicator.Stats stats;
        long replicated;
        try (BlockSource from = opener.open(); RawDisk to = RawDisk.openForWriting(target)) {
            long opened = System.nanoTime();
            lastPhases[0] = (opened - start) / 1e9;
            stats = replicator.replicate(from, to, state, () -> false, (done, total) -> { });
            replicated = System.nanoTime();
            lastPhases[1] = (replicated - opened) / 1e9;
        }
        lastPhases[2] = (System.nanoTime() - replicated) / 1e9;
        return stats;
    }

    /** Checks the destination against the image's content; returns the seconds its conversion to raw took. */
    private static double checkQcow2(Path image, Path target, Path dir, String what) throws Exception {
        Path content = dir.resolve("qcow2-content.raw");
        long start = System.nanoTime();
        exec("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), content.toString());
        double seconds = (System.nanoTime() - start) / 1e9;
        try {
            check(content, target, what);
            return seconds;
        } finally {
            Files.delete(content);
        }
    }

    private static void exec(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        try {
            if (process.waitFor() != 0) {
                throw new IllegalStateException(command[0] + " failed: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command[0], e);
        }
    }

    /**
     * The same disk attached to a QEMU (a virtio-blk device of a machine that is not started):
     * executions read it through a fleecing node over NBD, the second one only the blocks its
     * dirty bitmap marks. The changed blocks are written through the device, as a guest would.
     */
    private static void runLive(Path dir, long size, double changedPercent) throws Exception {
        Path source = dir.resolve("source.raw");
        Path target = dir.resolve("live-target.raw");
        Path state = dir.resolve("live-state.hashes");
        Path qmpSocket = dir.resolve("qmp.sock");
        Path guestSocket = dir.resolve("guest.sock");
        Process qemu = new ProcessBuilder("qemu-system-x86_64", "-machine", "pc", "-S", "-nodefaults", "-display", "none",
                "-qmp", "unix:" + qmpSocket + ",server=on,wait=off", "-qmp", "unix:" + guestSocket + ",server=on,wait=off",
                "-blockdev", "{\"driver\":\"raw\",\"node-name\":\"disk0\",\"file\":{\"driver\":\"file\",\"filename\":\"" + source + "\"}}",
                "-device", "virtio-blk-pci,drive=disk0,id=vd0").redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
        try {
            for (int i = 0; i < 200 && !(Files.exists(qmpSocket) && Files.exists(guestSocket)); i++) {
                Thread.sleep(50);
            }
            // The full execution must not pay for QEMU's own start: its first QMP connection
            // waited up to 0.3 s for a QEMU still initialising (and inflated the full/incremental ratio).
            try (QmpClient ready = QmpClient.connect(qmpSocket, "bench", java.time.Duration.ofSeconds(10))) {
                ready.execute("query-status");
            }
            DiskReplicator replicator = new DiskReplicator();
            Path scratch = dir.resolve("scratch");
            DiskReplicator.Stats full = replicateLive(replicator, qmpSocket, source, target, state, scratch);
            double[] fullPhases = lastPhases.clone();
            check(source, target, "live full");
            int blocks = (int) (size / BLOCK);
            int changed = (int) Math.round(blocks * changedPercent / 100);
            Path data = dir.resolve("block.bin");
            try (QmpClient guest = QmpClient.connect(guestSocket, "bench", java.time.Duration.ofSeconds(10))) {
                SplittableRandom random = new SplittableRandom(3);
                BitSet chosen = new BitSet(blocks);
                while (chosen.cardinality() < changed) {
                    chosen.set(random.nextInt(blocks));
                }
                byte[] bytes = new byte[BLOCK];
                for (int block = chosen.nextSetBit(0); block >= 0; block = chosen.nextSetBit(block + 1)) {
                    for (int i = 0; i < bytes.length; i += 8) {
                        java.nio.ByteBuffer.wrap(bytes, i, 8).putLong(random.nextLong());
                    }
                    Files.write(data, bytes);
                    guest.execute("human-monitor-command", java.util.Map.of("command-line",
                            "qemu-io -d /machine/peripheral/vd0/virtio-backend \"write -q -s " + data + " " + (long) block * BLOCK + " " + BLOCK + "\""));
                }
                guest.execute("human-monitor-command", java.util.Map.of("command-line", "qemu-io -d /machine/peripheral/vd0/virtio-backend flush"));
            }
            DiskReplicator.Stats incremental = replicateLive(replicator, qmpSocket, source, target, state, scratch);
            double[] incrementalPhases = lastPhases.clone();
            check(source, target, "live incremental");
            // An execution is the export's set-up, the copy and the export's removal: its time is
            // all three (the replicator's alone is shown beside it).
            double fullSeconds = fullPhases[0] + fullPhases[1] + fullPhases[2];
            double incrementalSeconds = incrementalPhases[0] + incrementalPhases[1] + incrementalPhases[2];
            System.out.printf("live (running QEMU, fleecing + NBD + dirty bitmap; times include opening and closing the export):%n");
            System.out.printf("full execution: %.2f s, %.0f MiB/s, %.1f MiB on the wire (%.1f%% of the disk) (replicator alone: %.2f s)%n",
                    fullSeconds, size / 1048576.0 / fullSeconds, full.wireBytes() / 1048576.0, 100.0 * full.wireBytes() / size,
                    full.millis() / 1000.0);
            System.out.printf("incremental execution (%d blocks = %.2f%% changed): %.3f s, %d blocks read, %d sent, %.2f MiB on the wire "
                            + "(%.2f%% of the disk) (replicator alone: %.3f s)%n",
                    changed, 100.0 * changed / blocks, incrementalSeconds, incremental.bytesRead() / BLOCK, incremental.blocksSent(),
                    incremental.wireBytes() / 1048576.0, 100.0 * incremental.wireBytes() / size, incremental.millis() / 1000.0);
            System.out.printf("full / incremental time: %.1fx (replicator alone: %.1fx)%n", fullSeconds / incrementalSeconds,
                    (double) full.millis() / Math.max(1, incremental.millis()));
            System.out.printf("open / replicate / close: full %.3f / %.3f / %.3f s, incremental %.3f / %.3f / %.3f s%n", fullPhases[0],
                    fullPhases[1], fullPhases[2], incrementalPhases[0], incrementalPhases[1], incrementalPhases[2]);
            System.out.println("checksums: destination equals source after both executions");
        } finally {
            qemu.destroy();
            qemu.waitFor();
        }
    }

    private static DiskReplicator.Stats replicateLive(DiskReplicator replicator, Path qmp, Path source, Path target, Path state, Path scratch)
            throws IOException {
        return replicateTimed(replicator, () -> LiveQemuDisk.open(new LocalHost(), qmp, source, "bench", scratch), target, state);
    }

    private static DiskReplicator.Stats replicate(DiskReplicator replicator, Path source, Path target, Path state) throws IOException {
        try (RawDisk from = RawDisk.openForReading(source); RawDisk to = RawDisk.openForWriting(target)) {
            return replicator.replicate(from, to, state, () -> false, (done, total) -> { });
        }
    }

    private static void fill(Path file, long size) throws IOException {
        SplittableRandom random = new SplittableRandom(1);
        byte[] pattern = "strata replication benchmark: a compressible line of a text file or a binary\n".getBytes();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
            for (long offset = 0; offset < size; offset += buffer.capacity()) {
                buffer.clear();
                if ((offset >> 20) % 2 == 0) {
                    while (buffer.remaining() >= 8) {
                        buffer.putLong(random.nextLong());
                    }
                } else {
                    while (buffer.hasRemaining()) {
                        buffer.put(pattern, 0, Math.min(pattern.length, buffer.remaining()));
                    }
                    // A counter every 4 KiB keeps blocks distinct, as real files are.
                    for (int at = 0; at + 8 <= buffer.capacity(); at += 4096) {
                        buffer.putLong(at, offset + at);
                    }
                }
                buffer.flip();
                while (buffer.hasRemaining()) {
                    channel.write(buffer, offset + buffer.position());
                }
            }
            // Written back before anything is timed: otherwise the kernel writes this 1 GiB out
            // during whichever measurement comes first.
            channel.force(true);
        }
    }

    /** Overwrites {@code count} distinct random blocks with new random data. */
    private static void change(Path file, int blocks, int count) throws IOException {
        SplittableRandom random = new SplittableRandom(2);
        BitSet chosen = new BitSet(blocks);
        while (chosen.cardinality() < count) {
            chosen.set(random.nextInt(blocks));
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.allocate(BLOCK);
            for (int block = chosen.nextSetBit(0); block >= 0; block = chosen.nextSetBit(block + 1)) {
                buffer.clear();
                while (buffer.hasRemaining()) {
                    buffer.putLong(random.nextLong());
                }
                buffer.flip();
                channel.write(buffer, (long) block * BLOCK);
            }
        }
    }

    private static void check(Path source, Path target, String what) throws Exception {
        String a = sha256(source);
        String b = sha256(target);
        if (!a.equals(b)) {
            throw new IllegalStateException("after the " + what + " execution the destination differs from the source");
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
