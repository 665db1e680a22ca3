package io.strata.migration.disk;

import java.io.EOFException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A read-only NBD client (fixed newstyle handshake, NBD_OPT_GO) over a Unix socket: enough to
 * read an export QEMU serves and, when connected with metadata contexts, to ask for its block
 * status (allocation, or a dirty bitmap QEMU exports as {@code qemu:dirty-bitmap:NAME}). Block
 * status needs structured replies, which then carry reads too (sent with "don't fragment": one
 * data chunk per read). Given a {@link #plan} of what will be read, it keeps {@value #WINDOW}
 * requests of up to {@value #CHUNK} bytes in flight ahead of the reader, so the server works
 * while the caller hashes; replies are matched by handle, since QEMU may answer out of order (and
 * interleave the chunks of structured replies).
 */
public final class NbdClient implements AutoCloseable {
    /** The allocation context every server with block status offers: bit 0 hole, bit 1 reads as zeros. */
    public static final String BASE_ALLOCATION = "base:allocation";
    /** In {@value #BASE_ALLOCATION}: the extent reads as zeros. */
    public static final int STATE_ZERO = 2;
    /** In QEMU's {@code qemu:dirty-bitmap:NAME} contexts: the extent was written while the bitmap recorded. */
    public static final int STATE_DIRTY = 1;

    private static final long NBDMAGIC = 0x4e42444d41474943L;
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long REPLY_MAGIC = 0x3e889045565a9L;
    private static final int OPT_GO = 7;
    private static final int OPT_STRUCTURED_REPLY = 8;
    private static final int OPT_SET_META_CONTEXT = 10;
    private static final int REP_ACK = 1;
    private static final int REP_INFO = 3;
    private static final int REP_META_CONTEXT = 4;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    private static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    private static final int REPLY_FLAG_DONE = 1;
    private static final int REPLY_TYPE_NONE = 0;
    private static final int REPLY_TYPE_OFFSET_DATA = 1;
    private static final int REPLY_TYPE_OFFSET_HOLE = 2;
    private static final int REPLY_TYPE_BLOCK_STATUS = 5;
    private static final int REPLY_TYPE_ERROR_BIT = 1 << 15;
    private static final short CMD_READ = 0;
    private static final short CMD_DISC = 2;
    private static final short CMD_BLOCK_STATUS = 7;
    private static final short CMD_FLAG_DF = 1 << 2;
    private static final int FLAG_SEND_DF = 1 << 7;
    private static final int MAX_READ = 32 << 20;
    /** Largest block status request: the length field is 32 bits; a multiple of any block size. */
    private static final int MAX_STATUS = 1 << 30;
    /**
     * 64 KiB, not more: QEMU's NBD server allocates each request's buffer (aligned), and a
     * 128 KiB one lies above glibc's default mmap threshold, so every request costs an mmap, page
     * faults on fresh zeroed pages and a munmap (strace: one of each per request). Measured
     * against qemu-storage-daemon on 2 loaded cores: 128 KiB x 8 cost the server 7.6-9 s of CPU
     * per GiB read (100-150 MiB/s), 64 KiB x 16 1.2-1.4 s (330-440 MiB/s); 128 KiB with the
     * server's threshold raised (GLIBC_TUNABLES) 1.5 s.
     */
    static final int CHUNK = 64 * 1024;
    /** QEMU's NBD server works on at most 16 requests of a client at once. */
    static final int WINDOW = 16;

    /** One request (a read, or a block status query) and, once its reply came, its result. */
    private static final class Chunk {
        final long handle;
        final long offset;
        final int length;
        /** Where a read's reply goes: a read-ahead buffer, or the reader's own buffer once it asks for this chunk before the reply came. */
        ByteBuffer data;
        /** Some reply to it arrived (a structured reply may come in several parts). */
        boolean started;
        /** Block status: the extents of the one context asked for, as (length, flags) pairs. */
        final java.util.List<long[]> status;
        final int context;
        String error;
        boolean ready;

        Chunk(long handle, long offset, int length, ByteBuffer data) {
            this.handle = handle;
            this.offset = offset;
            this.length = length;
            this.data = data;
            this.status = null;
            this.context = -1;
            data.clear().limit(length);
        }

        Chunk(long handle, long offset, int length, int context) {
            this.handle = handle;
            this.offset = offset;
            this.length = length;
            this.data = null;
            this.status = new java.util.ArrayList<>();
            this.context = context;
        }

        long end() {
            return offset + length;
        }
    }

    private static final byte[] ZEROS = new byte[CHUNK];

    private final java.util.ArrayDeque<Chunk> inFlight = new java.util.ArrayDeque<>();
    /** Read-ahead buffers of answered and consumed chunks, for the next ones. */
    private final java.util.ArrayDeque<ByteBuffer> spare = new java.util.ArrayDeque<>();
    private final java.util.Map<Long, Chunk> byHandle = new java.util.HashMap<>();
    private java.util.Iterator<BlockSource.Extent> plan;
    private long planOffset;
    private BlockSource.Extent planExtent;

    private final SocketChannel channel;
    private final long size;
    /** Context ids the server gave, by name; empty without block status. */
    private final java.util.Map<String, Integer> contexts;
    /** Flags of our reads: "don't fragment" when the server takes it (structured replies only). */
    private final short readFlags;
    private long handle;

    private NbdClient(SocketChannel channel, long size, java.util.Map<String, Integer> contexts, short readFlags) {
        this.readFlags = readFlags;
        this.channel = channel;
        this.size = size;
        this.contexts = contexts;
    }

    static NbdClient connect(Path socket, String export) throws IOException {
        return connect(UnixDomainSocketAddress.of(socket), export);
    }

    /** Connects to an export at a Unix socket or, through a tunnel, at a TCP address. */
    public static NbdClient connect(java.net.SocketAddress address, String export) throws IOException {
        return connect(address, export, java.util.List.of());
    }

    /**
     * Connects asking for the metadata {@code contexts} whose {@link #blockStatus} will be
     * queried (structured replies are negotiated then); an IOException when the server does not
     * offer one of them (e.g. no such bitmap exported).
     */
    public static NbdClient connect(java.net.SocketAddress address, String export, java.util.List<String> contexts) throws IOException {
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
            java.util.Map<String, Integer> ids = new java.util.HashMap<>();
            if (!contexts.isEmpty()) {
                sendOption(channel, OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
                optionReplies(channel, export, "structured replies", (type, data) -> { });
                java.util.List<byte[]> queries = contexts.stream().map(c -> c.getBytes(StandardCharsets.UTF_8)).toList();
                ByteBuffer request = ByteBuffer.allocate(4 + name.length + 4 + queries.stream().mapToInt(q -> 4 + q.length).sum());
                request.putInt(name.length).put(name).putInt(queries.size());
                queries.forEach(q -> request.putInt(q.length).put(q));
                sendOption(channel, OPT_SET_META_CONTEXT, request.flip());
                optionReplies(channel, export, "metadata contexts " + contexts, (type, data) -> {
                    if (type == REP_META_CONTEXT && data.remaining() >= 4) {
                        int id = data.getInt();
                        ids.put(StandardCharsets.UTF_8.decode(data).toString(), id);
                    }
                });
                for (String context : contexts) {
                    if (!ids.containsKey(context)) {
                        throw new IOException("NBD export " + export + " does not offer " + context);
                    }
                }
            }
            ByteBuffer go = ByteBuffer.allocate(4 + name.length + 2);
            go.putInt(name.length).put(name).putShort((short) 0).flip();
            sendOption(channel, OPT_GO, go);
            long[] size = {-1};
            int[] transmission = {0};
            optionReplies(channel, export, "export", (type, data) -> {
                if (type == REP_INFO && data.remaining() >= 12 && data.getShort() == 0) {
                    size[0] = data.getLong();
                    transmission[0] = data.remaining() >= 2 ? Short.toUnsignedInt(data.getShort()) : 0;
                }
            });
            if (size[0] < 0) {
                throw new IOException("NBD export " + export + " did not tell its size");
            }
            // Without "don't fragment", QEMU looks for holes in every read it answers (block status
            // per request) to send them as hole chunks: slower, and our reads are of data anyway.
            boolean dontFragment = !contexts.isEmpty() && (transmission[0] & FLAG_SEND_DF) != 0;
            return new NbdClient(channel, size[0], java.util.Map.copyOf(ids), dontFragment ? CMD_FLAG_DF : 0);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static void sendOption(SocketChannel channel, int option, ByteBuffer data) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(16);
        header.putLong(IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
        write(channel, header);
        write(channel, data);
    }

    private interface OptionReply {
        void accept(int type, ByteBuffer data) throws IOException;
    }

    /** Reads one option's replies up to its ACK; an error reply is an IOException. */
    private static void optionReplies(SocketChannel channel, String export, String what, OptionReply each) throws IOException {
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
                throw new IOException("NBD export " + export + " refused " + what + " (" + (type & 0x7fffffff) + "): "
                        + StandardCharsets.UTF_8.decode(data));
            }
            if (type == REP_ACK) {
                return;
            }
            each.accept(type, data);
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
            Chunk chunk = new Chunk(++handle, offset, length, ByteBuffer.allocate(length));
            send(chunk, CMD_READ);
            await(chunk);
            into.put(chunk.data);
            offset += length;
        }
    }

    /**
     * The extents of the whole export whose flags in {@code context} (one asked for at
     * connection) match {@code wanted}: adjacent ones merged, ascending, clipped to the export.
     */
    public java.util.List<BlockSource.Extent> extents(String context, java.util.function.IntPredicate wanted) throws IOException {
        Integer id = contexts.get(context);
        if (id == null) {
            throw new IllegalArgumentException("metadata context " + context + " was not asked for at connection");
        }
        drain();
        java.util.List<BlockSource.Extent> extents = new java.util.ArrayList<>();
        long offset = 0;
        while (offset < size) {
            // A server may describe less than asked (QEMU caps the extents per reply): ask again from where it stopped.
            Chunk chunk = new Chunk(++handle, offset, (int) Math.min(MAX_STATUS, size - offset), id);
            send(chunk, CMD_BLOCK_STATUS);
            await(chunk);
            if (chunk.status.isEmpty()) {
                throw new IOException("NBD block status at " + offset + " described nothing");
            }
            for (long[] descriptor : chunk.status) {
                long end = Math.min(size, offset + descriptor[0]);
                if (wanted.test((int) descriptor[1]) && end > offset) {
                    if (!extents.isEmpty() && extents.getLast().end() == offset) {
                        BlockSource.Extent last = extents.removeLast();
                        extents.add(new BlockSource.Extent(last.offset(), end - last.offset()));
                    } else {
                        extents.add(new BlockSource.Extent(offset, end - offset));
                    }
                }
                offset = end;
            }
        }
        return extents;
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
                release(inFlight.poll());
                continue;
            }
            if (head.offset == offset && head.length == length && !head.started && into.isDirect()) {
                // Its reply has not come yet: it goes straight into the reader's buffer, which
                // saves copying it out of the read-ahead buffer (a GiB of copies per GiB read).
                ByteBuffer ahead = head.data;
                head.data = into.slice(into.position(), length);
                inFlight.poll();
                // Not kept by a drain, even after a failure: the reader's buffer is not a spare.
                spare.push(ahead);
                await(head);
                into.position(into.position() + length);
                return true;
            }
            if (head.offset <= offset && offset + length <= head.end()) {
                await(head);
                into.put(head.data.slice((int) (offset - head.offset), length));
                if (offset + length == head.end()) {
                    release(inFlight.poll());
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
        // Read-ahead buffers are direct and reused: the socket fills them without the JDK's
        // temporary direct buffer and its extra copy, and no zeroed heap buffer is made per chunk.
        ByteBuffer buffer = spare.poll();
        Chunk chunk = new Chunk(++handle, planOffset, length, buffer != null ? buffer : BlockBuffers.take());
        planOffset += length;
        send(chunk, CMD_READ);
        inFlight.add(chunk);
        return true;
    }

    private void send(Chunk chunk, short command) throws IOException {
        ByteBuffer request = ByteBuffer.allocate(28);
        request.putInt(REQUEST_MAGIC).putShort(command == CMD_READ ? readFlags : 0).putShort(command).putLong(chunk.handle).putLong(chunk.offset).putInt(chunk.length)
                .flip();
        write(channel, request);
        byHandle.put(chunk.handle, chunk);
    }

    /** Reads replies (in whatever order they come) until this request's has arrived whole. */
    private void await(Chunk chunk) throws IOException {
        while (!chunk.ready) {
            receive();
        }
        if (chunk.error != null) {
            throw new IOException("NBD " + (chunk.data != null ? "read" : "block status") + " of " + chunk.length + " bytes at "
                    + chunk.offset + " failed: " + chunk.error);
        }
    }

    /** Reads one reply, or one chunk of a structured reply, into the request it answers. */
    private void receive() throws IOException {
        // 16 bytes: all of a simple reply's header, or a structured one's up to its length (read
        // with a data chunk's offset then): three reads per chunk of data, not five.
        ByteBuffer head = read(channel, 16);
        int magic = head.getInt();
        if (magic == SIMPLE_REPLY_MAGIC) {
            int error = head.getInt();
            Chunk answered = answered(head.getLong());
            if (error != 0) {
                answered.error = "error " + error;
            } else if (answered.data != null) {
                readFully(answered.data.clear().limit(answered.length));
            } else {
                answered.error = "a simple reply to a block status request";
            }
            finish(answered);
            return;
        }
        if (magic != STRUCTURED_REPLY_MAGIC) {
            throw new IOException("bad NBD reply");
        }
        int flags = Short.toUnsignedInt(head.getShort());
        int type = Short.toUnsignedInt(head.getShort());
        Chunk answered = answered(head.getLong());
        boolean data = type == REPLY_TYPE_OFFSET_DATA && answered.data != null;
        ByteBuffer rest = read(channel, data ? 12 : 4);
        int length = rest.getInt();
        if (data) {
            long offset = rest.getLong();
            int count = length - 8;
            if (count < 0 || offset < answered.offset || offset + count > answered.end()) {
                throw new IOException("NBD read reply outside its request");
            }
            readFully(answered.data.clear().position((int) (offset - answered.offset)).limit((int) (offset - answered.offset) + count));
        } else {
            ByteBuffer payload = read(channel, length);
            if ((type & REPLY_TYPE_ERROR_BIT) != 0) {
                int error = payload.remaining() >= 6 ? payload.getInt() : -1;
                int messageLength = payload.remaining() >= 2 ? Short.toUnsignedInt(payload.getShort()) : 0;
                String message = StandardCharsets.UTF_8.decode(payload.slice(payload.position(), Math.min(messageLength, payload.remaining())))
                        .toString();
                answered.error = "error " + error + (message.isEmpty() ? "" : ": " + message);
            } else if (type == REPLY_TYPE_BLOCK_STATUS && answered.status != null) {
                if (payload.getInt() == answered.context) {
                    while (payload.remaining() >= 8) {
                        answered.status.add(new long[] {Integer.toUnsignedLong(payload.getInt()), Integer.toUnsignedLong(payload.getInt())});
                    }
                }
            } else if (type == REPLY_TYPE_OFFSET_HOLE && answered.data != null && payload.remaining() >= 12) {
                long offset = payload.getLong();
                int count = payload.getInt();
                if (offset < answered.offset || offset + count > answered.end()) {
                    throw new IOException("NBD hole reply outside its request");
                }
                for (int at = (int) (offset - answered.offset), end = at + count; at < end; at += ZEROS.length) {
                    answered.data.put(at, ZEROS, 0, Math.min(ZEROS.length, end - at));
                }
            } else if (type != REPLY_TYPE_NONE) {
                throw new IOException("unexpected NBD reply type " + type);
            }
        }
        if ((flags & REPLY_FLAG_DONE) != 0) {
            finish(answered);
        }
    }

    private Chunk answered(long id) throws IOException {
        Chunk answered = byHandle.get(id);
        if (answered == null) {
            throw new IOException("NBD reply for an unknown request");
        }
        answered.started = true;
        return answered;
    }

    private void finish(Chunk answered) {
        byHandle.remove(answered.handle);
        if (answered.data != null) {
            answered.data.clear().limit(answered.length);
        }
        answered.ready = true;
    }

    private void readFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("NBD server closed the connection");
            }
        }
    }

    private void release(Chunk chunk) {
        if (chunk.data.isDirect()) {
            spare.push(chunk.data);
        }
    }

    /** Ends the plan: replies still due are read and dropped, so the next request's reply is next. */
    private void drain() throws IOException {
        for (Chunk chunk : inFlight) {
            await(chunk);
        }
        inFlight.forEach(this::release);
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
            // Nothing fills them any more (replies still due, if any, are not read): kept for the next execution.
            for (ByteBuffer buffer = spare.poll(); buffer != null; buffer = spare.poll()) {
                BlockBuffers.give(buffer);
            }
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
