package io.strata.migration.provider;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.Deflater;
import java.util.zip.DeflaterInputStream;

/**
 * A file read as one gzip member (RFC 1952), compressed as it is read, for an upload's body: no
 * thread and no pipe, and nothing of the file held in memory. DEFLATE at its fastest level. A
 * file that cannot be read ends the body without its trailer, so that the receiver's gzip check
 * refuses it rather than storing a cut-off image.
 */
final class GzipBody extends InputStream {
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 255};

    private final CRC32 crc = new CRC32();
    private final Deflater deflater = new Deflater(Deflater.BEST_SPEED, true);
    private final InputStream body;
    private int headerSent;
    private byte[] trailer;
    private int trailerSent;

    GzipBody(Path file) throws IOException {
        this.body = new DeflaterInputStream(new CheckedInputStream(Files.newInputStream(file), crc), deflater, 1 << 16);
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
        if (headerSent < HEADER.length) {
            int n = Math.min(length, HEADER.length - headerSent);
            System.arraycopy(HEADER, headerSent, buffer, offset, n);
            headerSent += n;
            return n;
        }
        if (trailer == null) {
            int n = body.read(buffer, offset, length);
            if (n >= 0) {
                return n;
            }
            trailer = new byte[8];
            littleEndian((int) crc.getValue(), 0);
            // ISIZE: the input's length modulo 2^32.
            littleEndian((int) deflater.getBytesRead(), 4);
        }
        if (trailerSent == trailer.length) {
            return -1;
        }
        int n = Math.min(length, trailer.length - trailerSent);
        System.arraycopy(trailer, trailerSent, buffer, offset, n);
        trailerSent += n;
        return n;
    }

    private void littleEndian(int value, int at) {
        for (int i = 0; i < 4; i++) {
            trailer[at + i] = (byte) (value >>> (8 * i));
        }
    }

    @Override
    public void close() throws IOException {
        try {
            body.close();
        } finally {
            deflater.end();
        }
    }
}
