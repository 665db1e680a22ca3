package io.strata.migration.host;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The file and command access a {@code qemu-host} endpoint needs on its host: this machine
 * ({@link LocalHost}) or another one over SSH ({@link SshHost}). Paths are the host's own
 * POSIX paths; a remote path is never touched locally.
 */
public interface HostAccess extends Closeable {
    /** How messages name the host: "local" or "user@host:port". */
    String name();

    boolean isDirectory(Path path) throws IOException;

    boolean isWritable(Path path) throws IOException;

    boolean exists(Path path) throws IOException;

    /** Names of the subdirectories ({@code directories}) or of the regular files of {@code dir}, sorted. */
    List<String> list(Path dir, boolean directories) throws IOException;

    String readString(Path file) throws IOException;

    void writeString(Path file, String text) throws IOException;

    void createDirectories(Path dir) throws IOException;

    /**
     * Makes {@code dir} (and its parents) and deletes the files {@code stale} if they exist, at
     * once: a scratch directory ready for new files and sockets, in one step (on an SSH host, one
     * command instead of one per path).
     */
    void prepareScratch(Path dir, List<Path> stale) throws IOException;

    /** The file's absolute path with every symbolic link resolved; an IOException when it does not exist. */
    Path realPath(Path file) throws IOException;

    /** Creates an empty file unless it exists. */
    void touch(Path file) throws IOException;

    void deleteIfExists(Path path) throws IOException;

    /** Removes a directory and everything under it; a no-op when it does not exist. */
    void deleteTree(Path dir) throws IOException;

    boolean isEmptyDirectory(Path dir) throws IOException;

    void move(Path from, Path to) throws IOException;

    /** A new empty file in {@code dir} (created if needed). */
    Path createTempFile(Path dir, String prefix, String suffix) throws IOException;

    /** {@code qemu-img info --output=json} of an image (which may be in use). */
    JsonNode imageInfo(Path image) throws IOException;

    void convert(Path from, String fromFormat, Path to, String toFormat) throws IOException;

    /** A raw image as a block source; {@code deleteOnClose} for scratch copies. */
    BlockSource openRawSource(Path file, boolean deleteOnClose) throws IOException;

    /** A raw image as a replication target, created empty when missing. */
    BlockTarget openRawTarget(Path file) throws IOException;

    /**
     * Runs a POSIX {@code sh} script on the host (qemu-img, qemu-nbd…) and returns its standard
     * output; a non-zero exit is an IOException carrying its standard error. A daemon it starts
     * must redirect its standard streams, or the call waits for it.
     */
    String runScript(String script) throws IOException;

    /**
     * Runs a program with its arguments, without a shell where that saves a process: directly on
     * this machine, as one quoted command line over SSH. Returns its standard output; a non-zero
     * exit is an IOException carrying its standard error, as with {@link #runScript}.
     */
    String runProgram(List<String> command) throws IOException;

    /**
     * Whether this is the local machine, where a file check or a process start is a system call
     * and not a round trip: a caller then does steps one by one that it sends as one script to
     * a remote host.
     */
    boolean isLocal();

    /**
     * Makes a Unix socket of the host reachable from this process: the socket itself locally, a
     * private Unix socket of this process forwarded through the SSH connection (direct-streamlocal)
     * otherwise.
     */
    Tunnel reach(Path socket) throws IOException;

    /** A way to a host's Unix socket; closing it stops forwarding (never the server behind). */
    interface Tunnel extends Closeable {
        java.net.SocketAddress address();

        @Override
        void close();
    }

    /** Single-quotes a word for a POSIX shell. */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /**
     * A script that stops the daemon named by {@code pidFile}, if it runs and is still a
     * {@code program} (a pid file left before a reboot may name another process now), waits for it
     * to go, polling every 10 ms (it is not our child, and Java's wait for a non-child polls
     * slowly), and removes the pid file. TERM lets QEMU's daemons flush and close the image; KILL
     * after a minute. A zombie counts as gone: its reaper (init) may take seconds to collect it.
     * Prints nothing; always succeeds; starts no process when there is no pid file.
     */
    static String stopDaemonScript(Path pidFile, String program) {
        String pid = quote(pidFile.toString());
        return "{ if [ -f " + pid + " ]; then p=$(cat " + pid + "); if grep -q " + quote(program) + " /proc/\"$p\"/cmdline 2>/dev/null; then "
                + "kill \"$p\"; i=0; while kill -0 \"$p\" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' /proc/\"$p\"/status 2>/dev/null; do "
                + "i=$((i+1)); if [ $i -gt 6000 ]; then kill -9 \"$p\"; fi; sleep 0.01; done; fi; rm -f " + pid + "; fi; }";
    }

    /** Stops a process (TERM, then KILL after a minute) and waits for it to go. */
    void stopProcess(long pid) throws IOException;

    @Override
    void close();
}
