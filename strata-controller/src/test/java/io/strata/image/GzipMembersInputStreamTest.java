package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;
import org.junit.jupiter.api.Test;

/**
 * The gzip decoder of image uploads on its own, for what the HTTP tests (ImageGzipTest) do not
 * reach: header fields checked, each member's length checked, byte-at-a-time reads, and a
 * buffer smaller than a header.
 */
class GzipMembersInputStreamTest {
    private static final byte[] DATA = "some image data, repeated; ".repeat(200).getBytes(StandardCharsets.US_ASCII);

    @Test
    void decodesMembersOneByteAtATimeThroughATinyBuffer() throws IOException {
        byte[] body = concat(gzip(DATA), gzip(DATA));
        try (InputStream in = new GzipMembersInputStream(new ByteArrayInputStream(body), 3)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int value;
            while ((value = in.read()) >= 0) {
                out.write(value);
            }
            assertThat(out.toByteArray()).isEqualTo(concat(DATA, DATA));
        }
    }

    @Test
    void refusesWhatGzipForbidsInAHeaderOrTrailer() throws IOException {
        byte[] good = gzip(DATA);
        byte[] reservedFlag = good.clone();
        reservedFlag[3] |= (byte) 0x20;
        assertThatThrownBy(() -> decode(reservedFlag)).isInstanceOf(ZipException.class).hasMessageContaining("reserved");
        byte[] otherMethod = good.clone();
        otherMethod[2] = 7;
        assertThatThrownBy(() -> decode(otherMethod)).isInstanceOf(ZipException.class).hasMessageContaining("method 7");
        // FHCRC set on a header whose CRC-16 is wrong: java.util.zip writes no header CRC, so
        // the flag makes the first two deflate bytes be read as one.
        byte[] headerCrc = good.clone();
        headerCrc[3] |= 2;
        assertThatThrownBy(() -> decode(headerCrc)).isInstanceOf(ZipException.class).hasMessageContaining("CRC-16");
        byte[] wrongLength = good.clone();
        wrongLength[wrongLength.length - 1] ^= 1;
        assertThatThrownBy(() -> decode(wrongLength)).isInstanceOf(ZipException.class).hasMessageContaining("length mismatch");
        assertThatThrownBy(() -> decode(new byte[0])).hasMessageContaining("header");
        assertThatThrownBy(() -> decode("plain text".getBytes(StandardCharsets.US_ASCII)))
                .isInstanceOf(ZipException.class).hasMessageContaining("not in gzip format");
    }

    private static byte[] decode(byte[] body) throws IOException {
        try (InputStream in = new GzipMembersInputStream(new ByteArrayInputStream(body), 64)) {
            return in.readAllBytes();
        }
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(data);
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
