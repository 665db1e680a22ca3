package io.strata.migration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH server (Debian's openssh-server) on a free loopback port, with a temporary host
 * key and an authorized client key, for endpoints reached over SSH. It logs in the user running
 * the tests (root in CI).
 */
public final class Sshd implements AutoCloseable {
    private final Process process;
    public final int port;
    public final String clientKey;
    public final String hostKey;
    public final String user = System.getProperty("user.name");

    private Sshd(Process process, int port, String clientKey, String hostKey) {
        this.process = process;
        this.port = port;
        this.clientKey = clientKey;
        this.hostKey = hostKey;
    }

    public static Sshd start(Path dir) {
        try {
            keygen(dir.resolve("host_key"));
            keygen(dir.resolve("client_key"));
            Files.copy(dir.resolve("client_key.pub"), dir.resolve("authorized_keys"));
            // sshd insists on its privilege separation directory even when it never drops privileges.
            Files.createDirectories(Path.of("/run/sshd"));
            int port;
            try (ServerSocket probe = new ServerSocket(0)) {
                port = probe.getLocalPort();
            }
            Files.writeString(dir.resolve("sshd_config"), """
                    Port %d
                    ListenAddress 127.0.0.1
                    HostKey %s
                    PidFile %s
                    AuthorizedKeysFile %s
                    StrictModes no
                    UsePAM no
                    PermitRootLogin prohibit-password
                    PasswordAuthentication no
                    KbdInteractiveAuthentication no
                    MaxSessions 64
                    LogLevel ERROR
                    """.formatted(port, dir.resolve("host_key"), dir.resolve("sshd.pid"), dir.resolve("authorized_keys")));
            Process process = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", dir.resolve("sshd_config").toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (true) {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    break;
                } catch (IOException notYet) {
                    if (!process.isAlive() || System.nanoTime() > deadline) {
                        process.destroyForcibly();
                        throw new IllegalStateException("sshd did not start: " + Files.readString(dir.resolve("sshd.log")));
                    }
                    Thread.sleep(50);
                }
            }
            String[] hostPublic = Files.readString(dir.resolve("host_key.pub")).trim().split("\\s+");
            return new Sshd(process, port, Files.readString(dir.resolve("client_key")), hostPublic[0] + " " + hostPublic[1]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void keygen(Path key) throws IOException, InterruptedException {
        Process keygen = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString())
                .redirectErrorStream(true).start();
        String output = new String(keygen.getInputStream().readAllBytes());
        if (keygen.waitFor() != 0) {
            throw new IOException("ssh-keygen failed: " + output);
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
    }
}
