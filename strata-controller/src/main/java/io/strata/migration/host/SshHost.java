package io.strata.migration.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import io.strata.migration.disk.QemuImg;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * Another Linux host reached over SSH (JSch). The host needs only a POSIX shell, coreutils and
 * qemu-utils: no SFTP subsystem, no agent. Small operations ({@code test}, {@code find},
 * {@code qemu-img}…) are commands sent to one long-lived remote {@code sh}, each followed by a
 * marker line carrying its exit status and the size of its stderr, because starting a channel
 * per command costs an sshd fork and a round trip or two (about half a second on a loaded host).
 * Disk bytes stream through long-lived {@code dd} channels of their own (see {@link SshRawDisk}).
 */
public final class SshHost implements HostAccess {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int CONNECT_TIMEOUT_MILLIS = 15_000;

    /**
     * Where and how to log in; {@code hostKey} ("ssh-ed25519 AAAA…") pins the host's key when given.
     * {@code compression}: SSH-level zlib for what the host sends; {@code compressWrites}: disk
     * writes sent as gzip frames; {@code compressReads}: disk reads sent by the host as zlib frames
     * where it has Python 3 (see {@link SshRawDisk}, {@link ZlibReadFrames}).
     */
    public record Login(String host, int port, String username, String password, String privateKey, String passphrase, String hostKey,
            boolean compression, boolean compressWrites, boolean compressReads) {
        @Override
        public String toString() {
            // Never print the password or the key.
            return username + "@" + host + ":" + port;
        }
    }

    private final Login login;
    private final Session session;
    /** Where close() returns this connection; null: close() disconnects. */
    private final Pool pool;
    /** Ends each command's output; random, so that no output can fake it. */
    private final String marker = "@@strata-" + UUID.randomUUID() + "@@";
    private Exec shell;
    private InputStream shellOut;
    /** Whether the host has Python 3 (for compressed reads); null until asked. */
    private Boolean python3;

    private SshHost(Login login, Session session, Pool pool) {
        this.login = login;
        this.session = session;
        this.pool = pool;
    }

    /**
     * Logged-in connections kept for reuse: a provider call costs a key exchange and a new remote
     * shell (about a second on a loaded host) otherwise, and an execution makes dozens of calls.
     * A connection is lent to one user at a time; idle ones are closed after {@code keep}.
     */
    public static final class Pool {
        private record Idle(SshHost host, long since) {}

        private final java.util.Map<Login, java.util.ArrayDeque<Idle>> idle = new java.util.HashMap<>();
        private final long keepNanos;

        public Pool(java.time.Duration keep) {
            this.keepNanos = keep.toNanos();
        }

        public SshHost acquire(Login login) throws IOException {
            while (true) {
                SshHost host = take(login);
                if (host == null) {
                    return connect(login, this);
                }
                if (host.session.isConnected()) {
                    return host;
                }
                host.disconnect();
            }
        }

        private synchronized SshHost take(Login login) {
            evict();
            java.util.ArrayDeque<Idle> hosts = idle.get(login);
            Idle entry = hosts == null ? null : hosts.pollLast();
            return entry == null ? null : entry.host();
        }

        synchronized void release(SshHost host) {
            if (!host.session.isConnected()) {
                host.disconnect();
                return;
            }
            idle.computeIfAbsent(host.login, l -> new java.util.ArrayDeque<>()).addLast(new Idle(host, System.nanoTime()));
            evict();
        }

        private void evict() {
            long now = System.nanoTime();
            for (java.util.ArrayDeque<Idle> hosts : idle.values()) {
                while (!hosts.isEmpty() && now - hosts.peekFirst().since() > keepNanos) {
                    hosts.pollFirst().host().disconnect();
                }
            }
            idle.values().removeIf(java.util.ArrayDeque::isEmpty);
        }

        /** Closes every idle connection. */
        public synchronized void close() {
            idle.values().forEach(hosts -> hosts.forEach(entry -> entry.host().disconnect()));
            idle.clear();
        }
    }

    /** Logs in; failures (unreachable, refused key, wrong password, unknown host key) say which. */
    public static SshHost connect(Login login) throws IOException {
        return connect(login, null);
    }

    private static SshHost connect(Login login, Pool pool) throws IOException {
        JSch jsch = new JSch();
        try {
            if (login.privateKey() != null) {
                byte[] passphrase = login.passphrase() == null ? null : login.passphrase().getBytes(StandardCharsets.UTF_8);
                jsch.addIdentity("endpoint-key", login.privateKey().getBytes(StandardCharsets.UTF_8), null, passphrase);
            }
            Session session = jsch.getSession(login.username(), login.host(), login.port());
            if (login.password() != null) {
                session.setPassword(login.password());
            }
            if (login.hostKey() != null) {
                String[] parts = login.hostKey().trim().split("\\s+");
                if (parts.length < 2) {
                    throw new IOException("host_key must read like an authorized_keys line: TYPE BASE64 [COMMENT]");
                }
                byte[] key = Base64.getDecoder().decode(parts[1]);
                // JSch looks a non-standard port up as "[host]:port", as OpenSSH's known_hosts does.
                String known = login.port() == 22 ? login.host() : "[" + login.host() + "]:" + login.port();
                jsch.getHostKeyRepository().add(new HostKey(known, key), null);
                session.setConfig("StrictHostKeyChecking", "yes");
            } else {
                // Without a pinned key the first key seen is trusted (documented in docs/migration.md).
                session.setConfig("StrictHostKeyChecking", "no");
            }
            session.setConfig("PreferredAuthentications", "publickey,password,keyboard-interactive");
            if (login.compression()) {
                // For slow links: zlib at the SSH layer for what the host sends us (disk and NBD reads),
                // inflated here with native zlib through java.util.zip. Off by default: the host's sshd
                // compresses at zlib's level 6 and cannot skip data that does not shrink (gzip -6 ran
                // at about 15 MB/s of random data on a loaded test host), so on a fast network it can
                // cost more than it saves. Our own implementation: JSch's java.util.zip one garbles
                // packets (see ZlibCompression), its default one is pure Java and slow. What we send is
                // never compressed by SSH: when the remote window takes only part of a packet, JSch
                // parks the rest in the same buffer without room for an AEAD cipher's tag once
                // compression has grown the packet, and the tag overwrites parked bytes (seen: 4 bytes
                // of 4 MiB, silently). Disk writes are compressed above SSH instead (SshRawDisk).
                session.setConfig("compression.s2c", "zlib@openssh.com,zlib,none");
                session.setConfig("compression.c2s", "none");
                session.setConfig("zlib@openssh.com", ZlibCompression.class.getName());
                session.setConfig("zlib", ZlibCompression.class.getName());
                session.setConfig("compression_level", "1");
            }
            session.setServerAliveInterval(30_000);
            // An idle pooled connection must not keep the process alive at shutdown.
            session.setDaemonThread(true);
            session.connect(CONNECT_TIMEOUT_MILLIS);
            return new SshHost(login, session, pool);
        } catch (JSchException e) {
            throw new IOException("cannot log in to " + login + " over SSH: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IOException("host_key is not valid base64: " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return login.toString();
    }

    /** Whether disk and NBD reads should come compressed from the host (where it has Python 3). */
    boolean compressReads() {
        return login.compressReads();
    }

    /** Whether the host runs {@code python3}, which sends compressed reads; asked once per connection. */
    synchronized boolean hasPython3() throws IOException {
        if (python3 == null) {
            python3 = run("command -v python3 >/dev/null 2>&1 && echo yes || echo no").strip().equals("yes");
        }
        return python3;
    }

    /** Single-quotes a word for the remote shell. */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    static String quote(Path path) {
        return quote(path.toString());
    }

    /** Runs a command and returns its standard output; a non-zero exit is an IOException with its stderr. */
    String run(String command) throws IOException {
        Result result = shell(command);
        if (result.status() != 0) {
            throw new IOException("'" + command + "' failed (" + result.status() + ") on " + login + ": " + result.stderr().strip());
        }
        return result.stdout();
    }

    /** Whether a command exits 0 (for tests such as {@code test -d}). */
    private boolean succeeds(String command) throws IOException {
        return shell(command).status() == 0;
    }

    private record Result(int status, String stdout, String stderr) {}

    private synchronized Result shell(String command) throws IOException {
        boolean reused = shell != null;
        try {
            return shellOnce(command);
        } catch (ShellEnded e) {
            if (!reused) {
                throw e;
            }
            // A shell kept from an earlier use (a pooled connection) can be gone without our
            // knowing; the command is sent once more to a new one. Every command sent here is
            // safe to repeat or fails with its own message when it is not (mv of a moved file).
            return shellOnce(command);
        }
    }

    private static final class ShellEnded extends IOException {
        ShellEnded(String message) {
            super(message);
        }
    }

    private Result shellOnce(String command) throws IOException {
        if (shell == null) {
            shell = start("sh");
            shellOut = new java.io.BufferedInputStream(shell.stdout(), 1 << 16);
            send("e=$(mktemp) || exit 1; trap 'rm -f \"$e\"' EXIT\n");
        }
        // The command reads nothing (the shell's stdin carries the next commands); its stderr goes
        // to a file that follows the marker, so stdout stays exactly what the command printed.
        // A subshell, so that nothing a command does (exit, cd, variables) reaches the long-lived shell.
        send("( " + command + "\n) </dev/null 2>\"$e\"; s=$?; printf '\\n%s %d %d\\n' '" + marker
                + "' \"$s\" \"$(wc -c <\"$e\")\"; cat \"$e\"\n");
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = shellOut.read();
            if (b < 0) {
                String why = shell.stderr().toString(StandardCharsets.UTF_8).strip() + " (exit " + shell.channel().getExitStatus() + ")";
                closeShell();
                throw new ShellEnded("the shell on " + login + " ended while running '" + command + "': " + why);
            }
            if (b != '\n') {
                line.write(b);
                continue;
            }
            String text = line.toString(StandardCharsets.UTF_8);
            if (text.startsWith(marker + " ")) {
                String[] fields = text.substring(marker.length() + 1).trim().split(" ");
                int status = Integer.parseInt(fields[0]);
                byte[] stderr = shellOut.readNBytes(Integer.parseInt(fields[1]));
                byte[] out = stdout.toByteArray();
                // The newline printed before the marker is not the command's.
                String output = new String(out, 0, Math.max(0, out.length - 1), StandardCharsets.UTF_8);
                return new Result(status, output, new String(stderr, StandardCharsets.UTF_8));
            }
            line.writeTo(stdout);
            stdout.write('\n');
            line.reset();
        }
    }

    private void send(String text) throws IOException {
        try {
            shell.stdin().write(text.getBytes(StandardCharsets.UTF_8));
            shell.stdin().flush();
        } catch (IOException e) {
            closeShell();
            throw new ShellEnded("the shell on " + login + " is gone: " + e.getMessage());
        }
    }

    private synchronized void closeShell() {
        if (shell != null) {
            shell.close();
            shell = null;
        }
    }

    Exec start(String command) throws IOException {
        try {
            ChannelExec channel = (ChannelExec) session.openChannel("exec");
            channel.setCommand(command);
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            channel.setErrStream(stderr, true);
            InputStream stdout = channel.getInputStream();
            OutputStream stdin = channel.getOutputStream();
            channel.connect(CONNECT_TIMEOUT_MILLIS);
            return new Exec(command, channel, stdin, stdout, stderr);
        } catch (JSchException e) {
            throw new IOException("cannot run a command on " + login + ": " + e.getMessage(), e);
        }
    }

    /** One remote command with its streams. */
    record Exec(String command, ChannelExec channel, OutputStream stdin, InputStream stdout, ByteArrayOutputStream stderr)
            implements AutoCloseable {
        int awaitExit() throws IOException {
            // The exit status arrives just before the channel closes, after stdout's end.
            long deadline = System.nanoTime() + 600_000_000_000L;
            while (!channel.isClosed()) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("'" + command + "' did not finish");
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for '" + command + "'", e);
                }
            }
            return channel.getExitStatus();
        }

        void finish() throws IOException {
            int status = awaitExit();
            if (status != 0) {
                throw new IOException("'" + command + "' failed (" + status + "): " + stderr.toString(StandardCharsets.UTF_8).strip());
            }
        }

        @Override
        public void close() {
            channel.disconnect();
        }
    }

    @Override
    public boolean isDirectory(Path path) throws IOException {
        return succeeds("test -d " + quote(path));
    }

    @Override
    public boolean isWritable(Path path) throws IOException {
        return succeeds("test -w " + quote(path));
    }

    @Override
    public boolean exists(Path path) throws IOException {
        return succeeds("test -e " + quote(path));
    }

    @Override
    public List<String> list(Path dir, boolean directories) throws IOException {
        String output = run("find " + quote(dir) + " -mindepth 1 -maxdepth 1 -type " + (directories ? "d" : "f") + " -printf '%f\\n'");
        return Arrays.stream(output.split("\n")).filter(name -> !name.isEmpty()).sorted().toList();
    }

    @Override
    public String readString(Path file) throws IOException {
        return run("cat " + quote(file));
    }

    @Override
    public void writeString(Path file, String text) throws IOException {
        // Small files (instance descriptors) travel inside the command, base64 so that no quoting matters.
        String encoded = Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
        run("printf %s " + quote(encoded) + " | base64 -d > " + quote(file));
    }

    @Override
    public void createDirectories(Path dir) throws IOException {
        run("mkdir -p " + quote(dir));
    }

    @Override
    public void prepareScratch(Path dir, List<Path> stale) throws IOException {
        // One round trip: each of createDirectories and deleteIfExists would be a command of its own.
        StringBuilder script = new StringBuilder("mkdir -p ").append(quote(dir));
        if (!stale.isEmpty()) {
            script.append(" && rm -f --");
            stale.forEach(file -> script.append(' ').append(quote(file)));
        }
        run(script.toString());
    }

    @Override
    public Path realPath(Path file) throws IOException {
        return Path.of(run("readlink -e -- " + quote(file)).strip());
    }

    @Override
    public void touch(Path file) throws IOException {
        run("touch " + quote(file));
    }

    @Override
    public void deleteIfExists(Path path) throws IOException {
        run("rm -f " + quote(path) + " 2>/dev/null || rmdir " + quote(path));
    }

    @Override
    public void deleteTree(Path dir) throws IOException {
        run("rm -rf -- " + quote(dir));
    }

    @Override
    public boolean isEmptyDirectory(Path dir) throws IOException {
        return run("find " + quote(dir) + " -mindepth 1 -maxdepth 1 -print -quit").isBlank();
    }

    @Override
    public void move(Path from, Path to) throws IOException {
        run("mv -T -- " + quote(from) + " " + quote(to));
    }

    @Override
    public Path createTempFile(Path dir, String prefix, String suffix) throws IOException {
        createDirectories(dir);
        Path file = dir.resolve(prefix + UUID.randomUUID() + suffix);
        touch(file);
        return file;
    }

    @Override
    public JsonNode imageInfo(Path image) throws IOException {
        return MAPPER.readTree(run("qemu-img info -U --output=json " + quote(image)));
    }

    @Override
    public void convert(Path from, String fromFormat, Path to, String toFormat) throws IOException {
        run("qemu-img convert -f " + quote(fromFormat) + " -O " + quote(toFormat) + " " + quote(from) + " " + quote(to));
    }

    List<BlockSource.Extent> dataExtents(Path file) throws IOException {
        return QemuImg.parseMap(run("qemu-img map --output=json -f raw " + quote(file)));
    }

    long size(Path file) throws IOException {
        return Long.parseLong(run("stat -c %s " + quote(file)).strip());
    }

    @Override
    public BlockSource openRawSource(Path file, boolean deleteOnClose) throws IOException {
        return new SshRawDisk(this, file, deleteOnClose, login.compressWrites(), login.compressReads());
    }

    @Override
    public BlockTarget openRawTarget(Path file) throws IOException {
        touch(file);
        return new SshRawDisk(this, file, false, login.compressWrites(), login.compressReads());
    }

    @Override
    public String runScript(String script) throws IOException {
        return run(script);
    }

    @Override
    public String runProgram(List<String> command) throws IOException {
        return run(String.join(" ", command.stream().map(HostAccess::quote).toList()));
    }

    @Override
    public boolean isLocal() {
        return false;
    }

    /**
     * A Unix socket of this process, in a directory only this user can enter, forwarded to the
     * host's Unix socket (OpenSSH's direct-streamlocal, as {@code ssh -L local.sock:remote.sock}):
     * unlike a loopback TCP port, no other local user can reach the socket behind it (a guest's
     * QMP socket gives control of the guest). Each connection accepted is one SSH channel.
     */
    @Override
    public Tunnel reach(Path socket) throws IOException {
        return SocketForwarding.start(session, socket, CONNECT_TIMEOUT_MILLIS, login.toString());
    }

    @Override
    public void stopProcess(long pid) throws IOException {
        run("kill " + pid + " 2>/dev/null || exit 0; i=0; while kill -0 " + pid + " 2>/dev/null; do i=$((i+1)); "
                + "if [ $i -gt 600 ]; then kill -9 " + pid + "; exit 0; fi; sleep 0.1; done");
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.release(this);
        } else {
            disconnect();
        }
    }

    private void disconnect() {
        closeShell();
        session.disconnect();
    }
}
