package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A blocking unix-socket connection read line by line, as QMP and the guest agent speak (one JSON
 * document per line). Reads and writes go straight to the channel rather than through
 * Channels.newInputStream/newOutputStream, whose shared lock would let a blocked read stall a
 * write from another thread.
 */
final class LineChannel implements AutoCloseable {
    private final SocketChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    private LineChannel(SocketChannel channel) {
        this.channel = requireNonNull(channel, "channel is null");
        buffer.flip();
    }

    static LineChannel connect(Path socket) throws IOException {
        return connect(UnixDomainSocketAddress.of(socket));
    }

    /** A Unix socket, or a TCP address (e.g. a loopback port forwarded to a remote host's Unix socket). */
    static LineChannel connect(SocketAddress address) throws IOException {
        SocketChannel channel = SocketChannel.open(address instanceof UnixDomainSocketAddress ? StandardProtocolFamily.UNIX
                : ((java.net.InetSocketAddress) address).getAddress() instanceof java.net.Inet6Address ? StandardProtocolFamily.INET6
                : StandardProtocolFamily.INET);
        try {
            channel.connect(address);
            return new LineChannel(channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The next line without its line end, or null at end of stream. */
    String readLine() throws IOException {
        while (true) {
            while (buffer.hasRemaining()) {
                byte b = buffer.get();
                if (b == '\n') {
                    String text = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
                }
                line.write(b);
            }
            buffer.clear();
            int n = channel.read(buffer);
            buffer.flip();
            if (n < 0) {
                return null;
            }
        }
    }

    /** Reads and drops bytes up to and including {@code marker} (the agent's 0xFF sync byte). */
    void skipPast(byte marker) throws IOException {
        while (true) {
            while (buffer.hasRemaining()) {
                if (buffer.get() == marker) {
                    line.reset();
                    return;
                }
            }
            buffer.clear();
            int n = channel.read(buffer);
            buffer.flip();
            if (n < 0) {
                throw new IOException("connection closed");
            }
        }
    }

    void writeLine(String text) throws IOException {
        writeBytes((text + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void writeBytes(byte[] bytes) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(bytes);
        synchronized (channel) {
            while (out.hasRemaining()) {
                channel.write(out);
            }
        }
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do: the peer is gone either way
        }
    }
}
