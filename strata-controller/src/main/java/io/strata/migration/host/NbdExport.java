package io.strata.migration.host;

import static java.util.Objects.requireNonNull;

import java.io.Closeable;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;

/**
 * A disk of a host exported read-write by {@code qemu-nbd} there and reachable from this process
 * as a Unix socket (the socket itself on this machine, tunnelled through SSH from another): how
 * the OS morphing appliance on this worker attaches a destination volume that lives on another
 * host. Closing stops the tunnel and the qemu-nbd (which flushes the image) and removes its
 * directory; the host access is closed too when the export owns it.
 */
public final class NbdExport implements Closeable {
    private final HostAccess host;
    private final boolean ownsHost;
    private final Path workDir;
    private final HostAccess.Tunnel tunnel;

    private NbdExport(HostAccess host, boolean ownsHost, Path workDir, HostAccess.Tunnel tunnel) {
        this.host = host;
        this.ownsHost = ownsHost;
        this.workDir = workDir;
        this.tunnel = tunnel;
    }

    /**
     * Exports {@code disk} (of {@code format}) on {@code host}. With {@code ownsHost} the export
     * closes the host access when it is closed, or at once when it cannot start.
     */
    public static NbdExport start(HostAccess host, Path disk, String format, boolean ownsHost) throws IOException {
        requireNonNull(host, "host is null");
        requireNonNull(disk, "disk is null");
        Path workDir = null;
        HostAccess.Tunnel tunnel = null;
        try {
            // A directory of its own under /tmp: the socket path must stay under 108 bytes.
            workDir = Path.of(host.runScript("mktemp -d /tmp/strata-nbd.XXXXXX").strip());
            String dir = HostAccess.quote(workDir.toString());
            // --fork returns once the socket listens; the daemon's streams go to a file, not to our pipes.
            host.runScript("qemu-nbd --fork --persistent --format=" + HostAccess.quote(format) + " --cache=writeback --socket=" + dir
                    + "/nbd.sock --pid-file=" + dir + "/qemu-nbd.pid " + HostAccess.quote(disk.toString())
                    + " </dev/null >/dev/null 2>" + dir + "/qemu-nbd.err || { s=$?; cat " + dir + "/qemu-nbd.err >&2; exit $s; }");
            tunnel = host.reach(workDir.resolve("nbd.sock"));
            if (!(tunnel.address() instanceof UnixDomainSocketAddress)) {
                throw new IOException("the export of " + disk + " on " + host.name() + " is not reachable as a Unix socket");
            }
            return new NbdExport(host, ownsHost, workDir, tunnel);
        } catch (IOException | RuntimeException e) {
            try {
                if (tunnel != null) {
                    tunnel.close();
                }
                if (workDir != null) {
                    stop(host, workDir);
                }
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            } finally {
                if (ownsHost) {
                    host.close();
                }
            }
            throw e;
        }
    }

    /** The Unix socket of this machine that QEMU connects to. */
    public Path socket() {
        return ((UnixDomainSocketAddress) tunnel.address()).getPath();
    }

    @Override
    public void close() throws IOException {
        try {
            tunnel.close();
            stop(host, workDir);
        } finally {
            if (ownsHost) {
                host.close();
            }
        }
    }

    /** Stops the qemu-nbd (SIGTERM: it flushes the image and exits), waits for it, and removes its directory. */
    private static void stop(HostAccess host, Path workDir) throws IOException {
        host.runScript(HostAccess.stopDaemonScript(workDir.resolve("qemu-nbd.pid"), "qemu-nbd") + "; rm -rf "
                + HostAccess.quote(workDir.toString()));
    }
}
