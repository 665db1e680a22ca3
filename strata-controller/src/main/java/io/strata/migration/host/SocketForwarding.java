package io.strata.migration.host;

import com.jcraft.jsch.ChannelDirectStreamLocal;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local Unix socket whose connections are forwarded through an SSH session to a Unix socket
 * of the remote host. The local socket lives in a new directory of mode 0700, so only this
 * process's user reaches it; closing the forwarding stops accepting, ends the channels still
 * open and removes the socket and its directory.
 */
final class SocketForwarding implements HostAccess.Tunnel {
    private static final Logger LOG = LoggerFactory.getLogger(SocketForwarding.class);

    private final Session session;
    private final Path remote;
    private final int timeoutMillis;
    private final String where;
    private final Path directory;
    private final Path local;
    private final ServerSocketChannel server;
    private final Set<ChannelDirectStreamLocal> channels = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private SocketForwarding(Session session, Path remote, int timeoutMillis, String where, Path directory, Path local,
            ServerSocketChannel server) {
        this.session = session;
        this.remote = remote;
        this.timeoutMillis = timeoutMillis;
        this.where = where;
        this.directory = directory;
        this.local = local;
        this.server = server;
    }

    static SocketForwarding start(Session session, Path remote, int timeoutMillis, String where) throws IOException {
        Path directory = Files.createTempDirectory("strata-ssh-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path local = directory.resolve("s.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(local));
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(local);
            Files.deleteIfExists(directory);
            throw e;
        }
        SocketForwarding forwarding = new SocketForwarding(session, remote, timeoutMillis, where, directory, local, server);
        Thread.ofVirtual().name("ssh-forward-" + remote.getFileName()).start(forwarding::acceptLoop);
        return forwarding;
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                // Closed: the forwarding ends.
                return;
            }
            try {
                ChannelDirectStreamLocal channel = (ChannelDirectStreamLocal) session.openChannel("direct-streamlocal@openssh.com");
                channel.setSocketPath(remote.toString());
                channel.setOrgIPAddress("127.0.0.1");
                channel.setOrgPort(0);
                // JSch pumps the client's bytes to the channel on a thread of its own, and writes what
                // comes back from its session thread; either end closing closes the other.
                channel.setInputStream(input(client));
                channel.setOutputStream(output(client));
                channels.add(channel);
                channel.connect(timeoutMillis);
                if (closed) {
                    channel.disconnect();
                }
            } catch (JSchException | RuntimeException e) {
                LOG.warn("cannot forward {} of {}: {}", remote, where, e.getMessage());
                closeQuietly(client);
            }
            channels.removeIf(ChannelDirectStreamLocal::isClosed);
        }
    }

    /**
     * Streams straight on the channel: those of {@code Channels.newInputStream/OutputStream} share
     * the channel's blocking lock, so a read waiting for the server would hold up a write to it.
     */
    private static InputStream input(SocketChannel client) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] bytes, int offset, int length) throws IOException {
                return length == 0 ? 0 : client.read(ByteBuffer.wrap(bytes, offset, length));
            }

            @Override
            public void close() throws IOException {
                client.close();
            }
        };
    }

    private static OutputStream output(SocketChannel client) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) throws IOException {
                ByteBuffer buffer = ByteBuffer.wrap(bytes, offset, length);
                while (buffer.hasRemaining()) {
                    client.write(buffer);
                }
            }

            @Override
            public void close() throws IOException {
                client.close();
            }
        };
    }

    private static void closeQuietly(SocketChannel client) {
        try {
            client.close();
        } catch (IOException e) {
            // Nothing more to do with it.
        }
    }

    @Override
    public SocketAddress address() {
        return UnixDomainSocketAddress.of(local);
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.debug("closing the forwarding socket {}: {}", local, e.getMessage());
        }
        channels.forEach(ChannelDirectStreamLocal::disconnect);
        channels.clear();
        try {
            Files.deleteIfExists(local);
            Files.deleteIfExists(directory);
        } catch (IOException e) {
            LOG.warn("cannot remove the forwarding socket {}: {}", local, e.getMessage());
        }
    }
}
