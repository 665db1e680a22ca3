package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Image data gzip-encoded on the wire, through a real server: an upload with
 * {@code Content-Encoding: gzip} is stored decoded (size and checksum of the image itself); a
 * broken gzip body is a 400 in Glance's shape and leaves the image queued with nothing on disk;
 * an unknown coding is a 415 naming gzip; a download is gzip-encoded only for a client that
 * accepts it, and never for a range.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageGzipTest {
    private static final Map<String, String> GZIPPED = Map.of("Content-Type", "application/octet-stream", "Content-Encoding", "gzip");

    private TestCloud cloud;
    private ApiClient admin;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() {
        cloud = TestCloud.start();
        admin = cloud.admin();
    }

    @AfterAll
    void stop() {
        cloud.close();
    }

    private static byte[] diskLike(int length) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < length; i++) {
            text.append("block ").append(i).append(": the quick brown fox jumps over the lazy dog\n");
        }
        byte[] data = Arrays.copyOf(text.toString().getBytes(StandardCharsets.US_ASCII), length);
        // Zeros, as a disk's unused space, in the middle.
        Arrays.fill(data, length / 4, length / 2, (byte) 0);
        return data;
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(data);
        }
        return out.toByteArray();
    }

    static String md5(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    private ApiClient.Response newImage(String name) {
        return admin.post(ImageApiTest.IMAGES, "{\"name\": \"" + name + "\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201);
    }

    private JsonNode image(String id) {
        return admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json();
    }

    @Test
    void aGzipUploadIsStoredDecodedAndADownloadIsGzippedOnlyWhenAsked() throws Exception {
        ApiClient.Response created = newImage("gzipped");
        // RFC 7694: the create answer says which codings the data upload takes.
        assertThat(created.header("Accept-Encoding")).isEqualTo("gzip");
        String id = created.json().get("id").asText();
        byte[] data = diskLike(6 << 20);
        byte[] encoded = gzip(data);
        assertThat(encoded.length).isLessThan(data.length / 10);
        admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", encoded, GZIPPED).expect(204);

        JsonNode image = image(id);
        assertThat(image.get("status").asText()).isEqualTo("active");
        assertThat(image.get("size").asLong()).isEqualTo(data.length);
        assertThat(image.get("checksum").asText()).isEqualTo(md5(data));
        String sha512 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-512").digest(data));
        assertThat(image.get("os_hash_value").asText()).isEqualTo(sha512);
        assertThat(Files.readAllBytes(cloud.dataDir().resolve("images").resolve(id))).isEqualTo(data);

        // gzip preferred to the bytes as they are (the migration worker's header): encoded,
        // streamed without a length, decoding to the image; Content-MD5 is the image's.
        HttpResponse<byte[]> zipped = download(id, Map.of("Accept-Encoding", "gzip, identity;q=0.5"));
        assertThat(zipped.statusCode()).isEqualTo(200);
        assertThat(zipped.headers().firstValue("Content-Encoding")).contains("gzip");
        assertThat(zipped.headers().firstValue("Content-Length")).isEmpty();
        assertThat(zipped.headers().firstValue("Content-MD5")).contains(md5(data));
        assertThat(zipped.body().length).isLessThan(data.length / 10);
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(zipped.body()))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }

        // Not asked, refused (q=0), or merely accepted as python-requests (the openstack CLI) does by
        // default: the bytes as they are, with their length (compressing a big image for a client on
        // a fast link would only make it wait for the CPU).
        for (Map<String, String> headers : java.util.List.of(Map.<String, String>of(), Map.of("Accept-Encoding", "identity, gzip;q=0"),
                Map.of("Accept-Encoding", "gzip, deflate"), Map.of("Accept-Encoding", "gzip"))) {
            HttpResponse<byte[]> plain = download(id, headers);
            assertThat(plain.statusCode()).isEqualTo(200);
            assertThat(plain.headers().firstValue("Content-Encoding")).isEmpty();
            assertThat(plain.headers().firstValueAsLong("Content-Length")).hasValue(data.length);
            assertThat(plain.body()).isEqualTo(data);
        }
        // A range is answered unencoded, whatever the client accepts.
        HttpResponse<byte[]> range = download(id, Map.of("Accept-Encoding", "gzip", "Range", "bytes=100-199"));
        assertThat(range.statusCode()).isEqualTo(206);
        assertThat(range.headers().firstValue("Content-Encoding")).isEmpty();
        assertThat(range.body()).isEqualTo(Arrays.copyOfRange(data, 100, 200));
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
    }

    @Test
    void aBrokenGzipBodyIsRefusedAndTheImageStaysQueuedWithNothingOnDisk() throws Exception {
        String id = newImage("broken").json().get("id").asText();
        byte[] data = diskLike(2 << 20);
        byte[] encoded = gzip(data);
        byte[] damaged = encoded.clone();
        damaged[damaged.length / 2] ^= 0x55;
        byte[] truncated = Arrays.copyOf(encoded, encoded.length - 100);
        byte[] notGzip = Arrays.copyOf(data, 100_000);
        byte[] wrongChecksum = encoded.clone();
        // The trailer's CRC-32: the data inflates, but is not what was compressed.
        wrongChecksum[wrongChecksum.length - 8] ^= 1;
        for (byte[] body : java.util.List.of(damaged, truncated, notGzip, wrongChecksum)) {
            ApiClient.Response refused = admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", body, GZIPPED);
            ImageApiTest.glanceError(refused, 400);
            JsonNode image = image(id);
            assertThat(image.get("status").asText()).isEqualTo("queued");
            assertThat(image.get("size").isNull()).isTrue();
            try (Stream<Path> files = Files.walk(cloud.dataDir().resolve("images"))) {
                assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
            }
        }

        // An unknown coding: 415, saying which one is taken.
        ApiClient.Response unknown = admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", encoded,
                Map.of("Content-Type", "application/octet-stream", "Content-Encoding", "br"));
        ImageApiTest.glanceError(unknown, 415);
        assertThat(unknown.header("Accept-Encoding")).isEqualTo("gzip");
        assertThat(image(id).get("status").asText()).isEqualTo("queued");

        // Refused before a byte of it was read, a big body still gets its answer (the server reads
        // it away rather than resetting the connection under a client that is still sending).
        for (int attempt = 0; attempt < 3; attempt++) {
            ApiClient.Response big = admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", new byte[24 << 20],
                    Map.of("Content-Type", "application/octet-stream", "Content-Encoding", "br"));
            ImageApiTest.glanceError(big, 415);
        }

        // Afterwards a good gzip body is taken.
        admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", encoded, GZIPPED).expect(204);
        assertThat(image(id).get("checksum").asText()).isEqualTo(md5(data));
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
    }

    @Test
    void concatenatedGzipMembersAreStoredAsTheirConcatenation() throws Exception {
        // RFC 1952 §2.2: a gzip file is a series of members, and decompressing it yields their
        // concatenation (`cat a.gz b.gz`, pigz's independent blocks). Members here: an ordinary
        // one, an empty one, one whose header carries every optional field (FEXTRA, FNAME,
        // FCOMMENT, FHCRC), and a last ordinary one; the body goes chunked in small pieces, so
        // member boundaries fall inside and at the ends of reads.
        byte[] first = diskLike(300_000);
        byte[] second = "the second member\n".getBytes(StandardCharsets.US_ASCII);
        byte[] third = diskLike(70_000);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(gzip(first));
        body.write(gzip(new byte[0]));
        body.write(gzipWithEveryHeaderField(second));
        body.write(gzip(third));
        ByteArrayOutputStream image = new ByteArrayOutputStream();
        image.write(first);
        image.write(second);
        image.write(third);
        byte[] data = image.toByteArray();

        String id = newImage("concatenated").json().get("id").asText();
        HttpResponse<String> uploaded = uploadChunked(id, body.toByteArray(), 1000);
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(204);
        JsonNode stored = image(id);
        assertThat(stored.get("status").asText()).isEqualTo("active");
        assertThat(stored.get("size").asLong()).isEqualTo(data.length);
        assertThat(stored.get("checksum").asText()).isEqualTo(md5(data));
        assertThat(Files.readAllBytes(cloud.dataDir().resolve("images").resolve(id))).isEqualTo(data);
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);

    }

    @Test
    void bytesAfterTheLastGzipMemberAreRefusedAndTheImageStaysQueuedWithNothingOnDisk() throws Exception {
        byte[] data = diskLike(200_000);
        byte[] member = gzip(data);
        byte[] garbage = "these bytes are not a gzip member, and more of them follow: 0123456789".getBytes(StandardCharsets.US_ASCII);
        // What java.util.zip's GZIPInputStream stops at silently, storing only what came before:
        // plain bytes after a member, the start of a next member's header cut off, a whole
        // second member followed by plain bytes, NUL padding (gzip(1) skips it with a warning;
        // Commons Compress refuses it like any other trailing bytes), and plain bytes after it.
        byte[] cutHeader = {0x1f, (byte) 0x8b, 8, 0, 0, 0};
        List<byte[]> bodies = List.of(concat(member, garbage), concat(member, cutHeader), concat(member, member, garbage),
                concat(member, new byte[512]), concat(member, new byte[64], garbage));
        String id = newImage("trailing").json().get("id").asText();
        JsonNode before = image(id);
        for (byte[] body : bodies) {
            for (boolean chunked : List.of(false, true)) {
                ApiClient.Response refused;
                if (chunked) {
                    HttpResponse<String> response = uploadChunked(id, body, 4096);
                    refused = new ApiClient.Response("PUT chunked", response.statusCode(), response.headers(),
                            response.body().getBytes(StandardCharsets.UTF_8));
                } else {
                    refused = admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", body, GZIPPED);
                }
                JsonNode error = ImageApiTest.glanceError(refused, 400);
                assertThat(error.get("message").asText()).contains("gzip");
                // As before the upload (only updated_at moves, as in Glance): queued, no size, no checksums, no file.
                JsonNode after = image(id);
                assertThat(withoutUpdatedAt(after)).isEqualTo(withoutUpdatedAt(before));
                assertThat(after.get("status").asText()).isEqualTo("queued");
                for (String field : List.of("size", "checksum", "os_hash_algo", "os_hash_value", "virtual_size")) {
                    assertThat(after.get(field).isNull()).as(field).isTrue();
                }
                try (Stream<Path> files = Files.walk(cloud.dataDir().resolve("images"))) {
                    assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
                }
            }
        }
        admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", member, GZIPPED).expect(204);
        assertThat(image(id).get("checksum").asText()).isEqualTo(md5(data));
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
    }

    private static JsonNode withoutUpdatedAt(JsonNode image) {
        com.fasterxml.jackson.databind.node.ObjectNode copy = image.deepCopy();
        copy.remove("updated_at");
        return copy;
    }

    private static byte[] concat(byte[]... parts) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.write(part);
        }
        return out.toByteArray();
    }

    /** One member whose header has FEXTRA, FNAME, FCOMMENT and FHCRC (RFC 1952 §2.3), deflated by java.util.zip. */
    private static byte[] gzipWithEveryHeaderField(byte[] data) throws IOException {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.write(new byte[] {0x1f, (byte) 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3});
        byte[] extra = {'S', 't', 4, 0, 1, 2, 3, 4};
        header.write(extra.length);
        header.write(0);
        header.write(extra);
        header.write("disk.img\0".getBytes(StandardCharsets.ISO_8859_1));
        header.write("a comment\0".getBytes(StandardCharsets.ISO_8859_1));
        java.util.zip.CRC32 headerCrc = new java.util.zip.CRC32();
        headerCrc.update(header.toByteArray());
        header.write((int) headerCrc.getValue() & 0xff);
        header.write((int) (headerCrc.getValue() >>> 8) & 0xff);
        java.util.zip.Deflater deflater = new java.util.zip.Deflater(java.util.zip.Deflater.DEFAULT_COMPRESSION, true);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(header.toByteArray());
        try (java.util.zip.DeflaterOutputStream deflate = new java.util.zip.DeflaterOutputStream(out, deflater)) {
            deflate.write(data);
        }
        deflater.end();
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(data);
        java.nio.ByteBuffer trailer = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        trailer.putInt((int) crc.getValue()).putInt(data.length);
        out.write(trailer.array());
        return out.toByteArray();
    }

    /** PUT …/file with a chunked body written {@code piece} bytes at a time, as a streaming client sends it. */
    private HttpResponse<String> uploadChunked(String id, byte[] body, int piece) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(cloud.baseUrl() + ImageApiTest.IMAGES + "/" + id + "/file"))
                .header("X-Auth-Token", admin.token())
                .header("Content-Type", "application/octet-stream")
                .header("Content-Encoding", "gzip")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body) {
                    @Override
                    public synchronized int read(byte[] buffer, int offset, int length) {
                        return super.read(buffer, offset, Math.min(length, piece));
                    }
                }))
                .timeout(Duration.ofMinutes(1))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<byte[]> download(String id, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(cloud.baseUrl() + ImageApiTest.IMAGES + "/" + id + "/file"))
                .header("X-Auth-Token", admin.token()).timeout(Duration.ofMinutes(1));
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }
}
