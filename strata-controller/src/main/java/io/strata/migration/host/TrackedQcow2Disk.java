package io.strata.migration.host;

import static io.strata.migration.host.HostAccess.quote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.NbdClient;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.HexFormat;

/**
 * A qcow2 disk at rest (no running QEMU of ours) read with changed-block tracking kept in the
 * image itself: a persistent dirty bitmap {@code strata-off-KEY-N} per replica. Whatever opens
 * the image read-write through QEMU's block layer (a guest, qemu-nbd, qemu-io, qemu-img) records
 * its writes in it and stores it back on close.
 * <ol>
 * <li>At the start of an execution a new bitmap {@code N+1} is added; both record from then on,
 * so {@code N} holds every cluster written since the previous successful execution's start and
 * {@code N+1} those written since this one's (nobody writes while we read: qemu-nbd holds the
 * image, and a writer cannot take its write lock).</li>
 * <li>With a previous bitmap, the image is exported read-only by {@code qemu-nbd --bitmap N} on
 * its host; {@code qemu-img map x-dirty-bitmap} there lists the dirty extents and an
 * {@link NbdClient} (through an SSH tunnel for a remote host) reads only those.</li>
 * <li>{@link #complete()} then {@link #close()} removes {@code N}; closing without completing
 * removes {@code N+1} instead, and {@code N}, still recording, keeps every change for the next
 * execution: a failed execution loses none. A process that died in between leaves both; the next
 * open keeps the older one (a superset of the newer) and drops the newer.</li>
 * </ol>
 * Without a usable previous bitmap (first execution, bitmap removed, an image with a backing
 * file, or a bitmap flagged {@code in-use}: a writer died without storing it, so it may miss
 * writes, and is dropped) the image is read through {@code fallback}, whose blocks the
 * replicator hashes whole, and the new bitmap tracks from then on.
 */
public final class TrackedQcow2Disk implements BlockSource {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String EXPORT = "strata";

    /** Opens the whole-image reader used when the bitmap cannot tell what changed. */
    public interface Fallback {
        BlockSource open() throws IOException;
    }

    private final HostAccess host;
    private final Path image;
    private final String previous;
    private final String next;
    private final BlockSource whole;
    private final Nbd nbd;
    private boolean completed;

    /** A qemu-nbd of the image on its host and our connection to it. */
    private record Nbd(Path socket, Path pidFile, HostAccess.Tunnel tunnel, NbdClient client) {}

    private TrackedQcow2Disk(HostAccess host, Path image, String previous, String next, BlockSource whole, Nbd nbd) {
        this.host = host;
        this.image = image;
        this.previous = previous;
        this.next = next;
        this.whole = whole;
        this.nbd = nbd;
    }

    /**
     * Opens {@code image} on {@code host}; {@code tracking} names this replica's bitmaps and
     * {@code workDir} (on the host) holds qemu-nbd's socket and pid file while it is read.
     */
    public static TrackedQcow2Disk open(HostAccess host, Path image, String tracking, Path workDir, Fallback fallback) throws IOException {
        String key = tracking.replaceAll("[^A-Za-z0-9]", "");
        String prefix = "strata-off-" + key + "-";
        // One qemu-nbd per replica and image, named so that one left by a dead worker (it would hold the image) is stopped here.
        String id = HexFormat.of().formatHex(sha256(tracking + "\0" + image)).substring(0, 12);
        Path socket = workDir.resolve("nbd-" + id + ".sock");
        Path pidFile = workDir.resolve("nbd-" + id + ".pid");
        stop(host, socket, pidFile);
        JsonNode info = host.imageInfo(image);
        List<JsonNode> ours = bitmaps(info, prefix);
        boolean trackable = !info.hasNonNull("backing-filename");
        if (!trackable || ours.stream().anyMatch(b -> flags(b).contains("in-use"))) {
            // Inconsistent (a writer died holding it) or meaningless (writes may land in a backing file): start over.
            for (JsonNode bitmap : ours) {
                bitmap(host, image, "--remove", bitmap.path("name").asText());
            }
            ours = List.of();
        }
        String previous = ours.isEmpty() ? null : ours.getFirst().path("name").asText();
        for (JsonNode extra : ours.subList(Math.min(1, ours.size()), ours.size())) {
            // Left by an execution that died before closing: the older bitmap recorded everything it did.
            bitmap(host, image, "--remove", extra.path("name").asText());
        }
        if (!trackable) {
            return new TrackedQcow2Disk(host, image, null, null, fallback.open(), null);
        }
        long sequence = previous == null ? 1 : Long.parseLong(previous.substring(prefix.length())) + 1;
        String next = prefix + sequence;
        bitmap(host, image, "--add --enable", next);
        TrackedQcow2Disk disk = null;
        try {
            disk = previous == null
                    ? new TrackedQcow2Disk(host, image, null, next, fallback.open(), null)
                    : new TrackedQcow2Disk(host, image, previous, next, null, serve(host, image, previous, workDir, socket, pidFile));
            return disk;
        } finally {
            if (disk == null) {
                rollBack(host, image, next);
            }
        }
    }

    private static byte[] sha256(String text) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** This replica's bitmaps in the image, oldest first. */
    private static List<JsonNode> bitmaps(JsonNode info, String prefix) {
        List<JsonNode> ours = new ArrayList<>();
        for (JsonNode bitmap : info.at("/format-specific/data/bitmaps")) {
            String name = bitmap.path("name").asText();
            if (name.startsWith(prefix) && name.substring(prefix.length()).matches("\\d{1,18}")) {
                ours.add(bitmap);
            }
        }
        ours.sort(Comparator.comparingLong(b -> Long.parseLong(b.path("name").asText().substring(prefix.length()))));
        return ours;
    }

    private static List<String> flags(JsonNode bitmap) {
        List<String> flags = new ArrayList<>();
        bitmap.path("flags").forEach(flag -> flags.add(flag.asText()));
        return flags;
    }

    private static void bitmap(HostAccess host, Path image, String operation, String name) throws IOException {
        host.runScript("qemu-img bitmap -f qcow2 " + operation + " " + quote(image.toString()) + " " + quote(name));
    }

    /** Starts a read-only qemu-nbd of the image exporting {@code bitmap}, and connects to it. */
    private static Nbd serve(HostAccess host, Path image, String bitmap, Path workDir, Path socket, Path pidFile) throws IOException {
        host.createDirectories(workDir);
        Path errors = workDir.resolve(pidFile.getFileName().toString().replace(".pid", ".err"));
        // --fork returns once the socket listens; the daemon's streams go to files, not to our pipes.
        host.runScript("qemu-nbd --fork --persistent --shared=4 --read-only --format=qcow2 --export-name=" + EXPORT
                + " --bitmap=" + quote(bitmap) + " --socket=" + quote(socket.toString()) + " --pid-file=" + quote(pidFile.toString())
                + " " + quote(image.toString()) + " </dev/null >/dev/null 2>" + quote(errors.toString())
                + " || { s=$?; cat " + quote(errors.toString()) + " >&2; rm -f " + quote(errors.toString()) + "; exit $s; }; rm -f "
                + quote(errors.toString()));
        HostAccess.Tunnel tunnel = null;
        try {
            tunnel = host.reach(socket);
            return new Nbd(socket, pidFile, tunnel, NbdClient.connect(tunnel.address(), EXPORT));
        } catch (IOException | RuntimeException e) {
            if (tunnel != null) {
                tunnel.close();
            }
            stop(host, socket, pidFile);
            throw e;
        }
    }

    private static void stop(HostAccess host, Path socket, Path pidFile) throws IOException {
        // Waits for it to go (the image's lock must be free before the bitmaps change), polling
        // every 10 ms: qemu-nbd is not our child, and Java's wait for a non-child polls slowly. A
        // zombie counts as gone: the daemon's reaper (init) may take seconds to collect it.
        String pid = quote(pidFile.toString());
        // The pid must still be a qemu-nbd: a pid file left before a reboot may name another process now.
        host.runScript("if [ -f " + pid + " ]; then p=$(cat " + pid + "); if grep -q qemu-nbd /proc/\"$p\"/cmdline 2>/dev/null; then "
                + "kill \"$p\"; i=0; while kill -0 \"$p\" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' /proc/\"$p\"/status 2>/dev/null; do "
                + "i=$((i+1)); if [ $i -gt 6000 ]; then kill -9 \"$p\"; fi; sleep 0.01; done; fi; fi; "
                + "rm -f " + pid + " " + quote(socket.toString()));
    }

    /** Undoes the rotation: the previous bitmap, still enabled, holds every change since the last success. */
    private static void rollBack(HostAccess host, Path image, String next) throws IOException {
        bitmap(host, image, "--remove", next);
    }

    /** Whether the changed extents come from a bitmap (false: every block is read and hashed). */
    public boolean tracked() {
        return nbd != null;
    }

    @Override
    public long size() {
        return nbd != null ? nbd.client().size() : whole.size();
    }

    @Override
    public List<Extent> dataExtents() throws IOException {
        return nbd != null ? map(null, true) : whole.dataExtents();
    }

    /** The extents written since the previous successful execution's start; null without a usable bitmap. */
    @Override
    public List<Extent> changedExtents() throws IOException {
        return nbd != null ? map("qemu:dirty-bitmap:" + previous, false) : null;
    }

    private List<Extent> map(String context, boolean wantData) throws IOException {
        // Image options are comma-separated; a comma in a value is written twice.
        String options = "driver=nbd,server.type=unix,server.path=" + nbd.socket().toString().replace(",", ",,") + ",export=" + EXPORT
                + (context == null ? "" : ",x-dirty-bitmap=" + context);
        JsonNode map = MAPPER.readTree(host.runScript("qemu-img map --output=json --image-opts " + quote(options)));
        List<Extent> extents = new ArrayList<>();
        for (JsonNode entry : map) {
            // With x-dirty-bitmap, qemu-img reports dirty extents as "data": false.
            if (entry.path("data").asBoolean() != wantData) {
                continue;
            }
            long start = entry.get("start").asLong();
            long length = entry.get("length").asLong();
            if (!extents.isEmpty() && extents.getLast().end() == start) {
                Extent last = extents.removeLast();
                extents.add(new Extent(last.offset(), start + length - last.offset()));
            } else {
                extents.add(new Extent(start, length));
            }
        }
        return extents;
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
        nbd.client().plan(clipped);
    }

    @Override
    public void read(long offset, ByteBuffer into) throws IOException {
        if (nbd == null) {
            whole.read(offset, into);
            return;
        }
        nbd.client().readUpTo(size(), offset, into);
    }

    @Override
    public void complete() {
        completed = true;
        if (whole != null) {
            whole.complete();
        }
    }

    /**
     * Stops the reader first (qemu-nbd holds the image), then keeps or undoes the rotation; the
     * host access goes last (the whole-image reader closes it itself).
     */
    @Override
    public void close() throws IOException {
        try {
            if (nbd != null) {
                try {
                    nbd.client().close();
                } finally {
                    nbd.tunnel().close();
                    stop(host, nbd.socket(), nbd.pidFile());
                }
            }
        } finally {
            try {
                if (next != null && completed && previous != null) {
                    bitmap(host, image, "--remove", previous);
                } else if (next != null && !completed) {
                    rollBack(host, image, next);
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
