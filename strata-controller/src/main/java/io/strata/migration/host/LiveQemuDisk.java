package io.strata.migration.host;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.hypervisor.qemu.QmpClient;
import io.strata.hypervisor.qemu.QmpEvent;
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
 * <li>QEMU itself creates the fleecing file in the scratch directory (two {@code blockdev-create}
 * jobs, one for the file and one for its qcow2 format over a {@code file} node, each awaited as
 * its {@code JOB_STATUS_CHANGE} event): no {@code qemu-img} process on the host;</li>
 * <li>a fleecing node (qcow2 over that file node, backed by the disk) takes, through a {@code blockdev-backup sync=none}
 * job, the old content of every block the guest overwrites from now on;</li>
 * <li>in the same transaction a new dirty bitmap starts recording, and the previous execution's
 * bitmap stops: it now holds exactly the blocks changed between the two executions' starts;</li>
 * <li>the fleecing node is exported over NBD with that bitmap; an {@link NbdClient} lists the
 * changed extents with NBD block status ({@code qemu:dirty-bitmap:}) and reads them, or, on an
 * SSH host with compressed reads and Python 3, a {@link HostNbdReader} reads them there and
 * sends them as zlib frames.</li>
 * </ol>
 * The QEMU runs on the disk's host, this machine or another one reached over SSH: its QMP socket
 * and the NBD server's socket (both Unix sockets on that host) are reached through
 * {@link HostAccess#reach}, and the fleecing file is on that host too. That is the only
 * difference between the two.
 * <p>
 * An incremental execution of a small change is mostly fixed costs, so commands whose results do
 * not decide the next ones are sent together ({@link QmpClient#submit}: one round trip), the
 * scratch directory is made on the host while QMP is set up, and nothing waits by polling.
 * <p>
 * {@link #complete()} after a successful copy drops the previous bitmap; closing without it
 * merges the new bitmap back into the previous one, so the next execution still sees every
 * change since the last successful one. Bitmaps are named {@code strata-TRACKING-N}; leftovers
 * of a run that died (export, jobs, fleecing node and its file node, two bitmaps) are cleaned up on the next open.
 * Bitmaps are not persistent: nothing is left in the guest's disk file, and after a restart of
 * the QEMU process the next execution compares every block instead.
 */
public final class LiveQemuDisk implements BlockSource {
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(30);

    private final HostAccess host;
    private final HostAccess.Tunnel qmpTunnel;
    private final QmpClient qmp;
    private final String node;
    private final String previous;
    private final String next;
    private final Names names;
    private final Path fleeceFile;
    private final Path nbdSocket;
    private final HostAccess.Tunnel nbdTunnel;
    private final NbdClient nbd;
    /** The data reads: made on an SSH host and sent compressed, or through {@link #nbd}. */
    private final ExportReads reads;
    private boolean completed;
    /** The export's removal, started once every block was read ({@link #readsDone}); null until then. */
    private java.util.concurrent.CompletableFuture<Void> stopped;
    /**
     * The connection that lists the changed extents (it asks for the previous bitmap's context),
     * set up during the open; null on a first execution, and once used.
     */
    private java.util.concurrent.CompletableFuture<NbdClient> changes;

    private LiveQemuDisk(HostAccess host, HostAccess.Tunnel qmpTunnel, QmpClient qmp, String node, String previous, String next,
            Names names, Path fleeceFile, Path nbdSocket, HostAccess.Tunnel nbdTunnel, NbdClient nbd, ExportReads reads,
            java.util.concurrent.CompletableFuture<NbdClient> changes) {
        this.host = host;
        this.qmpTunnel = qmpTunnel;
        this.qmp = qmp;
        this.node = node;
        this.previous = previous;
        this.next = next;
        this.names = names;
        this.fleeceFile = fleeceFile;
        this.nbdSocket = nbdSocket;
        this.nbdTunnel = nbdTunnel;
        this.nbd = nbd;
        this.reads = reads;
        this.changes = changes;
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
        Names names = new Names(key);
        String fleece = names.fleece();
        String export = names.export();
        Path fleeceFile = scratch.resolve(fleece + ".qcow2");
        Path socket = scratch.resolve(export + ".sock");
        HostAccess.Tunnel qmpTunnel = null;
        QmpClient qmp = null;
        HostAccess.Tunnel nbdTunnel = null;
        NbdClient nbd = null;
        java.util.concurrent.Future<Void> prepared = null;
        java.util.concurrent.CompletableFuture<NbdClient> changes = null;
        try {
            // The scratch directory is made, and a socket file left behind (it would make
            // nbd-server-start fail) removed, while QMP is set up.
            prepared = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    host.prepareScratch(scratch, List.of(socket));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, Thread::startVirtualThread);
            qmpTunnel = host.reach(qmpSocket);
            try {
                qmp = QmpClient.connect(qmpTunnel.address(), "migration", QMP_TIMEOUT);
            } catch (QmpException e) {
                throw new IOException(e.getMessage() + " (on " + host.name() + ")", e);
            }
            // Leftovers of a run that died, and the block nodes, in one round trip.
            JsonNode nodes = cleanupLeftovers(qmp, names, true);
            JsonNode disk = formatNode(host, nodes, diskPath);
            String node = disk.path("node-name").asText();
            long size = disk.path("image").path("virtual-size").asLong();
            String prefix = "strata-" + key + "-";
            List<String> bitmaps = bitmaps(disk, prefix);
            String previous = bitmaps.isEmpty() ? null : bitmaps.getFirst();
            List<java.util.concurrent.CompletableFuture<JsonNode>> repairs = new ArrayList<>();
            if (bitmaps.size() > 1) {
                // A run that died after its transaction: the newest bitmap goes back into the older one.
                for (String extra : bitmaps.subList(1, bitmaps.size())) {
                    repairs.add(qmp.submit("block-dirty-bitmap-merge", Map.of("node", node, "target", previous, "bitmaps", List.of(extra))));
                    repairs.add(qmp.submit("block-dirty-bitmap-remove", Map.of("node", node, "name", extra)));
                }
                repairs.add(qmp.submit("block-dirty-bitmap-enable", Map.of("node", node, "name", previous)));
            }
            long sequence = previous == null ? 1 : Long.parseLong(previous.substring(prefix.length())) + 1;
            String next = prefix + sequence;
            awaitPrepared(prepared);
            prepared = null;

            // The fleecing file is made by QEMU itself (no qemu-img process on the host): a
            // blockdev-create job creates (or truncates) the file, a file node opens it, a second
            // job formats it as qcow2; the bitmap repairs above run meanwhile.
            java.util.concurrent.CompletableFuture<QmpEvent> fileCreated = concluded(qmp, names.fileJob());
            java.util.concurrent.CompletableFuture<JsonNode> fileJob = qmp.submit("blockdev-create", Map.of("job-id", names.fileJob(),
                    "options", Map.of("driver", "file", "filename", fleeceFile.toString(), "size", 0)));
            for (java.util.concurrent.CompletableFuture<JsonNode> repair : repairs) {
                qmp.await(repair, "bitmap repair");
            }
            awaitJob(qmp, fileJob, fileCreated, names.fileJob(), "creation of the fleecing file " + fleeceFile);
            // The job is dismissed with its error read, and if it succeeded the file node and the
            // qcow2 job follow in the same round trip (they fail, and are not reported, if it did not).
            java.util.concurrent.CompletableFuture<JsonNode> fileJobs = qmp.submit("query-jobs", Map.of());
            java.util.concurrent.CompletableFuture<JsonNode> fileDismissed = qmp.submit("job-dismiss", Map.of("id", names.fileJob()));
            java.util.concurrent.CompletableFuture<JsonNode> fileNode = qmp.submit("blockdev-add", Map.of("driver", "file",
                    "node-name", names.file(), "filename", fleeceFile.toString()));
            java.util.concurrent.CompletableFuture<QmpEvent> formatted = concluded(qmp, names.formatJob());
            java.util.concurrent.CompletableFuture<JsonNode> formatJob = qmp.submit("blockdev-create", Map.of("job-id", names.formatJob(),
                    "options", Map.of("driver", "qcow2", "file", names.file(), "size", size)));
            try {
                checkJob(qmp, fileJobs, names.fileJob(), "creation of the fleecing file " + fleeceFile);
            } catch (IOException e) {
                formatted.cancel(false);
                throw e;
            }
            qmp.await(fileDismissed, "job-dismiss");
            qmp.await(fileNode, "the fleecing file's node");
            awaitJob(qmp, formatJob, formatted, names.formatJob(), "qcow2 format of the fleecing file " + fleeceFile);
            java.util.concurrent.CompletableFuture<JsonNode> formatJobs = qmp.submit("query-jobs", Map.of());
            java.util.concurrent.CompletableFuture<JsonNode> formatDismissed = qmp.submit("job-dismiss", Map.of("id", names.formatJob()));

            List<Map<String, Object>> actions = new ArrayList<>();
            actions.add(Map.of("type", "block-dirty-bitmap-add", "data", Map.of("node", node, "name", next, "persistent", false)));
            if (previous != null) {
                actions.add(Map.of("type", "block-dirty-bitmap-disable", "data", Map.of("node", node, "name", previous)));
            }
            actions.add(Map.of("type", "blockdev-backup", "data", Map.of("device", node, "target", fleece, "sync", "none",
                    "job-id", names.backupJob())));
            Map<String, Object> exportArgs = new HashMap<>(Map.of("type", "nbd", "id", export, "node-name", fleece, "name", export,
                    "writable", false));
            if (previous != null) {
                exportArgs.put("bitmaps", List.of(previous));
            }
            // Each step fails when the one before it did (the qcow2 node when the format job
            // failed), so all go at once and the first error is reported.
            List<java.util.concurrent.CompletableFuture<JsonNode>> steps = List.of(
                    qmp.submit("blockdev-add", Map.of("driver", "qcow2", "node-name", fleece, "file", names.file(), "backing", node)),
                    qmp.submit("transaction", Map.of("actions", actions)),
                    qmp.submit("nbd-server-start", Map.of("addr", Map.of("type", "unix", "data", Map.of("path", socket.toString())))),
                    qmp.submit("block-export-add", exportArgs));
            checkJob(qmp, formatJobs, names.formatJob(), "qcow2 format of the fleecing file " + fleeceFile);
            qmp.await(formatDismissed, "job-dismiss");
            for (java.util.concurrent.CompletableFuture<JsonNode> step : steps) {
                qmp.await(step, "export of the fleecing node");
            }
            nbdTunnel = host.reach(socket);
            // Reads go over a connection without structured replies: with them, a full copy of the
            // fleecing node ran ~30 % slower here (3.6-5.6 s against 2.8-3.6 s per GiB, nine runs
            // each); block status gets a short connection of its own.
            if (previous != null) {
                // The replicator first asks for the changed extents, over a connection of their
                // own: its handshake runs while the reads' connection makes its own.
                java.net.SocketAddress address = nbdTunnel.address();
                String context = "qemu:dirty-bitmap:" + previous;
                changes = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return NbdClient.connect(address, export, List.of(context));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, Thread::startVirtualThread);
            }
            nbd = NbdClient.connect(nbdTunnel.address(), export);
            // On an SSH host with compressed reads and Python 3, the data is read there and sent as zlib frames.
            ExportReads reads = ExportReads.of(host, socket, export, nbd);
            return new LiveQemuDisk(host, qmpTunnel, qmp, node, previous, next, names, fleeceFile, socket, nbdTunnel, nbd, reads, changes);
        } catch (IOException | RuntimeException e) {
            // Whatever this open added to the QEMU goes (its bitmaps stay as a failed execution leaves them: the next open sorts them out).
            try {
                closeQuietly(changes);
                if (nbd != null) {
                    nbd.close();
                }
                if (nbdTunnel != null) {
                    nbdTunnel.close();
                }
                if (prepared != null) {
                    try {
                        // Nothing is deleted below while the scratch directory is still being made.
                        awaitPrepared(prepared);
                    } catch (IOException preparation) {
                        // Reported as the open's own failure, or beside it: the clean-up goes on.
                        if (preparation != e) {
                            e.addSuppressed(preparation);
                        }
                    }
                }
                if (qmp != null) {
                    cleanupLeftovers(qmp, names, false);
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

    /**
     * The names of one replica's objects in the QEMU: the fleecing qcow2 node and its file node,
     * the two jobs that create the fleecing file, the backup job, and the NBD export.
     */
    private record Names(String key) {
        String fleece() {
            return "strata-fl-" + key;
        }

        String file() {
            return "strata-ff-" + key;
        }

        String fileJob() {
            return "strata-fc-" + key;
        }

        String formatJob() {
            return "strata-fq-" + key;
        }

        String backupJob() {
            return "strata-job-" + key;
        }

        String export() {
            return "strata-" + key;
        }
    }

    /** The event of a job's end (successful or not); register it before creating the job. */
    private static java.util.concurrent.CompletableFuture<QmpEvent> concluded(QmpClient qmp, String job) {
        return qmp.nextEvent(event -> event.name().equals("JOB_STATUS_CHANGE") && event.data().path("id").asText().equals(job)
                && event.data().path("status").asText().equals("concluded"));
    }

    /** Waits for a creation job to be accepted, then for its end (an event, not a poll). */
    private static void awaitJob(QmpClient qmp, java.util.concurrent.CompletableFuture<JsonNode> started,
            java.util.concurrent.CompletableFuture<QmpEvent> concluded, String job, String what) throws IOException {
        try {
            qmp.await(started, what);
        } catch (QmpException e) {
            concluded.cancel(false);
            throw e;
        }
        try {
            concluded.get(QMP_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted during the " + what);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("the " + what + " (job " + job + ") did not end within " + QMP_TIMEOUT.toSeconds() + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("the " + what + " did not end: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Fails with QEMU's own message when the concluded job in the query-jobs reply failed. */
    private static void checkJob(QmpClient qmp, java.util.concurrent.CompletableFuture<JsonNode> jobs, String job, String what)
            throws IOException {
        for (JsonNode info : qmp.await(jobs, "query-jobs")) {
            if (info.path("id").asText().equals(job) && info.hasNonNull("error")) {
                throw new IOException(what + " failed: " + info.path("error").asText());
            }
        }
    }

    /** The format node (qcow2, raw…) whose image file is {@code diskPath}, from query-named-block-nodes. */
    private static JsonNode formatNode(HostAccess host, JsonNode nodes, Path diskPath) throws IOException {
        Path wanted = host.realPath(diskPath);
        for (JsonNode node : nodes) {
            String driver = node.path("drv").asText();
            // Our fleecing node (qcow2) and its file node (left by a run that died) are not the disk.
            if (driver.equals("file") || driver.equals("qcow2") && node.path("node-name").asText().startsWith("strata-fl-")) {
                continue;
            }
            String file = node.path("file").asText();
            if (!file.isEmpty() && (file.equals(diskPath.toString()) || file.startsWith("/") && sameFile(host, Path.of(file), wanted))) {
                return node;
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

    private static void awaitPrepared(java.util.concurrent.Future<Void> prepared) throws IOException {
        try {
            prepared.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while the scratch directory was made");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof java.io.UncheckedIOException unchecked ? unchecked.getCause()
                    : new IOException("cannot make the scratch directory: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** This replica's bitmaps on the node, oldest first. */
    private static List<String> bitmaps(JsonNode node, String prefix) {
        List<String> names = new ArrayList<>();
        for (JsonNode bitmap : node.path("dirty-bitmaps")) {
            String name = bitmap.path("name").asText();
            if (name.startsWith(prefix) && name.substring(prefix.length()).matches("\\d+")) {
                names.add(name);
            }
        }
        names.sort(java.util.Comparator.comparingLong(n -> Long.parseLong(n.substring(prefix.length()))));
        return names;
    }

    /**
     * Removes the export, the NBD server, the backup job, the fleecing file's creation jobs, the
     * fleecing node and its file node, whichever exist; with {@code queryNodes}, returns
     * query-named-block-nodes as it is afterwards. The backup job holds the fleecing node until
     * it is gone: when there is one, its end is awaited as an event (force-cancelling a backup
     * job ends it at once), not polled. A creation job is only left by a run that died within
     * the few milliseconds it runs: once concluded it is dismissed here; one still running makes
     * this open's own creation fail (its job ID is taken), and the next open cleans up.
     */
    private static JsonNode cleanupLeftovers(QmpClient qmp, Names names, boolean queryNodes) {
        java.util.concurrent.CompletableFuture<QmpEvent> ended = qmp.nextEvent(event ->
                (event.name().equals("BLOCK_JOB_CANCELLED") || event.name().equals("BLOCK_JOB_COMPLETED"))
                        && event.data().path("device").asText().equals(names.backupJob()));
        List<java.util.concurrent.CompletableFuture<JsonNode>> quiet = List.of(
                qmp.submit("block-export-del", Map.of("id", names.export(), "mode", "hard")),
                qmp.submit("nbd-server-stop", Map.of()),
                qmp.submit("job-dismiss", Map.of("id", names.fileJob())),
                qmp.submit("job-dismiss", Map.of("id", names.formatJob())));
        java.util.concurrent.CompletableFuture<JsonNode> cancel = qmp.submit("block-job-cancel", Map.of("device", names.backupJob(),
                "force", true));
        // The nodes' removal and the query go in the same round trip: with no backup job (every
        // open but one after a run that died) they are all there is to it.
        java.util.concurrent.CompletableFuture<JsonNode> nodes = removeNodes(qmp, names, queryNodes);
        boolean cancelled = succeeded(qmp, cancel);
        quiet.forEach(reply -> succeeded(qmp, reply));
        if (!cancelled) {
            ended.cancel(false);
            return nodes == null ? null : qmp.await(nodes, "query-named-block-nodes");
        }
        // The job held the fleecing node, so the removal above failed: again once the job has ended.
        try {
            ended.get(QMP_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // The connection ended, or no event: blockdev-del below reports a node still in use.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (nodes != null) {
            qmp.await(nodes, "query-named-block-nodes");
        }
        nodes = removeNodes(qmp, names, queryNodes);
        return nodes == null ? null : qmp.await(nodes, "query-named-block-nodes");
    }

    /** Removes the fleecing node and its file node, whichever exist; then query-named-block-nodes, if asked. */
    private static java.util.concurrent.CompletableFuture<JsonNode> removeNodes(QmpClient qmp, Names names, boolean queryNodes) {
        // The qcow2 node holds its file node: it goes first (QEMU runs them in this order).
        java.util.concurrent.CompletableFuture<JsonNode> deleted = qmp.submit("blockdev-del", Map.of("node-name", names.fleece()));
        java.util.concurrent.CompletableFuture<JsonNode> fileDeleted = qmp.submit("blockdev-del", Map.of("node-name", names.file()));
        java.util.concurrent.CompletableFuture<JsonNode> nodes = queryNodes ? qmp.submit("query-named-block-nodes", Map.of()) : null;
        succeeded(qmp, deleted);
        succeeded(qmp, fileDeleted);
        return nodes;
    }

    /** Whether a command that may find nothing to act on did act. */
    private static boolean succeeded(QmpClient qmp, java.util.concurrent.CompletableFuture<JsonNode> reply) {
        try {
            qmp.await(reply, "clean-up");
            return true;
        } catch (QmpException e) {
            // Nothing of that name: nothing to clean.
            return false;
        }
    }

    @Override
    public long size() {
        return nbd.size();
    }

    /** The extents of the point-in-time view that do not read as zeros (used by the first, full execution). */
    @Override
    public List<Extent> dataExtents() throws IOException {
        return extents(NbdClient.BASE_ALLOCATION, flags -> (flags & NbdClient.STATE_ZERO) == 0);
    }

    /** Extents changed since the previous successful execution's start; null on the first execution. */
    @Override
    public List<Extent> changedExtents() throws IOException {
        if (previous == null) {
            return null;
        }
        String context = "qemu:dirty-bitmap:" + previous;
        java.util.concurrent.CompletableFuture<NbdClient> ready = changes;
        changes = null;
        if (ready == null) {
            return extents(context, flags -> (flags & NbdClient.STATE_DIRTY) != 0);
        }
        try (NbdClient status = connected(ready)) {
            return status.extents(context, flags -> (flags & NbdClient.STATE_DIRTY) != 0);
        }
    }

    /** The connection the open set up; its failure, if any. */
    private static NbdClient connected(java.util.concurrent.CompletableFuture<NbdClient> connection) throws IOException {
        try {
            return connection.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while connecting to the export");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof java.io.UncheckedIOException unchecked) {
                throw unchecked.getCause();
            }
            throw new IOException("cannot connect to the export: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Closes a connection set up in the background but not used, once it is made (or has failed). */
    private static void closeQuietly(java.util.concurrent.CompletableFuture<NbdClient> connection) {
        if (connection != null) {
            try {
                connected(connection).close();
            } catch (IOException | RuntimeException ignored) {
                // Never used: nothing of it matters.
            }
        }
    }

    /** The extents of one metadata context, over a connection that asks for it (structured replies). */
    private List<Extent> extents(String context, java.util.function.IntPredicate wanted) throws IOException {
        try (NbdClient status = NbdClient.connect(nbdTunnel.address(), names.export(), List.of(context))) {
            return status.extents(context, wanted);
        }
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
        reads.plan(clipped);
    }

    @Override
    public void read(long offset, ByteBuffer into) throws IOException {
        reads.readUpTo(offset, into);
    }

    /**
     * Removes the export, the jobs and the fleecing node on a thread of its own while the
     * destination writes and flushes its last blocks (the QMP connection is left to it until
     * {@link #close} awaits it): an incremental execution's end no longer waits for both in turn.
     */
    @Override
    public void readsDone() {
        if (stopped == null) {
            stopped = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    stopExport();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, Thread::startVirtualThread);
        }
    }

    /** Ends the reads, then removes the export, the NBD server, the jobs, the fleecing node and its file node. */
    private void stopExport() throws IOException {
        try {
            closeQuietly(changes);
            try {
                reads.close();
            } finally {
                nbd.close();
            }
        } finally {
            nbdTunnel.close();
            cleanupLeftovers(qmp, names, false);
        }
    }

    /** Waits for the removal {@link #readsDone} started; its failure, if any. */
    private void awaitStopped() throws IOException {
        try {
            stopped.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while the export was removed");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof java.io.UncheckedIOException unchecked) {
                throw unchecked.getCause();
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IOException("cannot remove the export: " + cause.getMessage(), cause);
        }
    }

    @Override
    public void complete() {
        completed = true;
    }

    /**
     * Stops reading and removes the export, the jobs, the fleecing node and its file node (or
     * awaits that removal, when {@link #readsDone} started it), keeps or undoes the bitmap rotation, and closes the tunnels, the fleecing file and the host
     * access: nothing stays forwarded or exported after a success, a failure or a cancel.
     */
    @Override
    public void close() throws IOException {
        try {
            // A failed removal leaves the bitmaps as they are: the next open merges them back (the
            // next execution then reads the blocks of both, a superset of what changed).
            if (stopped != null) {
                awaitStopped();
            } else {
                stopExport();
            }
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
