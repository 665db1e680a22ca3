package io.strata.migration.host;

import static io.strata.migration.host.HostAccess.quote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.qemu.QmpClient;
import io.strata.hypervisor.qemu.QmpException;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.NbdClient;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A qcow2 disk at rest (no running QEMU of ours) read with changed-block tracking kept in the
 * image itself: one persistent dirty bitmap {@code strata-off-KEY-done} per replica, holding
 * every cluster written since the start of the replica's last completed execution. Whatever
 * opens the image read-write through QEMU's block layer (a guest, qemu-nbd, qemu-io, qemu-img)
 * records its writes in it and stores it back on close.
 * <p>
 * An execution is one {@code qemu-storage-daemon} on the disk's host with the image and its NBD
 * server on the command line (started by one script on an SSH host, which first stops one left
 * by a dead worker; on this machine without a shell), driven over QMP (through an SSH tunnel for
 * a remote host): on an execution that reads 1% of a disk, process starts and round trips, not bytes, dominate, so there is one process and
 * the QMP commands go in three round trips to open and one to end. The daemon holds the image's
 * write lock throughout, so nobody writes while it is read: that is what makes the single bitmap
 * enough.
 * <ol>
 * <li>The daemon opens the image; QMP lists its bitmaps and, in the same round trip, copies the
 * bitmap into a temporary one of the daemon ({@code strata-export}, disabled, never stored),
 * which is exported read-only over NBD with the image.</li>
 * <li>An {@link NbdClient} lists the dirty extents with NBD block status
 * ({@code qemu:dirty-bitmap:}), and only those are read; without a usable bitmap the allocated
 * extents ({@code base:allocation}) are read whole. On an SSH host with compressed reads and
 * Python 3 the reads are made there and sent as zlib frames ({@link HostNbdReader}), otherwise
 * by the same client.</li>
 * <li>{@link #complete()} then {@link #close()} clears the bitmap: nothing was written since the
 * execution's start. Closing without completing leaves it as it was, so a failed execution loses
 * no change; the temporary copy ends with the daemon. A worker that died in between leaves its
 * daemon running; the next open stops it (TERM: it stores the bitmap, unchanged).</li>
 * </ol>
 * Without a usable bitmap (first execution, bitmap removed, disabled, or left {@code in-use}: a
 * writer died without storing it, so it may miss writes, and it is dropped) every allocated block
 * is read and hashed, and a new bitmap is added when the execution completes (the same as from
 * its start, as nothing writes meanwhile; none when it fails). Bitmaps {@code strata-off-KEY-N} of the earlier scheme (one per execution,
 * rotated) are merged into it once. An image with a backing file (writes may land in the backing
 * file, which its bitmaps do not see) is read through {@code fallback}, untracked.
 * <p>
 * The daemon opens the image read-write, as any writer does: if it is killed (KILL, or the host
 * fails) while it runs, QEMU leaves every persistent bitmap of the image {@code in-use}, and the
 * next execution reads the disk whole.
 */
public final class TrackedQcow2Disk implements BlockSource {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(60);
    private static final String NODE = "strata-disk";
    private static final String EXPORT = "strata";
    /** The daemon-only copy of the replica's bitmap that is exported (never stored in the image). */
    private static final String EXPORTED_BITMAP = "strata-export";
    /** The replica's bitmap: {@code strata-off-KEY-} and this. */
    private static final String DONE = "done";

    /** Opens the whole-image reader used for an image that cannot be tracked. */
    public interface Fallback {
        BlockSource open() throws IOException;
    }

    private final HostAccess host;
    private final Daemon daemon;
    /** The replica's bitmap; its copy is exported when {@link #tracked}. */
    private final String bitmap;
    private final boolean tracked;
    private final BlockSource whole;
    private final Nbd nbd;
    private boolean completed;

    /** A qemu-storage-daemon of the image on its host and our QMP connection to it. */
    private record Daemon(Path pidFile, Path qmpSocket, Path nbdSocket, HostAccess.Tunnel tunnel, QmpClient qmp) {}

    /**
     * Our NBD connection to the daemon's export, and {@code reads}: its data reads, made on an SSH
     * host and sent compressed, or through {@code client}.
     */
    private record Nbd(HostAccess.Tunnel tunnel, NbdClient client, ExportReads reads) {}

    private TrackedQcow2Disk(HostAccess host, Daemon daemon, String bitmap, boolean tracked, BlockSource whole, Nbd nbd) {
        this.host = host;
        this.daemon = daemon;
        this.bitmap = bitmap;
        this.tracked = tracked;
        this.whole = whole;
        this.nbd = nbd;
    }

    /**
     * Opens {@code image} on {@code host}; {@code tracking} names this replica's bitmaps and
     * {@code workDir} (on the host) holds the daemon's sockets and pid file while it is read.
     */
    public static TrackedQcow2Disk open(HostAccess host, Path image, String tracking, Path workDir, Fallback fallback) throws IOException {
        String key = tracking.replaceAll("[^A-Za-z0-9]", "");
        String prefix = "strata-off-" + key + "-";
        // One daemon per replica and image, named so that one left by a dead worker (it would hold the image) is stopped here.
        String id = HexFormat.of().formatHex(sha256(tracking + "\0" + image)).substring(0, 12);
        Daemon daemon = start(host, image, workDir, id);
        String done = prefix + DONE;
        Nbd nbd = null;
        try {
            QmpClient qmp = daemon.qmp();
            // Sent together (one round trip): the copy fails harmlessly when there is no usable bitmap.
            CompletableFuture<JsonNode> listed = qmp.submit("query-named-block-nodes", Map.of("flat", true));
            CompletableFuture<JsonNode> copied = qmp.submit("transaction", Map.of("actions", List.of(
                    Map.of("type", "block-dirty-bitmap-add", "data", Map.of("node", NODE, "name", EXPORTED_BITMAP, "persistent", false,
                            "disabled", true)),
                    Map.of("type", "block-dirty-bitmap-merge", "data", Map.of("node", NODE, "target", EXPORTED_BITMAP, "bitmaps",
                            List.of(done))))));
            JsonNode node = node(qmp.await(listed, "query-named-block-nodes"));
            boolean copiedDone = succeeded(qmp, copied);
            JsonNode current = null;
            List<JsonNode> earlier = new ArrayList<>();
            for (JsonNode bitmap : node.path("dirty-bitmaps")) {
                String name = bitmap.path("name").asText();
                if (name.equals(done)) {
                    current = bitmap;
                } else if (name.startsWith(prefix) && name.substring(prefix.length()).matches("\\d{1,18}")) {
                    earlier.add(bitmap);
                }
            }
            List<JsonNode> ours = new ArrayList<>(earlier);
            if (current != null) {
                ours.add(current);
            }
            List<CompletableFuture<JsonNode>> steps = new ArrayList<>();
            if (node.path("image").hasNonNull("backing-filename")) {
                // Writes may land in the backing file, which these bitmaps do not see: they mean nothing.
                for (JsonNode bitmap : ours) {
                    steps.add(qmp.submit("block-dirty-bitmap-remove", Map.of("node", NODE, "name", bitmap.path("name").asText())));
                }
                for (CompletableFuture<JsonNode> step : steps) {
                    qmp.await(step, "block-dirty-bitmap-remove");
                }
                shutDown(host, daemon);
                return new TrackedQcow2Disk(host, null, null, false, fallback.open(), null);
            }
            // A bitmap left in-use (a writer died holding it) or disabled may miss writes.
            boolean usable = !ours.isEmpty() && ours.stream().allMatch(b -> !b.path("inconsistent").asBoolean() && b.path("recording").asBoolean());
            boolean tracked;
            if (usable && current != null && copiedDone) {
                tracked = true;
                for (JsonNode old : earlier) {
                    // Left by the earlier scheme (say, a downgrade and back): what they hold goes into the bitmap and its copy.
                    String name = old.path("name").asText();
                    steps.add(qmp.submit("block-dirty-bitmap-merge", Map.of("node", NODE, "target", done, "bitmaps", List.of(name))));
                    steps.add(qmp.submit("block-dirty-bitmap-merge", Map.of("node", NODE, "target", EXPORTED_BITMAP, "bitmaps", List.of(name))));
                    steps.add(qmp.submit("block-dirty-bitmap-remove", Map.of("node", NODE, "name", name)));
                }
            } else if (usable && current == null) {
                // The earlier scheme's bitmaps hold every change since the last completed execution: they become the one bitmap.
                List<String> names = earlier.stream().map(b -> b.path("name").asText()).toList();
                List<Map<String, Object>> actions = new ArrayList<>();
                actions.add(Map.of("type", "block-dirty-bitmap-add", "data", Map.of("node", NODE, "name", done, "persistent", true)));
                actions.add(Map.of("type", "block-dirty-bitmap-merge", "data", Map.of("node", NODE, "target", done, "bitmaps", names)));
                if (!copiedDone) {
                    actions.add(Map.of("type", "block-dirty-bitmap-add", "data", Map.of("node", NODE, "name", EXPORTED_BITMAP,
                            "persistent", false, "disabled", true)));
                }
                actions.add(Map.of("type", "block-dirty-bitmap-merge", "data", Map.of("node", NODE, "target", EXPORTED_BITMAP, "bitmaps",
                        List.of(done))));
                for (String name : names) {
                    actions.add(Map.of("type", "block-dirty-bitmap-remove", "data", Map.of("node", NODE, "name", name)));
                }
                steps.add(qmp.submit("transaction", Map.of("actions", actions)));
                tracked = true;
            } else if (usable) {
                throw new IOException("cannot copy bitmap " + done + " of " + image + " on " + host.name() + ": "
                        + copied.handle((value, failure) -> String.valueOf(failure)).join());
            } else {
                // First execution, or nothing usable: read whole. The new bitmap is added when the
                // execution completes, which is the same as adding it now (nothing writes the image
                // meanwhile); added now, a worker dying before the replicator marked its state
                // incomplete would leave a bitmap that misses the changes before this execution.
                for (JsonNode bitmap : ours) {
                    steps.add(qmp.submit("block-dirty-bitmap-remove", Map.of("node", NODE, "name", bitmap.path("name").asText())));
                }
                tracked = false;
            }
            steps.add(qmp.submit("block-export-add", tracked
                    ? Map.of("type", "nbd", "id", EXPORT, "node-name", NODE, "name", EXPORT, "writable", false, "bitmaps",
                            List.of(EXPORTED_BITMAP))
                    : Map.of("type", "nbd", "id", EXPORT, "node-name", NODE, "name", EXPORT, "writable", false)));
            for (CompletableFuture<JsonNode> step : steps) {
                qmp.await(step, "export of the image");
            }
            HostAccess.Tunnel tunnel = host.reach(daemon.nbdSocket());
            try {
                List<String> contexts = tracked
                        ? List.of(NbdClient.BASE_ALLOCATION, "qemu:dirty-bitmap:" + EXPORTED_BITMAP)
                        : List.of(NbdClient.BASE_ALLOCATION);
                NbdClient client = NbdClient.connect(tunnel.address(), EXPORT, contexts);
                try {
                    nbd = new Nbd(tunnel, client, ExportReads.of(host, daemon.nbdSocket(), EXPORT, client));
                } finally {
                    if (nbd == null) {
                        client.close();
                    }
                }
            } finally {
                if (nbd == null) {
                    tunnel.close();
                }
            }
            return new TrackedQcow2Disk(host, daemon, done, tracked, null, nbd);
        } catch (IOException | RuntimeException e) {
            try {
                shutDown(host, daemon);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof IOException io ? io : new IOException("cannot read " + image + " on " + host.name() + ": " + e.getMessage(), e);
        }
    }

    /** Whether a command that may fail for want of what it acts on succeeded. */
    private static boolean succeeded(QmpClient qmp, CompletableFuture<JsonNode> reply) {
        try {
            qmp.await(reply, "transaction");
            return true;
        } catch (QmpException e) {
            return false;
        }
    }

    /**
     * Stops a daemon left by a dead worker, then starts one with the image, a QMP socket and an
     * NBD server (no export yet: what it exports depends on the bitmaps it finds), and connects
     * to it.
     */
    private static Daemon start(HostAccess host, Path image, Path workDir, String id) throws IOException {
        Path pidFile = workDir.resolve("qsd-" + id + ".pid");
        Path qmpSocket = workDir.resolve("qsd-" + id + ".qmp");
        Path nbdSocket = workDir.resolve("qsd-" + id + ".nbd");
        // --daemonize returns once the daemon listens on QMP (errors before that go to our stderr),
        // and the daemon then points its streams to /dev/null: it holds none of our pipes. QEMU
        // replaces a socket file left behind. The NBD server listens from the start (nothing is
        // exported until QMP adds the export): one round trip fewer.
        // Reads through io_uring where the kernel and this QEMU have it, else through QEMU's thread
        // pool (the same daemon, started again): handing each read to a pool thread and its
        // completion back cost the daemon 35-45 % more CPU per GiB served here (1.3-2.0 s, against
        // 0.8-1.1 s with io_uring). A daemon that fails for another reason fails the second time too,
        // and that error is the one reported.
        if (host.isLocal()) {
            // Here each step is a system call, and the daemon is started without a shell (sh cost
            // ~4 ms of the ~20 ms a daemon start takes).
            if (host.exists(pidFile)) {
                host.runScript(stopScript(pidFile));
            }
            host.createDirectories(workDir);
            try {
                host.runProgram(daemonCommand(pidFile, qmpSocket, nbdSocket, image, "io_uring"));
            } catch (IOException uring) {
                try {
                    host.runProgram(daemonCommand(pidFile, qmpSocket, nbdSocket, image, "threads"));
                } catch (IOException threads) {
                    throw threads.getMessage().startsWith("Cannot run program")
                            ? new IOException("qemu-storage-daemon (QEMU >= 6.0) is needed to read a tracked qcow2 disk at rest: "
                                    + threads.getMessage(), threads)
                            : threads;
                }
            }
        } else {
            // One script, one round trip. Only built-ins besides the daemon when the directory exists.
            String daemon = String.join(" ", daemonCommand(pidFile, qmpSocket, nbdSocket, image, "io_uring").stream()
                    .limit(DAEMON_OPTIONS).map(HostAccess::quote).toList()) + " ";
            host.runScript("command -v qemu-storage-daemon >/dev/null || { echo 'qemu-storage-daemon (QEMU >= 6.0) is needed to read a"
                    + " tracked qcow2 disk at rest' >&2; exit 127; }; " + stopScript(pidFile) + "; { [ -d " + quote(workDir.toString())
                    + " ] || mkdir -p " + quote(workDir.toString()) + "; } && { " + daemon + quote(blockdev(image, "io_uring"))
                    + " </dev/null >/dev/null 2>&1 || " + daemon + quote(blockdev(image, "threads")) + " </dev/null >/dev/null; }");
        }
        HostAccess.Tunnel tunnel = null;
        try {
            tunnel = host.reach(qmpSocket);
            return new Daemon(pidFile, qmpSocket, nbdSocket, tunnel, QmpClient.connect(tunnel.address(), "qcow2-" + id, QMP_TIMEOUT));
        } catch (IOException | RuntimeException e) {
            if (tunnel != null) {
                tunnel.close();
            }
            try {
                host.runScript(stopScript(pidFile));
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof IOException io ? io : new IOException(e.getMessage() + " (on " + host.name() + ")", e);
        }
    }

    /** How many words of {@link #daemonCommand} come before the image's {@code --blockdev} value. */
    private static final int DAEMON_OPTIONS = 11;

    /** The daemon's command line: QMP and NBD server sockets, then {@code --blockdev} and the image's node. */
    private static List<String> daemonCommand(Path pidFile, Path qmpSocket, Path nbdSocket, Path image, String aio) {
        return List.of("qemu-storage-daemon", "--daemonize", "--pidfile", pidFile.toString(),
                "--chardev", "socket,id=qmp,server=on,wait=off,path=" + qmpSocket.toString().replace(",", ",,"), "--monitor", "chardev=qmp",
                "--nbd-server", "addr.type=unix,addr.path=" + nbdSocket.toString().replace(",", ",,"), "--blockdev", blockdev(image, aio));
    }

    /** The image's node; "backing": null: an image with a backing file opens too (it is then read through the fallback, not by the daemon). */
    private static String blockdev(Path image, String aio) {
        return MAPPER.createObjectNode().put("driver", "qcow2").put("node-name", NODE).putNull("backing")
                .set("file", MAPPER.createObjectNode().put("driver", "file").put("filename", image.toString()).put("aio", aio)).toString();
    }

    /** Our format node as query-named-block-nodes describes it. */
    private static JsonNode node(JsonNode nodes) throws IOException {
        for (JsonNode node : nodes) {
            if (node.path("node-name").asText().equals(NODE)) {
                return node;
            }
        }
        throw new IOException("qemu-storage-daemon does not list node " + NODE);
    }

    private static byte[] sha256(String text) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** Stops the daemon (TERM lets it store the bitmaps) and waits until the image's lock is free. */
    private static String stopScript(Path pidFile) {
        return HostAccess.stopDaemonScript(pidFile, "qemu-storage-daemon");
    }

    /**
     * Ends the daemon: {@code quit} makes it close the image (storing the bitmaps, releasing the
     * lock) before it closes the QMP socket, so the end of that connection means the image is free.
     */
    private static void shutDown(HostAccess host, Daemon daemon) throws IOException {
        try {
            boolean gone = false;
            if (daemon.qmp().isOpen()) {
                try {
                    daemon.qmp().submit("quit", null);
                } catch (QmpException e) {
                    // Closed meanwhile: stopped by its pid below.
                }
                try {
                    daemon.qmp().closedFuture().get(QMP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                    gone = true;
                } catch (TimeoutException | ExecutionException e) {
                    // Stopped by its pid below.
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (!gone) {
                host.runScript(stopScript(daemon.pidFile()));
            }
        } finally {
            daemon.qmp().close();
            daemon.tunnel().close();
            // QEMU removes its pid file and QMP socket on exit, not the NBD server's socket.
            host.deleteIfExists(daemon.nbdSocket());
        }
    }

    /** Whether the changed extents come from a bitmap (false: every allocated block is read and hashed). */
    public boolean tracked() {
        return tracked;
    }

    @Override
    public long size() {
        return nbd != null ? nbd.client().size() : whole.size();
    }

    /** The extents that do not read as zeros (NBD_STATE_ZERO clear: data, or a hole of unknown content). */
    @Override
    public List<Extent> dataExtents() throws IOException {
        return nbd != null ? nbd.client().extents(NbdClient.BASE_ALLOCATION, flags -> (flags & NbdClient.STATE_ZERO) == 0) : whole.dataExtents();
    }

    /** The extents written since the previous successful execution's start; null without a usable bitmap. */
    @Override
    public List<Extent> changedExtents() throws IOException {
        return tracked
                ? nbd.client().extents("qemu:dirty-bitmap:" + EXPORTED_BITMAP, flags -> (flags & NbdClient.STATE_DIRTY) != 0)
                : null;
    }

    @Override
    public void willRead(List<Extent> extents) throws IOException {
        if (nbd == null) {
            whole.willRead(extents);
            return;
        }
        List<Extent> clipped = new ArrayList<>();
        for (Extent extent : extents) {
            long end = Math.min(extent.end(), size());
            if (end > extent.offset()) {
                clipped.add(new Extent(extent.offset(), end - extent.offset()));
            }
        }
        nbd.reads().plan(clipped);
    }

    @Override
    public void read(long offset, ByteBuffer into) throws IOException {
        if (nbd == null) {
            whole.read(offset, into);
            return;
        }
        nbd.reads().readUpTo(offset, into);
    }

    @Override
    public void complete() {
        completed = true;
        if (whole != null) {
            whole.complete();
        }
    }

    /**
     * Ends the reading, keeps or undoes the rotation and stops the daemon; the host access goes
     * last (the whole-image reader closes it itself).
     */
    @Override
    public void close() throws IOException {
        try {
            if (nbd != null) {
                try {
                    nbd.reads().close();
                    nbd.client().close();
                } finally {
                    nbd.tunnel().close();
                }
            }
        } finally {
            try {
                if (daemon != null) {
                    // Completed: nothing was written since the execution's start (the daemon held the
                    // image), so the bitmap starts over, or starts. Not completed, the bitmap stays as
                    // it was (or absent). Sent with the quit: one round trip.
                    CompletableFuture<JsonNode> rotated = !completed ? null
                            : tracked ? daemon.qmp().submit("block-dirty-bitmap-clear", Map.of("node", NODE, "name", bitmap))
                            : daemon.qmp().submit("block-dirty-bitmap-add", Map.of("node", NODE, "name", bitmap, "persistent", true));
                    IOException stopping = null;
                    try {
                        shutDown(host, daemon);
                    } catch (IOException e) {
                        stopping = e;
                    }
                    if (rotated != null) {
                        try {
                            // Its reply came before the connection ended: QEMU ran it before the quit.
                            daemon.qmp().await(rotated, "bitmap update");
                        } catch (QmpException e) {
                            IOException failed = new IOException("cannot update the bitmap of the image on " + host.name() + ": " + e.getMessage(), e);
                            if (stopping != null) {
                                failed.addSuppressed(stopping);
                            }
                            throw failed;
                        }
                    }
                    if (stopping != null) {
                        throw stopping;
                    }
                }
            } finally {
                if (whole != null) {
                    whole.close();
                } else {
                    host.close();
                }
            }
        }
    }
}
