package io.strata.image;

import static java.util.Objects.requireNonNull;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/**
 * Decodes gzip data (RFC 1952) that may be several members, strictly: every member's header,
 * deflate data, CRC-32 and length are checked, the members' data is returned one after the
 * other (§2.2: a gzip file is a series of members), and anything after the last member other
 * than NUL padding (which gzip(1) and Python's gzip module skip too) is an error.
 *
 * <p>java.util.zip's {@code GZIPInputStream} is not used because it ends the data, silently,
 * at the first bytes after a member that do not start a valid next header: garbage, or a next
 * member cut off inside its header, is dropped, and an upload would store only what came
 * before it. An image that lost its end is corrupt, so such a body must be refused instead.
 */
final class GzipMembersInputStream extends InputStream {
    private static final int MAGIC_1 = 0x1f;
    private static final int MAGIC_2 = 0x8b;
    private static final int DEFLATE = 8;
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;
    private static final int RESERVED_FLAGS = 0xe0;

    private enum State { HEADER, DATA, DONE }

    private final InputStream source;
    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    private final byte[] input;
    private int position;
    private int limit;
    private State state = State.HEADER;
    private boolean firstMember = true;
    private boolean closed;

    GzipMembersInputStream(InputStream source, int bufferBytes) {
        this.source = requireNonNull(source, "source is null");
        this.input = new byte[bufferBytes];
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int read = read(one, 0, 1);
        return read < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        java.util.Objects.checkFromIndexSize(offset, length, buffer.length);
        if (closed) {
            throw new IOException("Stream closed");
        }
        if (length == 0) {
            return 0;
        }
        while (true) {
            switch (state) {
                case DONE -> {
                    return -1;
                }
                case HEADER -> {
                    if (!firstMember && !skipPaddingToNextMember()) {
                        state = State.DONE;
                        return -1;
                    }
                    readHeader();
                    firstMember = false;
                    state = State.DATA;
                }
                case DATA -> {
                    int inflated = inflate(buffer, offset, length);
                    if (inflated > 0) {
                        return inflated;
                    }
                    // The member ended (an empty one, or exactly at the end of the last read).
                    readTrailer();
                    inflater.reset();
                    crc.reset();
                    state = State.HEADER;
                }
            }
        }
    }

    /** Inflates into {@code buffer}; 0 once the member's deflate data has ended. */
    private int inflate(byte[] buffer, int offset, int length) throws IOException {
        while (true) {
            if (inflater.finished()) {
                // What the inflater took but did not use belongs to the trailer and what follows.
                position = limit - inflater.getRemaining();
                return 0;
            }
            if (inflater.needsInput()) {
                if (position == limit && !fill()) {
                    throw new EOFException("the gzip data ends inside a member (cut off?)");
                }
                inflater.setInput(input, position, limit - position);
                position = limit;
            }
            int inflated;
            try {
                inflated = inflater.inflate(buffer, offset, length);
            } catch (DataFormatException e) {
                throw new ZipException("invalid deflate data in the gzip body: " + e.getMessage());
            }
            if (inflated > 0) {
                crc.update(buffer, offset, inflated);
                return inflated;
            }
            if (inflater.needsDictionary()) {
                throw new ZipException("invalid deflate data in the gzip body: it asks for a preset dictionary");
            }
        }
    }

    private void readHeader() throws IOException {
        CRC32 headerCrc = new CRC32();
        int magic1 = nextByte(headerCrc);
        int magic2 = nextByte(headerCrc);
        if (magic1 != MAGIC_1 || magic2 != MAGIC_2) {
            throw new ZipException(firstMember ? "the body is not in gzip format"
                    : "bytes that are not another gzip member follow the gzip data");
        }
        int method = nextByte(headerCrc);
        if (method != DEFLATE) {
            throw new ZipException("unsupported gzip compression method " + method);
        }
        int flags = nextByte(headerCrc);
        if ((flags & RESERVED_FLAGS) != 0) {
            throw new ZipException("reserved gzip header flags are set");
        }
        for (int i = 0; i < 6; i++) {
            nextByte(headerCrc); // MTIME, XFL, OS
        }
        if ((flags & FEXTRA) != 0) {
            int extraLength = nextByte(headerCrc) | nextByte(headerCrc) << 8;
            for (int i = 0; i < extraLength; i++) {
                nextByte(headerCrc);
            }
        }
        if ((flags & FNAME) != 0) {
            skipZeroTerminated(headerCrc);
        }
        if ((flags & FCOMMENT) != 0) {
            skipZeroTerminated(headerCrc);
        }
        if ((flags & FHCRC) != 0) {
            int expected = (int) headerCrc.getValue() & 0xffff;
            int stored = nextByte(null) | nextByte(null) << 8;
            if (stored != expected) {
                throw new ZipException("corrupt gzip header (its CRC-16 does not match)");
            }
        }
    }

    private void readTrailer() throws IOException {
        long storedCrc = nextUnsignedInt();
        long storedLength = nextUnsignedInt();
        if (storedCrc != crc.getValue()) {
            throw new ZipException("corrupt gzip data (CRC-32 mismatch)");
        }
        // ISIZE is the member's length modulo 2^32.
        if (storedLength != (inflater.getBytesWritten() & 0xffffffffL)) {
            throw new ZipException("corrupt gzip data (length mismatch)");
        }
    }

    /** After a member: skips NUL padding; whether another member follows (false at the end of the body). */
    private boolean skipPaddingToNextMember() throws IOException {
        while (true) {
            if (position == limit && !fill()) {
                return false;
            }
            if (input[position] != 0) {
                return true;
            }
            position++;
        }
    }

    private void skipZeroTerminated(CRC32 headerCrc) throws IOException {
        while (nextByte(headerCrc) != 0) {
            // the original file name or a comment: not needed
        }
    }

    private long nextUnsignedInt() throws IOException {
        long value = 0;
        for (int i = 0; i < 4; i++) {
            value |= (long) nextByte(null) << (8 * i);
        }
        return value;
    }

    private int nextByte(CRC32 headerCrc) throws IOException {
        if (position == limit && !fill()) {
            throw new EOFException(state == State.HEADER ? "the gzip data ends inside a member's header (cut off?)"
                    : "the gzip data ends inside a member (cut off?)");
        }
        int value = input[position++] & 0xff;
        if (headerCrc != null) {
            headerCrc.update(value);
        }
        return value;
    }

    /** Reads more of the source; false at its end. */
    private boolean fill() throws IOException {
        int read;
        do {
            read = source.read(input, 0, input.length);
        } while (read == 0);
        if (read < 0) {
            return false;
        }
        position = 0;
        limit = read;
        return true;
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            inflater.end();
            source.close();
        }
    }
}
