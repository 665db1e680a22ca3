package io.strata.migration.host;

import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Compresses one write frame into a complete gzip member (RFC 1952), which the host unpacks with
 * {@code gzip -dc}: no tool beyond coreutils and gzip is needed there, and gzip checks the
 * member's CRC-32 and length, so a damaged frame fails instead of landing in the disk. DEFLATE at
 * its fastest level: the link is usually faster than a better level would let one core feed it.
 * Data that does not shrink (encrypted, already compressed) is not compressed at all: a few
 * small probes spread over the frame decide first, and compression stops as soon as its output
 * reaches the input's size.
 */
final class GzipFrames implements AutoCloseable {
    private static final int PROBE = 4096;
    private static final int PROBES = 8;
    /** Smaller frames are not worth the decompressing processes they would cost on the host. */
    static final int MIN_LENGTH = 4096;
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 255};
    private static final int TRAILER = 8;

    private final Deflater deflater = new Deflater(Deflater.BEST_SPEED, true);
    private final CRC32 crc = new CRC32();
    private final byte[] probeOutput = new byte[PROBE + 64];
    private byte[] output = new byte[0];

    /**
     * Compresses {@code data[0, length)} into {@link #output()}; returns the member's size, or -1
     * when it would not be smaller than the data (the frame then goes as it is).
     */
    int compress(byte[] data, int length) {
        if (length < MIN_LENGTH || !probesShrink(data, length)) {
            return -1;
        }
        // A member no smaller than the data is useless: room for exactly that much, and a deflater
        // that cannot finish in it means the frame goes raw.
        int limit = length;
        if (output.length < limit) {
            output = new byte[limit];
        }
        System.arraycopy(HEADER, 0, output, 0, HEADER.length);
        int size = HEADER.length;
        deflater.reset();
        deflater.setInput(data, 0, length);
        deflater.finish();
        while (!deflater.finished()) {
            if (size >= limit - TRAILER) {
                return -1;
            }
            size += deflater.deflate(output, size, limit - TRAILER - size);
        }
        crc.reset();
        crc.update(data, 0, length);
        size = littleEndian((int) crc.getValue(), size);
        return littleEndian(length, size);
    }

    byte[] output() {
        return output;
    }

    private boolean probesShrink(byte[] data, int length) {
        int stride = Math.max(PROBE, length / PROBES);
        for (int start = 0; start < length; start += stride) {
            int probe = Math.min(PROBE, length - start);
            deflater.reset();
            deflater.setInput(data, start, probe);
            deflater.finish();
            int size = deflater.deflate(probeOutput, 0, probeOutput.length);
            if (deflater.finished() && size < probe * 9 / 10) {
                return true;
            }
        }
        return false;
    }

    private int littleEndian(int value, int at) {
        for (int i = 0; i < 4; i++) {
            output[at + i] = (byte) (value >>> (8 * i));
        }
        return at + 4;
    }

    @Override
    public void close() {
        deflater.end();
    }
}
