package io.strata.migration.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.jcraft.jsch.Compression;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;

/**
 * SSH packet compression as JSch calls it: each packet's payload is compressed (or inflated) in
 * place after a 5-byte header, one zlib stream per direction spanning all packets.
 */
class ZlibCompressionTest {
    private static final int HEADER = 5;

    /**
     * OpenSSH ends each packet with Z_PARTIAL_FLUSH: a few bits after the last code, so zlib can
     * consume a packet's last byte while the output of the codes in it has not all come out.
     * java.util.zip cannot partial-flush, so the stream is cut here as tightly still: each packet
     * ends at the byte after which a reference inflater has given all of its payload, the rest
     * (the flush's empty block) going to the next packet. Zero-filled payloads, as a disk's
     * unallocated blocks read, inflate to 32 KiB from a few dozen bytes. JSch's own
     * java.util.zip implementation shifts output into the next packet on these.
     */
    @Test
    void aPacketEndingRightAfterItsLastCodeInflatesWhole() throws Exception {
        List<byte[]> payloads = payloads(new SplittableRandom(6), 200);
        Deflater deflater = new Deflater(6);
        java.util.zip.Inflater reference = new java.util.zip.Inflater();
        List<byte[]> packets = new ArrayList<>();
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (byte[] payload : payloads) {
            deflater.setInput(payload);
            byte[] out = new byte[1 << 16];
            int count;
            do {
                count = deflater.deflate(out, 0, out.length, Deflater.SYNC_FLUSH);
                stream.write(out, 0, count);
            } while (count == out.length);
            byte[] pending = stream.toByteArray();
            int used = 0;
            int produced = 0;
            byte[] sink = new byte[1 << 16];
            while (produced < payload.length) {
                reference.setInput(pending, used++, 1);
                while ((count = reference.inflate(sink)) > 0) {
                    produced += count;
                }
            }
            assertThat(produced).isEqualTo(payload.length);
            packets.add(Arrays.copyOf(pending, used));
            stream.reset();
            stream.write(pending, used, pending.length - used);
        }
        deflater.end();
        reference.end();

        ZlibCompression inflater = new ZlibCompression();
        inflater.init(Compression.INFLATER, 0);
        for (int i = 0; i < payloads.size(); i++) {
            byte[] inflated = inflate(inflater, packets.get(i));
            assertThat(inflated.length).as("packet %d's length", i).isEqualTo(payloads.get(i).length);
            assertThat(Arrays.equals(inflated, payloads.get(i))).as("packet %d's bytes", i).isTrue();
        }
        inflater.end();
    }

    /**
     * What it compresses, JSch's pure-Java zlib (another implementation) inflates packet by
     * packet; each is compressed in place, random bytes too, as JSch's channel output stream
     * goes on writing into the array it had.
     */
    @Test
    void compressedPacketsInflateElsewhere() {
        List<byte[]> payloads = payloads(new SplittableRandom(7), 200);
        ZlibCompression deflater = new ZlibCompression();
        deflater.init(Compression.DEFLATER, 1);
        Compression inflater = new com.jcraft.jsch.jzlib.Compression();
        inflater.init(Compression.INFLATER, 0);
        for (int i = 0; i < payloads.size(); i++) {
            byte[] payload = payloads.get(i);
            // As JSch gives it: the payload after the header, and its buffer margin after that
            // (32 for deflate, 32 for padding, 20 for the MAC of aes128-gcm).
            byte[] buffer = new byte[HEADER + payload.length + 84];
            System.arraycopy(payload, 0, buffer, HEADER, payload.length);
            int[] end = {HEADER + payload.length};
            byte[] compressed = deflater.compress(buffer, HEADER, end);
            assertThat(compressed).as("packet %d", i).isSameAs(buffer);
            assertThat(buffer.length - end[0]).isGreaterThanOrEqualTo(32 + 20);
            assertThat(inflate(inflater, Arrays.copyOfRange(compressed, HEADER, end[0]))).as("packet %d", i).isEqualTo(payload);
        }
        deflater.end();
    }

    /** A packet inflating beyond SSH's packet size ends the session (JSch turns this into a JSchException). */
    @Test
    void aCompressionBombIsRefused() {
        Deflater deflater = new Deflater(9);
        deflater.setInput(new byte[1 << 20]);
        byte[] out = new byte[1 << 16];
        int count = deflater.deflate(out, 0, out.length, Deflater.SYNC_FLUSH);
        deflater.end();
        ZlibCompression inflater = new ZlibCompression();
        inflater.init(Compression.INFLATER, 0);
        assertThatThrownBy(() -> inflate(inflater, Arrays.copyOf(out, count))).isInstanceOf(Compression.InflaterException.class)
                .hasMessageContaining("inflates beyond");
    }

    private static byte[] inflate(Compression inflater, byte[] compressed) {
        byte[] buffer = new byte[HEADER + compressed.length];
        System.arraycopy(compressed, 0, buffer, HEADER, compressed.length);
        int[] length = {compressed.length};
        byte[] inflated = inflater.uncompress(buffer, HEADER, length);
        return Arrays.copyOfRange(inflated, HEADER, HEADER + length[0]);
    }

    /** Up to 32 KiB each (OpenSSH's channel packets): zeros, random bytes, or runs of both. */
    private static List<byte[]> payloads(SplittableRandom random, int count) {
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] payload = new byte[random.nextInt(1, 32 * 1024 + 1)];
            switch (i % 3) {
                case 0 -> { }
                case 1 -> random.nextBytes(payload);
                default -> {
                    for (int at = 0; at < payload.length; at += 4096) {
                        if (random.nextBoolean()) {
                            byte[] noise = new byte[Math.min(4096, payload.length - at)];
                            random.nextBytes(noise);
                            System.arraycopy(noise, 0, payload, at, noise.length);
                        }
                    }
                }
            }
            payloads.add(payload);
        }
        return payloads;
    }
}
