package io.strata.migration.host;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * What a host sends when the worker reads one of its disks compressed: the bytes {@code dd}
 * reads, cut by {@link #FRAMER} (Python 3 on the host, zlib at its fastest level) into frames of up
 * to 1 MiB, each compressed only when a 4 KiB probe of it shrinks, so encrypted or compressed data
 * costs the host little CPU. A frame is a header (kind: 0 raw, 1 zlib; its length; the bytes that
 * follow) and its bytes; zlib's own Adler-32 check makes a damaged frame fail instead of turning
 * into disk content. A frame of kind 2 carries an error message from the host instead (its
 * script stopped): reading it throws {@link HostReadError}. This stream gives back the disk's bytes.
 *
 * <p>SSH's own compression would need no program on the host, but OpenSSH compresses what it
 * sends at zlib level 6 whatever the data (about 15 MB/s on incompressible data on our machines),
 * and JSch's sending of compressed packets is unsafe under AEAD ciphers, so reads go this way
 * when the host has Python 3 and plain otherwise.
 */
final class ZlibReadFrames extends InputStream {
    static final int MAX_FRAME = 1 << 20;

    /**
     * Python 3 shared by the host-side scripts that send frames: {@code frame(o, b)} writes the
     * bytes {@code b} (at most {@value #MAX_FRAME}) to {@code o} as one frame, zlib level 1 when a
     * 4 KiB probe of them shrinks by a tenth and the whole does too, raw otherwise;
     * {@code fail(o, message)} writes an error frame (kind 2: its message follows).
     */
    static final String FRAMES = String.join("\n",
            "import sys, zlib, struct",
            "def frame(o, b):",
            "    c = zlib.compress(b, 1) if len(zlib.compress(b[:4096], 1)) < 3686 else None",
            "    if c is None or len(c) >= len(b):",
            "        o.write(struct.pack('>BII', 0, len(b), len(b)))",
            "        o.write(b)",
            "    else:",
            "        o.write(struct.pack('>BII', 1, len(b), len(c)))",
            "        o.write(c)",
            "def fail(o, message):",
            "    m = message.encode('utf-8', 'replace')[:4096]",
            "    o.write(struct.pack('>BII', 2, 0, len(m)))",
            "    o.write(m)",
            "    o.flush()",
            "");

    /** Reads stdin, writes frames to stdout; a reader that goes away early ends it quietly. */
    static final String FRAMER = FRAMES + String.join("\n",
            "i, o = sys.stdin.buffer, sys.stdout.buffer",
            "try:",
            "    while True:",
            "        b = i.read(" + MAX_FRAME + ")",
            "        if not b:",
            "            break",
            "        frame(o, b)",
            "    o.flush()",
            "except BrokenPipeError:",
            "    pass");

    private final DataInputStream in;
    private final Inflater inflater = new Inflater();
    private byte[] wire = new byte[0];
    private final byte[] frame = new byte[MAX_FRAME];
    private final byte[] scratch = new byte[64];
    private int position;
    private int limit;
    /** Bytes of the current raw frame not yet read from {@code in}; raw frames are passed through. */
    private int rawLeft;
    private long wireBytes;

    ZlibReadFrames(InputStream in) {
        this.in = new DataInputStream(in);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        while (position == limit && rawLeft == 0) {
            if (!nextFrame()) {
                return -1;
            }
        }
        if (rawLeft > 0) {
            int read = in.read(buffer, offset, Math.min(length, rawLeft));
            if (read < 0) {
                throw new EOFException("the host's disk stream ended inside a frame");
            }
            rawLeft -= read;
            return read;
        }
        int count = Math.min(length, limit - position);
        System.arraycopy(frame, position, buffer, offset, count);
        position += count;
        return count;
    }

    /** Reads the next header (and a compressed frame's bytes); false at the end of the stream. */
    private boolean nextFrame() throws IOException {
        int kind = in.read();
        if (kind < 0) {
            return false;
        }
        int length = in.readInt();
        int wireLength = in.readInt();
        if (kind == 2 && wireLength >= 0 && wireLength <= 4096) {
            // The host's script stopped on an error and says why (an NBD error reply, a lost connection).
            byte[] message = in.readNBytes(wireLength);
            throw new HostReadError(new String(message, java.nio.charset.StandardCharsets.UTF_8));
        }
        if (length < 0 || length > MAX_FRAME || wireLength < 0 || wireLength > MAX_FRAME + 64) {
            throw new IOException("corrupt frame from the host: kind " + kind + ", " + length + " bytes in " + wireLength);
        }
        wireBytes += 9L + wireLength;
        switch (kind) {
            case 0 -> {
                if (wireLength != length) {
                    throw new IOException("corrupt raw frame from the host: " + length + " bytes in " + wireLength);
                }
                rawLeft = length;
                position = limit = 0;
            }
            case 1 -> {
                if (wire.length < wireLength) {
                    wire = new byte[wireLength];
                }
                in.readFully(wire, 0, wireLength);
                inflater.reset();
                inflater.setInput(wire, 0, wireLength);
                try {
                    // To the end of the zlib stream, so that its Adler-32 check is made.
                    int inflated = 0;
                    while (!inflater.finished()) {
                        int room = length - inflated;
                        int n = room > 0 ? inflater.inflate(frame, inflated, room) : inflater.inflate(scratch);
                        if (room <= 0 && n > 0) {
                            throw new IOException("corrupt compressed frame from the host: more than " + length + " bytes");
                        }
                        if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                            break;
                        }
                        inflated += n;
                    }
                    if (inflated != length || !inflater.finished()) {
                        throw new IOException("corrupt compressed frame from the host: " + inflated + " of " + length + " bytes");
                    }
                } catch (DataFormatException e) {
                    throw new IOException("corrupt compressed frame from the host: " + e.getMessage(), e);
                }
                position = 0;
                limit = length;
            }
            default -> throw new IOException("corrupt frame from the host: kind " + kind);
        }
        return true;
    }

    /** What the host's script reported when it stopped on an error. */
    static final class HostReadError extends IOException {
        HostReadError(String message) {
            super(message);
        }
    }

    /** Bytes that crossed the link so far, headers included. */
    long wireBytes() {
        return wireBytes;
    }

    @Override
    public void close() throws IOException {
        inflater.end();
        in.close();
    }
}
