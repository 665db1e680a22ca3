package io.strata.migration.disk;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The wire format of changed blocks between the exporting and the importing side. Each frame is
 * a type byte, the block's offset (8 bytes), its length (4), the payload length (4) and the
 * payload: DEFLATE-compressed bytes, raw bytes when compression would not shrink them, nothing
 * for a block of zeros. A zero type byte ends the stream.
 */
public final class BlockStream {
    static final byte END = 0;
    static final byte DEFLATED = 1;
    static final byte RAW = 2;
    static final byte ZERO = 3;
    private static final int PROBE = 4096;

    private BlockStream() {}

    /** Encodes blocks onto an output stream and counts what it wrote. */
    public static final class Writer implements AutoCloseable {
        private final DataOutputStream out;
        private final Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        private byte[] compressed = new byte[0];
        private long wireBytes;
        private long payloadBytes;

        public Writer(OutputStream out) {
            this.out = new DataOutputStream(new java.io.BufferedOutputStream(out, 1 << 16));
        }

        public void data(long offset, ByteBuffer block) throws IOException {
            int length = block.remaining();
            byte[] raw = new byte[length];
            block.duplicate().get(raw);
            if (compressed.length < length + 64) {
                compressed = new byte[length + 64];
            }
            int size = -1;
            // Compressing data that does not shrink (encrypted, already compressed) costs more than
            // sending it: a 4 KiB probe decides before the whole block is compressed.
            if (shrinks(raw, Math.min(PROBE, length))) {
                deflater.reset();
                deflater.setInput(raw);
                deflater.finish();
                size = deflater.deflate(compressed);
                if (!deflater.finished() || size >= length) {
                    size = -1;
                }
            }
            boolean useful = size >= 0;
            header(useful ? DEFLATED : RAW, offset, length, useful ? size : length);
            out.write(useful ? compressed : raw, 0, useful ? size : length);
            wireBytes += useful ? size : length;
            payloadBytes += length;
        }

        private boolean shrinks(byte[] raw, int probe) {
            deflater.reset();
            deflater.setInput(raw, 0, probe);
            deflater.finish();
            int size = deflater.deflate(compressed, 0, compressed.length);
            return deflater.finished() && size < probe * 9 / 10;
        }

        public void zero(long offset, int length) throws IOException {
            header(ZERO, offset, length, 0);
            payloadBytes += length;
        }

        private void header(byte type, long offset, int length, int payload) throws IOException {
            out.writeByte(type);
            out.writeLong(offset);
            out.writeInt(length);
            out.writeInt(payload);
            wireBytes += 17;
        }

        /** Bytes put on the wire, headers included. */
        public long wireBytes() {
            return wireBytes;
        }

        /** Bytes of disk content the frames carry once decoded. */
        public long payloadBytes() {
            return payloadBytes;
        }

        @Override
        public void close() throws IOException {
            out.writeByte(END);
            wireBytes++;
            out.close();
            deflater.end();
        }
    }

    /** Decodes frames and applies them to the target until the end frame; returns frames applied. */
    public static long apply(InputStream input, BlockTarget target) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(input, 1 << 16));
        Inflater inflater = new Inflater();
        long frames = 0;
        byte[] payload = new byte[0];
        byte[] block = new byte[0];
        try {
            while (true) {
                byte type;
                try {
                    type = in.readByte();
                } catch (EOFException e) {
                    throw new IOException("the block stream ended without its end frame");
                }
                if (type == END) {
                    return frames;
                }
                long offset = in.readLong();
                int length = in.readInt();
                int payloadLength = in.readInt();
                if (length < 0 || payloadLength < 0 || payloadLength > length + 64) {
                    throw new IOException("corrupt block frame at offset " + offset);
                }
                if (payload.length < payloadLength) {
                    payload = new byte[payloadLength];
                }
                in.readFully(payload, 0, payloadLength);
                switch (type) {
                    case ZERO -> target.zero(offset, length);
                    case RAW -> target.write(offset, ByteBuffer.wrap(payload, 0, length));
                    case DEFLATED -> {
                        if (block.length < length) {
                            block = new byte[length];
                        }
                        inflater.reset();
                        inflater.setInput(payload, 0, payloadLength);
                        int n = inflater.inflate(block, 0, length);
                        if (n != length || !inflater.finished()) {
                            throw new IOException("corrupt compressed block at offset " + offset);
                        }
                        target.write(offset, ByteBuffer.wrap(block, 0, length));
                    }
                    default -> throw new IOException("unknown block frame type " + type);
                }
                frames++;
            }
        } catch (DataFormatException e) {
            throw new IOException("corrupt compressed block: " + e.getMessage(), e);
        } finally {
            inflater.end();
        }
    }
}
