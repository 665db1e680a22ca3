package io.strata.migration.disk;

import java.io.EOFException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A read-only NBD client (fixed newstyle handshake, NBD_OPT_GO, simple replies) over a Unix
 * socket: enough to read an export QEMU serves. Block status is left to {@code qemu-img map},
 * which speaks the structured replies it needs. Given a {@link #plan} of what will be read, it
 * keeps {@value #WINDOW} requests of up to {@value #CHUNK} bytes in flight ahead of the reader, so
 * the server works while the caller hashes; replies are matched by handle, since QEMU may answer
 * out of order.
 */
public final class NbdClient implements AutoCloseable {
    private static final long NBDMAGIC = 0x4e42444d41474943L;
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long REPLY_MAGIC = 0x3e889045565a9L;
    private static final int OPT_GO = 7;
    private static final int REP_ACK = 1;
    private static final int REP_INFO = 3;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    private static final short CMD_READ = 0;
    private static final short CMD_DISC = 2;
    private static final int MAX_READ = 32 << 20;
    static final int CHUNK = 128 * 1024;
    static final int WINDOW = 8;

    /** One read-ahead request and, once its reply came, its bytes. */
    private static final class Chunk {
        final long handle;
        final long offset;
        final int length;
        final ByteBuffer data;
        boolean ready;

        Chunk(long handle, long offset, int length) {
            this.handle = handle;
            this.offset = offset;
            this.length = length;
            this.data = ByteBuffer.allocate(length);
        }

        long end() {
            return offset + length;
        }
    }

    private final java.util.ArrayDeque<Chunk> inFlight = new java.util.ArrayDeque<>();
    private final java.util.Map<Long, Chunk> byHandle = new java.util.HashMap<>();
    private java.util.Iterator<BlockSource.Extent> plan;
    private long planOffset;
    private BlockSource.Extent planExtent;

    private final SocketChannel channel;
    private final long size;
    private long handle;

    private NbdClient(SocketChannel channel, long size) {
        this.channel = channel;
        this.size = size;
    }

    static NbdClient connect(Path socket, String export) throws IOException {
        return connect(UnixDomainSocketAddress.of(socket), export);
    }

    /** Connects to an export at a Unix socket or, through a tunnel, at a TCP address. */
    public static NbdClient connect(java.net.SocketAddress address, String export) throws IOException {
        SocketChannel channel = SocketChannel.open(address);
        if (!(address instanceof UnixDomainSocketAddress)) {
            // Small requests in flight: no Nagle delay on a tunnelled TCP connection.
            channel.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
        }
        try {
            ByteBuffer greeting = read(channel, 18);
            if (greeting.getLong() != NBDMAGIC || greeting.getLong() != IHAVEOPT) {
                throw new IOException("not an NBD newstyle server at " + address);
            }
            short serverFlags = greeting.getShort();
            if ((serverFlags & 1) == 0) {
                throw new IOException("the NBD server at " + address + " does not speak fixed newstyle");
            }
            write(channel, ByteBuffer.allocate(4).putInt(serverFlags & 3).flip());
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            ByteBuffer option = ByteBuffer.allocate(16 + 4 + name.length + 2);
            option.putLong(IHAVEOPT).putInt(OPT_GO).putInt(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0).flip();
            write(channel, option);
            long size = -1;
            while (true) {
                ByteBuffer header = read(channel, 20);
                if (header.getLong() != REPLY_MAGIC) {
                    throw new IOException("bad NBD option reply");
                }
                header.getInt();
                int type = header.getInt();
                int length = header.getInt();
                ByteBuffer data = read(channel, length);
                if (type < 0) {
                    throw new IOException("NBD export " + export + " refused: " + StandardCharsets.UTF_8.decode(data));
                }
                if (type == REP_INFO && length >= 12 && data.getShort() == 0) {
                    size = data.getLong();
                }
                if (type == REP_ACK) {
                    break;
                }
            }
            if (size < 0) {
                throw new IOException("NBD export " + export + " did not tell its size");
            }
            return new NbdClient(channel, size);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public long size() {
        return size;
    }

    /** Ascending extents that the next reads will ask for, in order; reads outside them end the plan. */
    public void plan(java.util.List<BlockSource.Extent> extents) throws IOException {
        drain();
        plan = extents.iterator();
        planExtent = null;
    }

    /**
     * Fills {@code into} from {@code offset} of an export of {@code size} bytes: what lies beyond
     * the end (a block whose tail passes it) reads as zeros, as a raw file would.
     */
    public void readUpTo(long size, long offset, ByteBuffer into) throws IOException {
        long available = Math.max(0, Math.min(into.remaining(), size - offset));
        read(offset, into.slice(into.position(), (int) available));
        into.position(into.position() + (int) available);
        while (into.hasRemaining()) {
            into.put((byte) 0);
        }
    }

    /** Reads {@code into.remaining()} bytes at {@code offset}. */
    public void read(long offset, ByteBuffer into) throws IOException {
        if (plan != null && readAhead(offset, into)) {
            return;
        }
        while (into.hasRemaining()) {
            int length = Math.min(into.remaining(), MAX_READ);
            long id = ++handle;
            ByteBuffer request = ByteBuffer.allocate(28);
            request.putInt(REQUEST_MAGIC).putShort((short) 0).putShort(CMD_READ).putLong(id).putLong(offset).putInt(length).flip();
            write(channel, request);
            ByteBuffer reply = read(channel, 16);
            if (reply.getInt() != SIMPLE_REPLY_MAGIC) {
                throw new IOException("bad NBD reply");
            }
            int error = reply.getInt();
            if (reply.getLong() != id) {
                throw new IOException("NBD reply for another request");
            }
            if (error != 0) {
                throw new IOException("NBD read of " + length + " bytes at " + offset + " failed with error " + error);
            }
            ByteBuffer slice = into.slice(into.position(), length);
            while (slice.hasRemaining()) {
                if (channel.read(slice) < 0) {
                    throw new EOFException("NBD server closed the connection");
                }
            }
            into.position(into.position() + length);
            offset += length;
        }
    }

    /** Serves a read from the read-ahead window; false (plan dropped) when the read is not where the plan goes. */
    private boolean readAhead(long offset, ByteBuffer into) throws IOException {
        int length = into.remaining();
        while (true) {
            while (inFlight.size() < WINDOW && sendNext()) {
                // Keeps the window full.
            }
            Chunk head = inFlight.peek();
            if (head == null) {
                break;
            }
            if (head.end() <= offset) {
                // Planned but skipped by the reader: its reply still has to be read off the socket.
                await(head);
                inFlight.poll();
                continue;
            }
            if (head.offset <= offset && offset + length <= head.end()) {
                await(head);
                into.put(head.data.slice((int) (offset - head.offset), length));
                if (offset + length == head.end()) {
                    inFlight.poll();
                }
                return true;
            }
            break;
        }
        drain();
        return false;
    }

    /** Sends the next planned request; false when the plan is done. */
    private boolean sendNext() throws IOException {
        while (planExtent == null || planOffset >= planExtent.end()) {
            if (!plan.hasNext()) {
                return false;
            }
            planExtent = plan.next();
            planOffset = planExtent.offset();
        }
        int length = (int) Math.min(CHUNK, planExtent.end() - planOffset);
        Chunk chunk = new Chunk(++handle, planOffset, length);
        planOffset += length;
        ByteBuffer request = ByteBuffer.allocate(28);
        request.putInt(REQUEST_MAGIC).putShort((short) 0).putShort(CMD_READ).putLong(chunk.handle).putLong(chunk.offset).putInt(length).flip();
        write(channel, request);
        inFlight.add(chunk);
        byHandle.put(chunk.handle, chunk);
        return true;
    }

    /** Reads replies (in whatever order they come) until this chunk's has arrived. */
    private void await(Chunk chunk) throws IOException {
        while (!chunk.ready) {
            ByteBuffer reply = read(channel, 16);
            if (reply.getInt() != SIMPLE_REPLY_MAGIC) {
                throw new IOException("bad NBD reply");
            }
            int error = reply.getInt();
            Chunk answered = byHandle.remove(reply.getLong());
            if (answered == null) {
                throw new IOException("NBD reply for an unknown request");
            }
            if (error != 0) {
                throw new IOException("NBD read of " + answered.length + " bytes at " + answered.offset + " failed with error " + error);
            }
            while (answered.data.hasRemaining()) {
                if (channel.read(answered.data) < 0) {
                    throw new EOFException("NBD server closed the connection");
                }
            }
            answered.data.flip();
            answered.ready = true;
        }
    }

    /** Ends the plan: replies still due are read and dropped, so the next request's reply is next. */
    private void drain() throws IOException {
        for (Chunk chunk : inFlight) {
            await(chunk);
        }
        inFlight.clear();
        plan = null;
    }

    @Override
    public void close() throws IOException {
        try {
            ByteBuffer request = ByteBuffer.allocate(28);
            request.putInt(REQUEST_MAGIC).putShort((short) 0).putShort(CMD_DISC).putLong(++handle).putLong(0).putInt(0).flip();
            write(channel, request);
        } catch (IOException ignored) {
            // Closing anyway.
        } finally {
            channel.close();
        }
    }

    private static ByteBuffer read(SocketChannel channel, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("NBD server closed the connection");
            }
        }
        return buffer.flip();
    }

    private static void write(SocketChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
