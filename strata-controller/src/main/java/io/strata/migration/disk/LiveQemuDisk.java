package io.strata.migration.disk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.qemu.QmpClient;
import io.strata.hypervisor.qemu.QmpException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

    private final QmpClient qmp;
    private final String node;
    private final String previous;
    private final String next;
    private final String fleece;
    private final Path fleeceFile;
    private final Path nbdSocket;
    private final String export;
    private final NbdClient nbd;
    private boolean completed;

    private LiveQemuDisk(QmpClient qmp, String node, String previous, String next, String fleece, Path fleeceFile, Path nbdSocket,
            String export, NbdClient nbd) {
        this.qmp = qmp;
        this.node = node;
        this.previous = previous;
        this.next = next;
        this.fleece = fleece;
        this.fleeceFile = fleeceFile;
        this.nbdSocket = nbdSocket;
        this.export = export;
        this.nbd = nbd;
    }

    /** Opens the disk {@code diskPath} of the QEMU behind {@code qmpSocket}; {@code tracking} names this replica's bitmaps. */
    public static LiveQemuDisk open(Path qmpSocket, Path diskPath, String tracking, Path scratch) throws IOException {
        String key = tracking.replaceAll("[^A-Za-z0-9]", "");
        // QEMU node names are at most 31 characters.
        if (key.length() > 16) {
            key = key.substring(0, 16);
        }
        QmpClient qmp;
        try {
            qmp = QmpClient.connect(qmpSocket, "migration", QMP_TIMEOUT);
        } catch (QmpException e) {
            throw new IOException(e.getMessage(), e);
        }
        try {
            String node = formatNode(qmp, diskPath);
            String fleece = "strata-fl-" + key;
            String export = "strata-" + key;
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

            Files.createDirectories(scratch);
            Path fleeceFile = scratch.resolve(fleece + ".qcow2");
            Files.deleteIfExists(fleeceFile);
            long size = virtualSize(qmp, node);
            QemuImg.run("qemu-img", "create", "-q", "-f", "qcow2", fleeceFile.toString(), Long.toString(size));
            qmp.execute("blockdev-add", Map.of("driver", "qcow2", "node-name", fleece,
                    "file", Map.of("driver", "file", "filename", fleeceFile.toString()), "backing", node));
            List<Map<String, Object>> actions = new ArrayList<>();
            actions.add(Map.of("type", "block-dirty-bitmap-add", "data", Map.of("node", node, "name", next, "persistent", false)));
            if (previous != null) {
                actions.add(Map.of("type", "block-dirty-bitmap-disable", "data", Map.of("node", node, "name", previous)));
            }
            actions.add(Map.of("type", "blockdev-backup", "data", Map.of("device", node, "target", fleece, "sync", "none", "job-id", job)));
            qmp.execute("transaction", Map.of("actions", actions));

            Path socket = scratch.resolve(export + ".sock");
            Files.deleteIfExists(socket);
            qmp.execute("nbd-server-start", Map.of("addr", Map.of("type", "unix", "data", Map.of("path", socket.toString()))));
            Map<String, Object> exportArgs = new java.util.HashMap<>(Map.of("type", "nbd", "id", export, "node-name", fleece, "name", export,
                    "writable", false));
            if (previous != null) {
                exportArgs.put("bitmaps", List.of(previous));
            }
            qmp.execute("block-export-add", exportArgs);
            NbdClient nbd = NbdClient.connect(socket, export);
            return new LiveQemuDisk(qmp, node, previous, next, fleece, fleeceFile, socket, export, nbd);
        } catch (IOException | RuntimeException e) {
            qmp.close();
            throw e instanceof IOException io ? io : new IOException("cannot export " + diskPath + " from QEMU: " + e.getMessage(), e);
        }
    }

    /** The format node (qcow2, raw…) whose image file is {@code diskPath}. */
    private static String formatNode(QmpClient qmp, Path diskPath) throws IOException {
        String wanted = diskPath.toRealPath().toString();
        for (JsonNode node : qmp.execute("query-named-block-nodes")) {
            String driver = node.path("drv").asText();
            if (driver.equals("file") || driver.equals("qcow2") && node.path("node-name").asText().startsWith("strata-fl-")) {
                continue;
            }
            String file = node.path("file").asText();
            if (!file.isEmpty() && Files.exists(Path.of(file)) && Path.of(file).toRealPath().toString().equals(wanted)) {
                return node.path("node-name").asText();
            }
        }
        throw new IOException("the QEMU process has no block node for " + diskPath);
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
        String options = "driver=nbd,server.type=unix,server.path=" + nbdSocket + ",export=" + export
                + (bitmap == null ? "" : ",x-dirty-bitmap=" + bitmap);
        JsonNode map = MAPPER.readTree(QemuImg.run("qemu-img", "map", "--output=json", "--image-opts", options));
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

    @Override
    public void close() throws IOException {
        try {
            nbd.close();
        } finally {
            try {
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
                qmp.close();
                Files.deleteIfExists(fleeceFile);
                Files.deleteIfExists(nbdSocket);
            }
        }
    }
}
