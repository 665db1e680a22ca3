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
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A disk of a running QEMU, read at one point in time with changed-block tracking:
 * <ol>
 * <li>a fleecing node (qcow2 over the disk) takes, through a {@code blockdev-backup sync=none}
 * job, the old content of every block the guest overwrites from now on;</li>
 * <li>in the same transaction a new dirty bitmap starts recording, and the previous execution's
 * bitmap stops: it now holds exactly the blocks changed between the two executions' starts;</li>
 * <li>the fleecing node is exported over NBD with that bitmap; {@code qemu-img map
 * x-dirty-bitmap} lists the changed extents and an {@link NbdClient} reads them.</li>
 * </ol>
 * The QEMU runs on the disk's host, this machine or another one reached over SSH: its QMP socket
 * and the NBD server's socket (both Unix sockets on that host) are reached through
 * {@link HostAccess#reach}, and the fleecing file and {@code qemu-img map} are on that host too.
 * That is the only difference between the two.
 * <p>
 * {@link #complete()} after a successful copy drops the previous bitmap; closing without it
 * merges the new bitmap back into the previous one, so the next execution still sees every
 * change since the last successful one. Bitmaps are named {@code strata-TRACKING-N}; leftovers
 * of a run that died (export, job, fleecing node, two bitmaps) are cleaned up on the next open.
 * Bitmaps are not persistent: nothing is left in the guest's disk file, and after a restart of
 * the QEMU process the next execution compares every block instead.
 */
public final class LiveQemuDisk implements BlockSource {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(30);

    private final HostAccess host;
    private final HostAccess.Tunnel qmpTunnel;
    private final QmpClient qmp;
    private final String node;
    private final String previous;
    private final String next;
    private final String fleece;
    private final Path fleeceFile;
    private final Path nbdSocket;
    private final String export;
    private final HostAccess.Tunnel nbdTunnel;
    private final NbdClient nbd;
    private boolean completed;

    private LiveQemuDisk(HostAccess host, HostAccess.Tunnel qmpTunnel, QmpClient qmp, String node, String previous, String next,
            String fleece, Path fleeceFile, Path nbdSocket, String export, HostAccess.Tunnel nbdTunnel, NbdClient nbd) {
        this.host = host;
        this.qmpTunnel = qmpTunnel;
        this.qmp = qmp;
        this.node = node;
        this.previous = previous;
        this.next = next;
        this.fleece = fleece;
        this.fleeceFile = fleeceFile;
        this.nbdSocket = nbdSocket;
        this.export = export;
        this.nbdTunnel = nbdTunnel;
        this.nbd = nbd;
    }

    /**
     * Opens the disk {@code diskPath} of the QEMU behind {@code qmpSocket}, both on {@code host};
     * {@code tracking} names this replica's bitmaps, and {@code scratch} (on the host, where the
     * QEMU can write) holds the fleecing file and the NBD socket while the disk is read. The disk
     * closes {@code host} when it is closed; when opening fails, {@code host} stays the caller's.
     */
    public static LiveQemuDisk open(HostAccess host, Path qmpSocket, Path diskPath, String tracking, Path scratch) throws IOException {
        String key = tracking.replaceAll("[^A-Za-z0-9]", "");
        // QEMU node names are at most 31 characters.
        if (key.length() > 16) {
            key = key.substring(0, 16);
        }
        String fleece = "strata-fl-" + key;
        String export = "strata-" + key;
        Path fleeceFile = scratch.resolve(fleece + ".qcow2");
        Path socket = scratch.resolve(export + ".sock");
        HostAccess.Tunnel qmpTunnel = null;
        QmpClient qmp = null;
        HostAccess.Tunnel nbdTunnel = null;
        try {
            qmpTunnel = host.reach(qmpSocket);
            try {
                qmp = QmpClient.connect(qmpTunnel.address(), "migration", QMP_TIMEOUT);
            } catch (QmpException e) {
                throw new IOException(e.getMessage() + " (on " + host.name() + ")", e);
            }
            String node = formatNode(host, qmp, diskPath);
            String job = "strata-job-" + key;
            cleanupLeftovers(qmp, fleece, export, job);
            String prefix = "strata-" + key + "-";
            List<String> bitmaps = bitmaps(qmp, node, prefix);
            String previous = bitmaps.isEmpty() ? null : bitmaps.getFirst();
            if (bitmaps.size() > 1) {
                // A run that died after its transaction: the newest bitmap goes back into the older one.
                for (String extra : bitmaps.subList(1, bitmaps.size())) {
                    qmp.execute("block-dirty-bitmap-merge", Map.of("node", node, "target", previous, "bitmaps", List.of(extra)));
                    qmp.execute("block-dirty-bitmap-remove", Map.of("node", node, "name", extra));
                }
                qmp.execute("block-dirty-bitmap-enable", Map.of("node", node, "name", previous));
            }
            long sequence = previous == null ? 1 : Long.parseLong(previous.substring(prefix.length())) + 1;
            String next = prefix + sequence;

            host.createDirectories(scratch);
            host.deleteIfExists(fleeceFile);
            long size = virtualSize(qmp, node);
            host.runScript("qemu-img create -q -f qcow2 " + quote(fleeceFile.toString()) + " " + size);
            qmp.execute("blockdev-add", Map.of("driver", "qcow2", "node-name", fleece,
                    "file", Map.of("driver", "file", "filename", fleeceFile.toString()), "backing", node));
            List<Map<String, Object>> actions = new ArrayList<>();
            actions.add(Map.of("type", "block-dirty-bitmap-add", "data", Map.of("node", node, "name", next, "persistent", false)));
            if (previous != null) {
                actions.add(Map.of("type", "block-dirty-bitmap-disable", "data", Map.of("node", node, "name", previous)));
            }
            actions.add(Map.of("type", "blockdev-backup", "data", Map.of("device", node, "target", fleece, "sync", "none", "job-id", job)));
            qmp.execute("transaction", Map.of("actions", actions));

            host.deleteIfExists(socket);
            qmp.execute("nbd-server-start", Map.of("addr", Map.of("type", "unix", "data", Map.of("path", socket.toString()))));
            Map<String, Object> exportArgs = new HashMap<>(Map.of("type", "nbd", "id", export, "node-name", fleece, "name", export,
                    "writable", false));
            if (previous != null) {
                exportArgs.put("bitmaps", List.of(previous));
            }
            qmp.execute("block-export-add", exportArgs);
            nbdTunnel = host.reach(socket);
            NbdClient nbd = NbdClient.connect(nbdTunnel.address(), export);
            return new LiveQemuDisk(host, qmpTunnel, qmp, node, previous, next, fleece, fleeceFile, socket, export, nbdTunnel, nbd);
        } catch (IOException | RuntimeException e) {
            // Whatever this open added to the QEMU goes (its bitmaps stay as a failed execution leaves them: the next open sorts them out).
            try {
                if (nbdTunnel != null) {
                    nbdTunnel.close();
                }
                if (qmp != null) {
                    cleanupLeftovers(qmp, fleece, export, "strata-job-" + key);
                    qmp.close();
                }
                if (qmpTunnel != null) {
                    qmpTunnel.close();
                }
                host.deleteIfExists(fleeceFile);
                host.deleteIfExists(socket);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof IOException io ? io : new IOException("cannot export " + diskPath + " from QEMU on " + host.name() + ": "
                    + e.getMessage(), e);
        }
    }

    /** The format node (qcow2, raw…) whose image file is {@code diskPath}. */
    private static String formatNode(HostAccess host, QmpClient qmp, Path diskPath) throws IOException {
        Path wanted = host.realPath(diskPath);
        for (JsonNode node : qmp.execute("query-named-block-nodes")) {
            String driver = node.path("drv").asText();
            if (driver.equals("file") || driver.equals("qcow2") && node.path("node-name").asText().startsWith("strata-fl-")) {
                continue;
            }
            String file = node.path("file").asText();
            if (!file.isEmpty() && (file.equals(diskPath.toString()) || file.startsWith("/") && sameFile(host, Path.of(file), wanted))) {
                return node.path("node-name").asText();
            }
        }
        throw new IOException("the QEMU process has no block node for " + diskPath + " on " + host.name());
    }

    private static boolean sameFile(HostAccess host, Path file, Path wanted) {
        try {
            return host.realPath(file).equals(wanted);
        } catch (IOException e) {
            // Gone, or not a plain file name (a json: or protocol filename): not this disk.
            return false;
        }
    }

    private static long virtualSize(QmpClient qmp, String nodeName) {
        for (JsonNode node : qmp.execute("query-named-block-nodes")) {
            if (node.path("node-name").asText().equals(nodeName)) {
                return node.path("image").path("virtual-size").asLong();
            }
        }
        throw new IllegalStateException("block node " + nodeName + " vanished");
    }

    /** This replica's bitmaps on the node, oldest first. */
    private static List<String> bitmaps(QmpClient qmp, String nodeName, String prefix) {
        List<String> names = new ArrayList<>();
        for (JsonNode node : qmp.execute("query-named-block-nodes")) {
            if (node.path("node-name").asText().equals(nodeName)) {
                for (JsonNode bitmap : node.path("dirty-bitmaps")) {
                    String name = bitmap.path("name").asText();
                    if (name.startsWith(prefix) && name.substring(prefix.length()).matches("\\d+")) {
                        names.add(name);
                    }
                }
            }
        }
        names.sort(java.util.Comparator.comparingLong(n -> Long.parseLong(n.substring(prefix.length()))));
        return names;
    }

    private static void cleanupLeftovers(QmpClient qmp, String fleece, String export, String job) {
        quietly(qmp, "block-export-del", Map.of("id", export, "mode", "hard"));
        quietly(qmp, "nbd-server-stop", Map.of());
        quietly(qmp, "block-job-cancel", Map.of("device", job, "force", true));
        waitForJobGone(qmp, job);
        quietly(qmp, "blockdev-del", Map.of("node-name", fleece));
    }

    private static void waitForJobGone(QmpClient qmp, String job) {
        for (int i = 0; i < 100; i++) {
            boolean present = false;
            for (JsonNode j : qmp.execute("query-block-jobs")) {
                present |= j.path("device").asText().equals(job);
            }
            if (!present) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void quietly(QmpClient qmp, String command, Map<String, ?> arguments) {
        try {
            qmp.execute(command, arguments);
        } catch (QmpException e) {
            // Nothing of that name: nothing to clean.
        }
    }

    @Override
    public long size() {
        return nbd.size();
    }

    /** Allocated extents of the point-in-time view (used by the first, full execution). */
    @Override
    public List<Extent> dataExtents() throws IOException {
        return map(null, true);
    }

    /** Extents changed since the previous successful execution's start; null on the first execution. */
    @Override
    public List<Extent> changedExtents() throws IOException {
        return previous == null ? null : map("qemu:dirty-bitmap:" + previous, false);
    }

    private List<Extent> map(String bitmap, boolean wantData) throws IOException {
        // On the QEMU's host, beside the NBD socket. Image options are comma-separated; a comma in a value is written twice.
        String options = "driver=nbd,server.type=unix,server.path=" + nbdSocket.toString().replace(",", ",,") + ",export=" + export
                + (bitmap == null ? "" : ",x-dirty-bitmap=" + bitmap);
        JsonNode map = MAPPER.readTree(host.runScript("qemu-img map --output=json --image-opts " + quote(options)));
        List<Extent> extents = new ArrayList<>();
        for (JsonNode entry : map) {
            // With x-dirty-bitmap, qemu-img reports dirty extents as "data": false.
            if (entry.path("data").asBoolean() == wantData) {
                extents.add(new Extent(entry.get("start").asLong(), entry.get("length").asLong()));
            }
        }
        return extents;
    }

    /** Planned reads are fetched ahead over NBD (several requests in flight). */
    @Override
    public void willRead(List<Extent> extents) throws IOException {
        List<Extent> clipped = new ArrayList<>();
        for (Extent extent : extents) {
            long end = Math.min(extent.end(), size());
            if (end > extent.offset()) {
                clipped.add(new Extent(extent.offset(), end - extent.offset()));
            }
        }
        nbd.plan(clipped);
    }

    @Override
    public void read(long offset, ByteBuffer into) throws IOException {
        nbd.readUpTo(size(), offset, into);
    }

    @Override
    public void complete() {
        completed = true;
    }

    /**
     * Stops reading, then (whatever happened) removes the export, the job and the fleecing node,
     * keeps or undoes the bitmap rotation, and closes the tunnels, the fleecing file and the host
     * access: nothing stays forwarded or exported after a success, a failure or a cancel.
     */
    @Override
    public void close() throws IOException {
        try {
            nbd.close();
        } finally {
            try {
                nbdTunnel.close();
                cleanupLeftovers(qmp, fleece, export, "strata-job-" + export.substring("strata-".length()));
                if (completed) {
                    if (previous != null) {
                        qmp.execute("block-dirty-bitmap-remove", Map.of("node", node, "name", previous));
                    }
                } else if (previous != null) {
                    qmp.execute("block-dirty-bitmap-merge", Map.of("node", node, "target", previous, "bitmaps", List.of(next)));
                    qmp.execute("block-dirty-bitmap-remove", Map.of("node", node, "name", next));
                    qmp.execute("block-dirty-bitmap-enable", Map.of("node", node, "name", previous));
                } else {
                    // A failed first execution: the next one copies everything again anyway.
                    qmp.execute("block-dirty-bitmap-remove", Map.of("node", node, "name", next));
                }
            } finally {
                try {
                    qmp.close();
                    qmpTunnel.close();
                    host.deleteIfExists(fleeceFile);
                    host.deleteIfExists(nbdSocket);
                } finally {
                    host.close();
                }
            }
        }
    }
}
