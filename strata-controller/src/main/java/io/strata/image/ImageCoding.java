package io.strata.image;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * gzip as a content coding of image data (RFC 9110 §8.4), for clouds that move images between
 * each other over slow links: an upload may arrive gzip-encoded and is decoded as it streams in,
 * so that size and checksums are those of the image itself; a download is gzip-encoded only for
 * a client that asks. Servers advertise the codings they take in requests with an
 * {@code Accept-Encoding} response header (RFC 7694), which is how a client tells this API from
 * a Glance that would store the compressed bytes as the image.
 */
final class ImageCoding {
    static final String GZIP = "gzip";

    private ImageCoding() {}

    /** Whether an upload's body is gzip-encoded; an unknown coding is refused (415), naming the one we take. */
    static boolean gzipRequest(String contentEncoding) {
        if (contentEncoding == null) {
            return false;
        }
        String coding = contentEncoding.strip().toLowerCase(Locale.ROOT);
        return switch (coding) {
            case "", "identity" -> false;
            case "gzip", "x-gzip" -> true;
            default -> throw new CloudException(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Content-Encoding " + contentEncoding + " for image data; this server takes gzip");
        };
    }

    /**
     * The decoded body: every gzip member's data in turn (RFC 1952 §2.2: a gzip file is a series of
     * members), anything after the last member refused (NUL padding included), decoded by Commons
     * Compress. {@code java.util.zip.GZIPInputStream} stops silently at bytes that do not start a
     * valid member, so an upload with trailing bytes was stored as the part before them. Nothing is
     * read here, so that a body that is not gzip at all fails where any broken body does: while the
     * image is being received (400, the image queued again, nothing kept).
     */
    static InputStream decoding(InputStream body) {
        return new GzipBody(body);
    }

    /**
     * Whether an {@code Accept-Encoding} request header prefers gzip to the image as it is: gzip
     * with a higher q-value than an explicitly listed {@code identity} (as the migration worker
     * sends, {@code gzip, identity;q=0.5}). Merely accepting gzip is not enough: python-requests
     * (the openstack CLI) and most HTTP clients send {@code gzip, deflate} by default, and
     * compressing a large image for them on a fast link would make the download CPU-bound.
     */
    static boolean prefersGzip(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        double gzip = -1;
        double identity = -1;
        for (String item : acceptEncoding.split(",")) {
            String[] parts = item.split(";");
            String coding = parts[0].strip().toLowerCase(Locale.ROOT);
            double q = 1;
            for (int i = 1; i < parts.length; i++) {
                String parameter = parts[i].strip().toLowerCase(Locale.ROOT);
                if (parameter.startsWith("q=")) {
                    try {
                        q = Double.parseDouble(parameter.substring(2).strip());
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            switch (coding) {
                case "gzip", "x-gzip" -> gzip = Math.max(gzip, q);
                case "identity" -> identity = q;
                default -> { }
            }
        }
        return gzip > 0 && identity >= 0 && gzip > identity;
    }

    /** A gzip stream at the fastest level: the point is the link, and one core must keep up with it. */
    static OutputStream encoding(OutputStream out) throws IOException {
        return new GZIPOutputStream(out, 1 << 16) {
            {
                def.setLevel(Deflater.BEST_SPEED);
            }
        };
    }

    /**
     * Opens the decoder at the first read (its constructor reads the first member's header) and
     * says "gzip" in its errors, which reach the client as the 400's message.
     */
    private static final class GzipBody extends InputStream {
        private final InputStream body;
        private InputStream decoded;

        GzipBody(InputStream body) {
            this.body = body;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            try {
                if (decoded == null) {
                    decoded = GzipCompressorInputStream.builder().setInputStream(body).setDecompressConcatenated(true).get();
                }
                return decoded.read(buffer, offset, length);
            } catch (IOException e) {
                throw new IOException("invalid gzip data: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() throws IOException {
            (decoded != null ? decoded : body).close();
        }
    }
}
