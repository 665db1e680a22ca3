package io.strata.migration.host;

import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * SSH packet compression ({@code zlib}, {@code zlib@openssh.com}) for JSch on java.util.zip, so
 * on the platform's native zlib: JSch's default (jzlib) is pure Java and costs several times the
 * CPU per byte.
 *
 * <p>Not JSch's own java.util.zip variant ({@code com.jcraft.jsch.juz.Compression}, up to 2.28.8
 * at least): it inflates a packet into a 4 KiB buffer for as long as compressed input remains,
 * but zlib can consume a packet's last input byte while the output of the match it encodes does
 * not fit yet. The rest of that packet then comes out at the start of the next one, which is
 * garbled ("Unknown SSH message type 0" when the data was zeros: a disk's unallocated blocks).
 * OpenSSH flushes each packet with Z_PARTIAL_FLUSH, which ends it a few bits after its last
 * code, so a packet larger than 4 KiB once inflated hits it easily. mwiede/jsch issue 928.
 * Here a packet is inflated until zlib leaves output room unused, and deflated until it does,
 * as the zlib manual asks of flushes.
 */
public final class ZlibCompression implements com.jcraft.jsch.Compression {
    /** What an inflated packet may not exceed, as JSch's own implementations (RFC 4253 6.1, less padding): a bomb ends the session. */
    private static final int MAX_PACKET = 256 * 1024 - 5;
    /**
     * What deflating a packet may add to it in place: JSch's writers leave this much after the
     * data (Session.getBufferMargin: 32 "for deflater", then the padding's 32 and the MAC).
     * Deflate's growth on a packet of up to 32 KiB is a few bytes (stored blocks, the flush).
     */
    private static final int DEFLATE_GROWTH = 32;

    private Deflater deflater;
    private Inflater inflater;
    private byte[] out = new byte[64 * 1024];

    /** JSch makes one per direction by reflection. */
    public ZlibCompression() {
    }

    @Override
    public void init(int type, int level) {
        if (type == DEFLATER) {
            deflater = new Deflater(level);
        } else if (type == INFLATER) {
            inflater = new Inflater();
        } else {
            throw new IllegalArgumentException("unknown compression type " + type);
        }
    }

    @Override
    public void end() {
        if (deflater != null) {
            deflater.end();
            deflater = null;
        }
        if (inflater != null) {
            inflater.end();
            inflater = null;
        }
    }

    /** Compresses {@code buffer[start, end[0])} in place (or into a larger copy, returned), one sync-flushed piece. */
    @Override
    public byte[] compress(byte[] buffer, int start, int[] end) {
        deflater.setInput(buffer, start, end[0] - start);
        int length = 0;
        while (true) {
            length += deflater.deflate(out, length, out.length - length, Deflater.SYNC_FLUSH);
            if (length < out.length) {
                // Output room left over: all input is consumed and flushed.
                break;
            }
            out = Arrays.copyOf(out, out.length * 2);
        }
        // In place whenever JSch left room for it: its channel output stream keeps copying into
        // the array it started a write() with, so a new array here would lose the rest of that
        // write. A larger one only when deflate grew the packet beyond what JSch leaves for it;
        // with room for the padding and the largest MAC after it.
        byte[] result = buffer;
        if (start + length > end[0] + DEFLATE_GROWTH || start + length + 32 + 20 > buffer.length) {
            result = Arrays.copyOf(buffer, Math.max(buffer.length, start + length + 32 + 64));
        }
        System.arraycopy(out, 0, result, start, length);
        end[0] = start + length;
        return result;
    }

    /** Inflates {@code length[0]} bytes at {@code start} in place (or into a larger copy, returned); {@code length[0]} becomes the inflated length. */
    @Override
    public byte[] uncompress(byte[] buffer, int start, int[] length) {
        inflater.setInput(buffer, start, length[0]);
        int inflated = 0;
        try {
            while (true) {
                int count = inflater.inflate(out, inflated, out.length - inflated);
                inflated += count;
                if (inflated > MAX_PACKET) {
                    throw new InflaterException("a compressed packet inflates beyond " + MAX_PACKET + " bytes");
                }
                if (inflated < out.length && (count == 0 || inflater.getRemaining() == 0)) {
                    // zlib stopped with output room left: the packet's input holds nothing more.
                    break;
                }
                if (inflated == out.length) {
                    out = Arrays.copyOf(out, out.length * 2);
                }
            }
        } catch (DataFormatException e) {
            throw new InflaterException("a compressed packet is corrupt: " + e.getMessage(), e);
        }
        byte[] result = buffer;
        if (buffer.length < start + inflated) {
            result = Arrays.copyOf(buffer, start + inflated);
        }
        System.arraycopy(out, 0, result, start, inflated);
        length[0] = inflated;
        return result;
    }
}
