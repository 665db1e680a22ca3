package io.strata.migration.provider;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.strata.testing.TestCloud;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image data between the worker and another cloud: with a real Strata cloud a volume goes up
 * gzip-encoded (the create answer advertises it) and is stored as the image itself, and comes
 * down again equal; a Glance-like image API, hand-written here because it must not advertise
 * gzip, gets the bytes plain and byte for byte, and its plain download is taken as it is, as is
 * one a proxy gzip-encoded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloudImageTransferTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    private TestCloud strata;
    private FakeGlance glance;

    @BeforeAll
    void start() throws IOException {
        strata = TestCloud.start();
        glance = new FakeGlance();
    }

    @AfterAll
    void stop() {
        if (glance != null) {
            glance.close();
        }
        if (strata != null) {
            strata.close();
        }
    }

    private static ObjectNode connection(String baseUrl) {
        ObjectNode connection = JsonNodeFactory.instance.objectNode();
        connection.put("auth_url", baseUrl + "/identity/v3");
        connection.put("username", "admin");
        connection.put("password", TestCloud.ADMIN_PASSWORD);
        connection.put("project_name", "admin");
        return connection;
    }

    private Path volume(String name) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < (4 << 20); i++) {
            text.append("sector ").append(i).append(": /var/log/syslog rotated, 0 errors\n");
        }
        return Files.write(dir.resolve(name), text.toString().getBytes(StandardCharsets.US_ASCII));
    }

    private static ObjectNode volumeInfo(Path file) {
        return JsonNodeFactory.instance.objectNode().put("path", file.toString());
    }

    private static String md5(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    @Test
    void aStrataCloudGetsTheVolumeGzippedAndStoresTheImageItself() throws Exception {
        Path file = volume("strata.raw");
        byte[] data = Files.readAllBytes(file);
        OpenStackClient client = OpenStackClient.login(connection(strata.baseUrl()));
        String id = CloudApiProvider.upload(client, "gzipped-volume", "bare", "raw", "deployment-1", volumeInfo(file));

        JsonNode image = OpenStackClient.expect(client.get(client.image("/images/" + id)), "image show", 200);
        assertThat(image.get("status").asText()).isEqualTo("active");
        assertThat(image.get("size").asLong()).isEqualTo(data.length);
        assertThat(image.get("checksum").asText()).isEqualTo(md5(data));

        // The download asks gzip; what lands in the file is the image.
        Path downloaded = dir.resolve("strata-download.raw");
        client.download(client.image("/images/" + id + "/file"), downloaded);
        assertThat(Files.readAllBytes(downloaded)).isEqualTo(data);
        client.delete(client.image("/images/" + id));
    }

    @Test
    void aGlanceGetsPlainBytesAndItsAnswersAreTakenAsTheyCome() throws Exception {
        Path file = volume("glance.raw");
        byte[] data = Files.readAllBytes(file);
        OpenStackClient client = OpenStackClient.login(connection(glance.baseUrl()));
        CloudApiProvider.upload(client, "plain-volume", "bare", "raw", "deployment-2", volumeInfo(file));
        assertThat(glance.uploadEncoding.get()).isNull();
        assertThat(glance.uploaded.get()).isEqualTo(data);

        Path downloaded = dir.resolve("glance-download.raw");
        client.download(client.image("/images/fake/file"), downloaded);
        assertThat(glance.downloadAcceptEncoding.get()).isEqualTo("gzip, identity;q=0.5");
        assertThat(Files.readAllBytes(downloaded)).isEqualTo(data);

        // A proxy in front of a Glance may encode the answer: it is decoded.
        glance.gzipDownloads = true;
        client.download(client.image("/images/fake/file"), downloaded);
        assertThat(Files.readAllBytes(downloaded)).isEqualTo(data);
    }

    /** The same API advertising gzip (RFC 7694), as a Strata's does: the body goes gzip-encoded and much smaller. */
    @Test
    void anImageApiThatAdvertisesGzipGetsACompressedBody() throws Exception {
        Path file = volume("advertised.raw");
        byte[] data = Files.readAllBytes(file);
        glance.advertiseGzip = true;
        try {
            OpenStackClient client = OpenStackClient.login(connection(glance.baseUrl()));
            CloudApiProvider.upload(client, "gzip-volume", "bare", "raw", "deployment-3", volumeInfo(file));
        } finally {
            glance.advertiseGzip = false;
        }
        assertThat(glance.uploadEncoding.get()).isEqualTo("gzip");
        byte[] body = glance.uploaded.get();
        assertThat(body.length).isLessThan(data.length / 5);
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    /** Keystone's token call and the few image calls an upload and a download make, as Glance answers them. */
    private static final class FakeGlance implements AutoCloseable {
        final AtomicReference<String> uploadEncoding = new AtomicReference<>();
        final AtomicReference<byte[]> uploaded = new AtomicReference<>();
        final AtomicReference<String> downloadAcceptEncoding = new AtomicReference<>();
        volatile boolean gzipDownloads;
        volatile boolean advertiseGzip;
        private final HttpServer server;

        FakeGlance() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", this::handle);
            server.start();
        }

        String baseUrl() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        private void handle(HttpExchange exchange) throws IOException {
            try (exchange) {
                String method = exchange.getRequestMethod();
                String path = exchange.getRequestURI().getPath();
                byte[] body = exchange.getRequestBody().readAllBytes();
                if (method.equals("POST") && path.endsWith("/auth/tokens")) {
                    ObjectNode token = MAPPER.createObjectNode();
                    var catalog = token.putObject("token").putArray("catalog");
                    for (String type : new String[] {"compute", "image"}) {
                        catalog.addObject().put("type", type).putArray("endpoints").addObject()
                                .put("interface", "public").put("region", "RegionOne").put("url", baseUrl() + "/" + type);
                    }
                    exchange.getResponseHeaders().add("X-Subject-Token", "fake-token");
                    json(exchange, 201, token);
                } else if (method.equals("POST") && path.equals("/image/v2/images")) {
                    // Glance's answer has no Accept-Encoding header.
                    if (advertiseGzip) {
                        exchange.getResponseHeaders().add("Accept-Encoding", "gzip");
                    }
                    json(exchange, 201, ((ObjectNode) MAPPER.readTree(body)).put("id", "fake").put("status", "queued"));
                } else if (method.equals("PUT") && path.equals("/image/v2/images/fake/file")) {
                    uploadEncoding.set(exchange.getRequestHeaders().getFirst("Content-Encoding"));
                    uploaded.set(body);
                    exchange.sendResponseHeaders(204, -1);
                } else if (method.equals("GET") && path.equals("/image/v2/images/fake/file")) {
                    downloadAcceptEncoding.set(exchange.getRequestHeaders().getFirst("Accept-Encoding"));
                    byte[] answer = uploaded.get();
                    if (gzipDownloads) {
                        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
                        try (GZIPOutputStream gzip = new GZIPOutputStream(zipped)) {
                            gzip.write(answer);
                        }
                        answer = zipped.toByteArray();
                        exchange.getResponseHeaders().add("Content-Encoding", "gzip");
                    }
                    exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
                    exchange.sendResponseHeaders(200, answer.length);
                    exchange.getResponseBody().write(answer);
                } else {
                    exchange.sendResponseHeaders(404, -1);
                }
            }
        }

        private static void json(HttpExchange exchange, int status, JsonNode body) throws IOException {
            byte[] bytes = MAPPER.writeValueAsBytes(body);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
