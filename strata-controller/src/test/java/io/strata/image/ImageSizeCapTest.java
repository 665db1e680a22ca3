package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Glance's image_size_cap through a real server with a cap of 4 KiB: data up to the cap is
 * stored; more is a 413 in Glance's shape, with the image queued again and nothing on disk,
 * whether the body is plain (refused before it is read when its length says so), chunked, or
 * gzip-encoded (counted on what it decodes to).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageSizeCapTest {
    private static final int CAP = 4096;
    private static final Map<String, String> PLAIN = Map.of("Content-Type", "application/octet-stream");
    private static final Map<String, String> GZIPPED = Map.of("Content-Type", "application/octet-stream", "Content-Encoding", "gzip");

    private TestCloud cloud;
    private ApiClient admin;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withImageSizeCap(CAP));
        admin = cloud.admin();
    }

    @AfterAll
    void stop() {
        cloud.close();
    }

    @Test
    void dataUpToTheCapIsStored() throws Exception {
        byte[] data = random(CAP, 1);
        String id = newImage("at-the-cap");
        admin.sendBytes("PUT", file(id), data, PLAIN).expect(204);
        JsonNode image = image(id);
        assertThat(image.get("status").asText()).isEqualTo("active");
        assertThat(image.get("size").asLong()).isEqualTo(CAP);
        assertThat(image.get("checksum").asText()).isEqualTo(ImageGzipTest.md5(data));

        // Counted on the decoded bytes: random data grows a little when gzipped, so this body is
        // longer than the cap while the image it carries is exactly the cap.
        byte[] encoded = ImageGzipTest.gzip(data);
        assertThat(encoded.length).isGreaterThan(CAP);
        String zipped = newImage("gzip-at-the-cap");
        admin.sendBytes("PUT", file(zipped), encoded, GZIPPED).expect(204);
        assertThat(image(zipped).get("checksum").asText()).isEqualTo(ImageGzipTest.md5(data));
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
        admin.delete(ImageApiTest.IMAGES + "/" + zipped).expect(204);
    }

    @Test
    void dataOverTheCapIsRefusedWith413AndNothingIsKept() throws Exception {
        String id = newImage("over-the-cap");
        JsonNode before = image(id);
        byte[] oneTooMany = random(CAP + 1, 2);

        // With a Content-Length.
        assertRefused(admin.sendBytes("PUT", file(id), oneTooMany, PLAIN), id, before);
        // Chunked: no length up front, refused when the byte after the cap arrives.
        assertRefused(uploadChunked(id, new byte[CAP * 64], Map.of()), id, before);
        // gzip that inflates past the cap: a 92-byte body of 256 KiB of zeros.
        byte[] bomb = ImageGzipTest.gzip(new byte[256 * 1024]);
        assertThat(bomb.length).isLessThan(CAP);
        assertRefused(admin.sendBytes("PUT", file(id), bomb, GZIPPED), id, before);
        assertRefused(uploadChunked(id, bomb, Map.of("Content-Encoding", "gzip")), id, before);
        // The size announced in x-openstack-image-size, over the cap, however short the body.
        assertRefused(admin.sendBytes("PUT", file(id), new byte[10],
                Map.of("Content-Type", "application/octet-stream", "x-openstack-image-size", String.valueOf(CAP + 1))), id, before);

        // Still queued and uploadable.
        byte[] data = random(CAP, 3);
        admin.sendBytes("PUT", file(id), data, PLAIN).expect(204);
        assertThat(image(id).get("checksum").asText()).isEqualTo(ImageGzipTest.md5(data));
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
    }

    @Test
    void aDeclaredLengthOverTheCapIsRefusedBeforeTheBodyIsSent() throws Exception {
        String id = newImage("declared-too-big");
        JsonNode before = image(id);
        // A client that waits for 100 Continue before sending 1 GiB: it gets the 413 instead, and
        // the server, which has read nothing, closes the connection rather than ask for the body.
        try (Socket socket = new Socket("127.0.0.1", URI.create(cloud.baseUrl()).getPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("PUT " + file(id) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: " + admin.token() + "\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: " + (1L << 30) + "\r\nExpect: 100-continue\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 413 ");
            assertThat(answer).doesNotContain("100 Continue");
            assertThat(answer).contains("\"code\":\"413 Request Entity Too Large\"").contains("The incoming image is too large");
        }
        assertUnchanged(id, before);
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
    }

    private void assertRefused(ApiClient.Response response, String id, JsonNode before) throws IOException {
        JsonNode error = ImageApiTest.glanceError(response, 413);
        assertThat(error.get("code").asText()).isEqualTo("413 Request Entity Too Large");
        assertThat(error.get("message").asText()).contains("The incoming image is too large").contains(String.valueOf(CAP));
        assertUnchanged(id, before);
    }

    /** As before the upload (only updated_at may move): queued, no size, no checksums, no file anywhere. */
    private void assertUnchanged(String id, JsonNode before) throws IOException {
        JsonNode after = image(id);
        assertThat(after.get("status").asText()).isEqualTo("queued");
        for (String field : List.of("size", "checksum", "os_hash_algo", "os_hash_value", "virtual_size")) {
            assertThat(after.get(field).isNull()).as(field).isTrue();
        }
        com.fasterxml.jackson.databind.node.ObjectNode a = after.deepCopy();
        com.fasterxml.jackson.databind.node.ObjectNode b = before.deepCopy();
        a.remove("updated_at");
        b.remove("updated_at");
        assertThat(a).isEqualTo(b);
        try (Stream<Path> files = Files.walk(cloud.dataDir().resolve("images"))) {
            assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
        }
    }

    private ApiClient.Response uploadChunked(String id, byte[] body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(cloud.baseUrl() + file(id)))
                .header("X-Auth-Token", admin.token())
                .header("Content-Type", "application/octet-stream")
                // An input stream publisher sends no Content-Length: the body goes chunked.
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body)))
                .timeout(Duration.ofMinutes(1));
        headers.forEach(request::header);
        HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new ApiClient.Response("PUT chunked " + file(id), response.statusCode(), response.headers(), response.body());
    }

    private String newImage(String name) {
        return admin.post(ImageApiTest.IMAGES, "{\"name\": \"" + name + "\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
    }

    private JsonNode image(String id) {
        return admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json();
    }

    private static String file(String id) {
        return ImageApiTest.IMAGES + "/" + id + "/file";
    }

    private static byte[] random(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        return data;
    }
}
