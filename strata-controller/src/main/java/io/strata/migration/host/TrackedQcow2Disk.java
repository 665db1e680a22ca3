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
 * <li>The image is exported read-only by {@code qemu-nbd} on its host (with {@code --bitmap N}
 * when there is a previous bitmap) and read by an {@link NbdClient} (through an SSH tunnel for a
 * remote host), which lists the dirty extents with NBD block status
 * ({@code qemu:dirty-bitmap:N}) and reads only those; without a previous bitmap it reads the
 * allocated extents ({@code base:allocation}) whole.</li>
 * <li>{@link #complete()} then {@link #close()} removes {@code N}; closing without completing
 * removes {@code N+1} instead, and {@code N}, still recording, keeps every change for the next
 * execution: a failed execution loses none. A process that died in between leaves both; the next
 * open keeps the older one (a superset of the newer) and drops the newer.</li>
 * </ol>
 * Each step on the host is one script (one process start locally, one command of the SSH
 * connection's shell remotely): stopping a qemu-nbd left by a dead worker with {@code qemu-img
 * info}; the bitmap changes with the qemu-nbd start; its stop with the bitmap removal. Process
 * starts, not bytes, dominate an execution that reads 1% of a disk.
 * <p>
 * Without a usable previous bitmap (first execution, bitmap removed, or a bitmap flagged
 * {@code in-use}: a writer died without storing it, so it may miss writes, and is dropped) every
 * allocated block is read and hashed, and the new bitmap tracks from then on. An image with a
 * backing file (writes may land in the backing file, which its bitmaps do not see) is read
 * through {@code fallback}, untracked.
 */
public final class TrackedQcow2Disk implements BlockSource {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String EXPORT = "strata";

    /** Opens the whole-image reader used for an image that cannot be tracked. */
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
        // Standard output is qemu-img's JSON alone: the stop prints nothing, and qemu-img warns on stderr.
        JsonNode info = MAPPER.readTree(host.runScript(stopScript(socket, pidFile) + "; qemu-img info -U --output=json " + quote(image.toString())));
        List<JsonNode> ours = bitmaps(info, prefix);
        boolean trackable = !info.hasNonNull("backing-filename");
        List<String> stale = new ArrayList<>();
        if (!trackable || ours.stream().anyMatch(b -> flags(b).contains("in-use"))) {
            // Inconsistent (a writer died holding it) or meaningless (writes may land in a backing file): start over.
            ours.forEach(bitmap -> stale.add(bitmap.path("name").asText()));
            ours = List.of();
        }
        String previous = ours.isEmpty() ? null : ours.getFirst().path("name").asText();
        // Left by an execution that died before closing: the older bitmap recorded everything it did.
        ours.stream().skip(1).forEach(extra -> stale.add(extra.path("name").asText()));
        StringBuilder script = new StringBuilder();
        for (String name : stale) {
            script.append(bitmapCommand(image, "--remove", name)).append(" && ");
        }
        if (!trackable) {
            if (!stale.isEmpty()) {
                host.runScript(script.append("true").toString());
            }
            return new TrackedQcow2Disk(host, image, null, null, fallback.open(), null);
        }
        long sequence = previous == null ? 1 : Long.parseLong(previous.substring(prefix.length())) + 1;
        String next = prefix + sequence;
        Path errors = workDir.resolve("nbd-" + id + ".err");
        // --fork returns once the socket listens; the daemon's streams go to files, not to our pipes.
        // Should qemu-nbd not start, the script takes its new bitmap back itself.
        script.append(bitmapCommand(image, "--add --enable", next)).append(" && mkdir -p ").append(quote(workDir.toString()))
                .append(" && { qemu-nbd --fork --persistent --shared=4 --read-only --format=qcow2 --export-name=").append(EXPORT)
                .append(previous == null ? "" : " --bitmap=" + quote(previous)).append(" --socket=").append(quote(socket.toString()))
                .append(" --pid-file=").append(quote(pidFile.toString())).append(" ").append(quote(image.toString()))
                .append(" </dev/null >/dev/null 2>").append(quote(errors.toString())).append(" || { s=$?; cat ").append(quote(errors.toString()))
                .append(" >&2; rm -f ").append(quote(errors.toString())).append("; ").append(bitmapCommand(image, "--remove", next))
                .append("; exit $s; }; } && rm -f ").append(quote(errors.toString()));
        host.runScript(script.toString());
        HostAccess.Tunnel tunnel = null;
        try {
            tunnel = host.reach(socket);
            List<String> contexts = previous == null
                    ? List.of(NbdClient.BASE_ALLOCATION)
                    : List.of(NbdClient.BASE_ALLOCATION, dirtyBitmap(previous));
            NbdClient client = NbdClient.connect(tunnel.address(), EXPORT, contexts);
            return new TrackedQcow2Disk(host, image, previous, next, null, new Nbd(socket, pidFile, tunnel, client));
        } catch (IOException | RuntimeException e) {
            if (tunnel != null) {
                tunnel.close();
            }
            try {
                // Undoes the rotation: the previous bitmap, still enabled, holds every change since the last success.
                host.runScript(stopScript(socket, pidFile) + " && " + bitmapCommand(image, "--remove", next));
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private static String dirtyBitmap(String name) {
        return "qemu:dirty-bitmap:" + name;
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

    private static String bitmapCommand(Path image, String operation, String name) {
        return "qemu-img bitmap -f qcow2 " + operation + " " + quote(image.toString()) + " " + quote(name);
    }

    /**
     * Stops the qemu-nbd whose pid file is given, if it runs, and waits for it to go (the image's
     * lock must be free before the bitmaps change), polling every 10 ms: qemu-nbd is not our
     * child, and Java's wait for a non-child polls slowly. A zombie counts as gone: the daemon's
     * reaper (init) may take seconds to collect it. Prints nothing; always succeeds.
     */
    private static String stopScript(Path socket, Path pidFile) {
        String pid = quote(pidFile.toString());
        // The pid must still be a qemu-nbd: a pid file left before a reboot may name another process now.
        return "{ if [ -f " + pid + " ]; then p=$(cat " + pid + "); if grep -q qemu-nbd /proc/\"$p\"/cmdline 2>/dev/null; then "
                + "kill \"$p\"; i=0; while kill -0 \"$p\" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' /proc/\"$p\"/status 2>/dev/null; do "
                + "i=$((i+1)); if [ $i -gt 6000 ]; then kill -9 \"$p\"; fi; sleep 0.01; done; fi; fi; "
                + "rm -f " + pid + " " + quote(socket.toString()) + "; }";
    }

    /** Whether the changed extents come from a bitmap (false: every allocated block is read and hashed). */
    public boolean tracked() {
        return previous != null;
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
        return previous != null ? nbd.client().extents(dirtyBitmap(previous), flags -> (flags & NbdClient.STATE_DIRTY) != 0) : null;
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
     * Stops the reader first (qemu-nbd holds the image), then keeps or undoes the rotation, in one
     * script; the host access goes last (the whole-image reader closes it itself).
     */
    @Override
    public void close() throws IOException {
        try {
            if (nbd != null) {
                try {
                    nbd.client().close();
                } finally {
                    nbd.tunnel().close();
                }
            }
        } finally {
            try {
                String drop = next == null ? null : completed ? previous : next;
                String script = nbd == null ? null : stopScript(nbd.socket(), nbd.pidFile());
                if (drop != null) {
                    script = (script == null ? "" : script + " && ") + bitmapCommand(image, "--remove", drop);
                }
                if (script != null) {
                    host.runScript(script);
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
