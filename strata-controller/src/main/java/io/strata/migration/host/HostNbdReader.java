package io.strata.migration.host;

import io.strata.migration.disk.BlockSource.Extent;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;

/**
 * The data reads of an NBD export on an SSH host, made there and sent compressed: a small Python
 * 3 script on the host ({@link #READER}) connects to the export's Unix socket, takes "OFFSET
 * LENGTH" lines on its standard input, reads each with NBD_CMD_READ and writes the bytes out as
 * the zlib frames of {@link ZlibReadFrames} (the same framing code as the raw disk reads'). Only
 * the data goes this way: block status (extents, dirty bitmaps) is small and stays on the
 * {@code NbdClient} through the forwarded socket.
 * <p>
 * Given a {@link #plan}, requests for up to {@value #AHEAD} bytes are sent ahead of the reader in
 * pieces of up to {@value #PIECE} bytes, so the host reads and compresses while the worker hashes
 * and a long link's round trip is paid once, not per extent. The replies come back in request
 * order on one stream. A read outside the plan drops what is still due (read and discarded) and
 * asks for that range alone.
 * <p>
 * An NBD error reply, or anything else that stops the script, ends it with an error frame and a
 * failed read; a script that dies without one (killed) fails the read with its exit status and
 * standard error. Closing drops the SSH channel: the script sees its input end, or its output
 * break, and exits.
 */
final class HostNbdReader implements ExportReads {
    /** Largest request line; the script splits it further to the export's maximum (at most 32 MiB). */
    static final int PIECE = 4 << 20;
    /** Bytes requested ahead of what the reader has taken. */
    static final long AHEAD = 32L << 20;

    /**
     * argv[1]: the export's Unix socket; argv[2]: the export's name. Fixed newstyle handshake with
     * NBD_OPT_GO (asking for the block size limits), NBD_OPT_EXPORT_NAME when the server does not
     * know GO; no structured replies. One request at a time: the server is on the same host, a
     * round trip costs microseconds (a thread reading the next piece while this one is compressed
     * and written made no measurable difference here). A write to the NBD socket that fails is
     * reported, not taken for the worker going away (a BrokenPipeError on standard output).
     */
    static final String READER = ZlibReadFrames.FRAMES + String.join("\n",
            "import os, socket",
            "o = sys.stdout.buffer",
            "def main():",
            "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "    s.connect(sys.argv[1])",
            "    f = s.makefile('rb')",
            "    def get(n):",
            "        b = f.read(n)",
            "        if len(b) < n:",
            "            raise IOError('the NBD server closed the connection')",
            "        return b",
            "    def send(b):",
            "        try:",
            "            s.sendall(b)",
            "        except OSError as e:",
            // Not a BrokenPipeError, which means that the worker went away.
            "            raise IOError('the NBD server closed the connection (%s)' % e)",
            "    name = sys.argv[2].encode()",
            "    magic, opt, flags = struct.unpack('>QQH', get(18))",
            "    if magic != 0x4e42444d41474943 or opt != 0x49484156454f5054 or not flags & 1:",
            "        raise IOError('not a fixed newstyle NBD server')",
            "    send(struct.pack('>I', flags & 3))",
            "    def option(kind, data):",
            "        send(struct.pack('>QII', 0x49484156454f5054, kind, len(data)) + data)",
            "    option(7, struct.pack('>I', len(name)) + name + struct.pack('>HH', 1, 3))",
            "    size, most = None, 32 << 20",
            "    while True:",
            "        magic, _, kind, length = struct.unpack('>QIII', get(20))",
            "        data = get(length)",
            "        if magic != 0x3e889045565a9:",
            "            raise IOError('bad NBD option reply')",
            "        if kind == 1:",
            "            break",
            "        if kind == 3 and length >= 12 and data[:2] == b'\\0\\0':",
            "            size = struct.unpack('>Q', data[2:10])[0]",
            "        elif kind == 3 and length >= 14 and data[:2] == b'\\0\\3':",
            "            most = max(4096, min(most, struct.unpack('>I', data[10:14])[0]))",
            "        elif kind == 0x80000001:",
            "            option(1, name)",
            "            size = struct.unpack('>Q', get(10)[:8])[0]",
            "            if not flags & 2:",
            "                get(124)",
            "            break",
            "        elif kind & 0x80000000:",
            "            raise IOError('NBD export %s refused (%d): %s' % (sys.argv[2], kind & 0x7fffffff, data.decode('utf-8', 'replace')))",
            "    if size is None:",
            "        raise IOError('NBD export %s did not tell its size' % sys.argv[2])",
            "    handle = 0",
            "    for line in sys.stdin.buffer:",
            "        off, length = map(int, line.split())",
            "        while length > 0:",
            "            n = min(length, most)",
            "            handle += 1",
            "            send(struct.pack('>IHHQQI', 0x25609513, 0, 0, handle, off, n))",
            "            magic, error, h = struct.unpack('>IIQ', get(16))",
            "            if magic != 0x67446698 or h != handle:",
            "                raise IOError('bad NBD reply')",
            "            if error:",
            "                raise IOError('NBD read of %d bytes at %d failed: error %d (%s)' % (n, off, error, os.strerror(error)))",
            "            d = memoryview(get(n))",
            "            for at in range(0, n, " + ZlibReadFrames.MAX_FRAME + "):",
            "                frame(o, d[at:at + " + ZlibReadFrames.MAX_FRAME + "])",
            "            off += n",
            "            length -= n",
            "        o.flush()",
            "    send(struct.pack('>IHHQQI', 0x25609513, 0, 2, handle + 1, 0, 0))",
            "try:",
            "    main()",
            "except BrokenPipeError:",
            "    pass",
            "except Exception as e:",
            "    try:",
            "        fail(o, str(e))",
            "    except Exception:",
            "        pass",
            "    sys.exit(1)");

    /** A requested piece and how much of it the reader has taken. */
    private static final class Piece {
        final long offset;
        final int length;
        int taken;

        Piece(long offset, int length) {
            this.offset = offset;
            this.length = length;
        }

        long position() {
            return offset + taken;
        }

        long end() {
            return offset + length;
        }
    }

    private final String what;
    private final SshHost.Exec exec;
    private final OutputStream requests;
    private final ZlibReadFrames in;
    private final long size;
    private final ArrayDeque<Piece> due = new ArrayDeque<>();
    /** Bytes requested and not yet taken. */
    private long dueBytes;
    private Iterator<Extent> plan;
    private Extent planExtent;
    private long planOffset;
    private IOException failed;
    private byte[] transfer = new byte[0];

    private HostNbdReader(String what, SshHost.Exec exec, long size) {
        this.what = what;
        this.exec = exec;
        this.requests = new BufferedOutputStream(exec.stdin(), 1 << 12);
        this.in = new ZlibReadFrames(exec.stdout());
        this.size = size;
    }

    /**
     * A reader of the export {@code export} at {@code socket} (a Unix socket of the host) of
     * {@code size} bytes, when the host is reached over SSH with compressed reads and has Python 3;
     * null otherwise (the reads then go through the forwarded socket, as on a local host).
     */
    static HostNbdReader open(HostAccess host, Path socket, String export, long size) throws IOException {
        if (!(host instanceof SshHost ssh) || !ssh.compressReads() || !ssh.hasPython3()) {
            return null;
        }
        String command = "exec python3 -c " + SshHost.quote(READER) + " " + SshHost.quote(socket) + " " + SshHost.quote(export);
        return new HostNbdReader("NBD export " + export + " on " + host.name(), ssh.start(command), size);
    }

    @Override
    public void plan(List<Extent> extents) throws IOException {
        check();
        drain();
        plan = extents.iterator();
        planExtent = null;
    }

    @Override
    public void readUpTo(long offset, ByteBuffer into) throws IOException {
        int available = (int) Math.max(0, Math.min(into.remaining(), size - offset));
        read(offset, into.slice(into.position(), available));
        into.position(into.position() + available);
        while (into.hasRemaining()) {
            into.put((byte) 0);
        }
    }

    /** Reads {@code into.remaining()} bytes at {@code offset}, all within the export. */
    void read(long offset, ByteBuffer into) throws IOException {
        check();
        try {
            if (into.hasRemaining() && !(plan != null && fromPlan(offset, into))) {
                drain();
                for (long at = offset, end = offset + into.remaining(); at < end; at += PIECE) {
                    request(at, (int) Math.min(PIECE, end - at));
                }
                requests.flush();
                take(offset, into);
            }
        } catch (IOException e) {
            throw failure(e);
        }
    }

    /** Serves a read from the planned requests; false (nothing taken) when it is not where they go. */
    private boolean fromPlan(long offset, ByteBuffer into) throws IOException {
        long end = offset + into.remaining();
        topUp(end);
        while (!due.isEmpty() && due.peek().end() <= offset) {
            Piece skipped = due.poll();
            // Planned but not read: its bytes still come and are dropped.
            in.skipNBytes(skipped.length - skipped.taken);
            dueBytes -= skipped.length - skipped.taken;
            topUp(end);
        }
        Piece head = due.peek();
        if (head == null || head.position() > offset) {
            return false;
        }
        long covered = head.position();
        for (Piece piece : due) {
            if (piece != head && piece.offset != covered) {
                break;
            }
            covered = piece.end();
            if (covered >= end) {
                break;
            }
        }
        if (covered < end) {
            return false;
        }
        take(offset, into);
        return true;
    }

    /** Sends planned requests until {@value #AHEAD} bytes are due, and at least up to {@code end}. */
    private void topUp(long end) throws IOException {
        boolean sent = false;
        while (dueBytes < AHEAD || due.isEmpty() || due.peekLast().end() < end) {
            while (planExtent == null || planOffset >= planExtent.end()) {
                if (!plan.hasNext()) {
                    planExtent = null;
                    if (sent) {
                        requests.flush();
                    }
                    return;
                }
                planExtent = plan.next();
                planOffset = planExtent.offset();
            }
            int length = (int) Math.min(PIECE, planExtent.end() - planOffset);
            request(planOffset, length);
            planOffset += length;
            sent = true;
        }
        if (sent) {
            requests.flush();
        }
    }

    private void request(long offset, int length) throws IOException {
        requests.write((offset + " " + length + "\n").getBytes(StandardCharsets.US_ASCII));
        due.add(new Piece(offset, length));
        dueBytes += length;
    }

    /** Takes the bytes of {@code [offset, offset + into.remaining())} from the due pieces, which cover it from the head on. */
    private void take(long offset, ByteBuffer into) throws IOException {
        Piece head = due.peek();
        in.skipNBytes(offset - head.position());
        dueBytes -= offset - head.position();
        head.taken += (int) (offset - head.position());
        while (into.hasRemaining()) {
            head = due.peek();
            int count = Math.min(into.remaining(), head.length - head.taken);
            if (into.hasArray()) {
                readFully(into.array(), into.arrayOffset() + into.position(), count);
                into.position(into.position() + count);
            } else {
                byte[] bytes = transfer(count);
                readFully(bytes, 0, count);
                into.put(bytes, 0, count);
            }
            head.taken += count;
            dueBytes -= count;
            if (head.taken == head.length) {
                due.poll();
            }
        }
    }

    private void readFully(byte[] bytes, int offset, int length) throws IOException {
        if (in.readNBytes(bytes, offset, length) < length) {
            throw new EOFException("the reader on the host stopped");
        }
    }

    private byte[] transfer(int length) {
        if (transfer.length < length) {
            transfer = new byte[length];
        }
        return transfer;
    }

    /** Ends the plan: what is still due is read and dropped, so the next reply is the next request's. */
    private void drain() throws IOException {
        for (Piece piece : due) {
            in.skipNBytes(piece.length - piece.taken);
        }
        due.clear();
        dueBytes = 0;
        plan = null;
        planExtent = null;
    }

    private void check() throws IOException {
        if (failed != null) {
            throw new IOException(failed.getMessage(), failed);
        }
    }

    /** The read's failure, with what the host said: its error frame, or the script's exit status and standard error. */
    private IOException failure(IOException e) {
        String message;
        if (e instanceof ZlibReadFrames.HostReadError) {
            message = "reading " + what + " failed on the host: " + e.getMessage();
        } else {
            String why = e.getMessage();
            if (exec.channel().isClosed() || waitClosed()) {
                String stderr = exec.stderr().toString(StandardCharsets.UTF_8).strip();
                int status = exec.channel().getExitStatus();
                why = "the reader (python3) " + (status < 0 ? "was killed" : "ended with status " + status) + (stderr.isEmpty() ? "" : ": " + stderr);
            }
            message = "reading " + what + " failed: " + why;
        }
        failed = new IOException(message, e);
        return failed;
    }

    /** Gives a channel whose output ended a moment to report its exit status. */
    private boolean waitClosed() {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!exec.channel().isClosed() && System.nanoTime() < deadline) {
            if (exec.channel().isEOF()) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            } else {
                return false;
            }
        }
        return exec.channel().isClosed();
    }

    /** Bytes that came from the host so far, frame headers included (for tests). */
    long wireBytes() {
        return in.wireBytes();
    }

    /** Drops the channel: the script's input ends and its output breaks, and it exits. */
    @Override
    public void close() {
        exec.close();
    }
}
