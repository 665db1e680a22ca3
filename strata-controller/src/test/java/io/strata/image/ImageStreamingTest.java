package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image data through a real server: hundreds of MB streamed both ways with a flat heap, and
 * uploads cut off half-way. Streaming does not depend on the database, so this runs on H2 only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageStreamingTest {
    private static final Logger log = LoggerFactory.getLogger(ImageStreamingTest.class);
    private static final long BIG = 320L * 1024 * 1024;
    private static final long HEAP_SLACK = 96L * 1024 * 1024;

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

    @Test
    void bigChunkedUploadAndDownloadKeepTheHeapFlat() throws Exception {
        String id = newImage("big");
        MessageDigest sent = MessageDigest.getInstance("MD5");
        HttpRequest upload = HttpRequest.newBuilder(URI.create(cloud.baseUrl() + ImageApiTest.IMAGES + "/" + id + "/file"))
                .header("X-Auth-Token", admin.token())
                .header("Content-Type", "application/octet-stream")
                // No length known up front: the client sends the body chunked, as `openstack image create` does.
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new PatternStream(BIG, sent)))
                .timeout(Duration.ofMinutes(5))
                .build();
        HeapWatch uploadHeap = HeapWatch.start();
        HttpResponse<String> uploaded = http.send(upload, HttpResponse.BodyHandlers.ofString());
        long uploadGrowth = uploadHeap.stop();
        log.info("{} MB chunked upload: live heap grew by at most {} MB", BIG >> 20, uploadGrowth >> 20);
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(204);
        String md5 = HexFormat.of().formatHex(sent.digest());

        JsonNode image = admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json();
        assertThat(image.get("status").asText()).isEqualTo("active");
        assertThat(image.get("size").asLong()).isEqualTo(BIG);
        assertThat(image.get("checksum").asText()).isEqualTo(md5);
        assertThat(Files.size(cloud.dataDir().resolve("images").resolve(id))).isEqualTo(BIG);
        assertThat(uploadGrowth).as("heap growth during a %d MB upload", BIG >> 20).isLessThan(HEAP_SLACK);

        HttpRequest download = HttpRequest.newBuilder(URI.create(cloud.baseUrl() + ImageApiTest.IMAGES + "/" + id + "/file"))
                .header("X-Auth-Token", admin.token())
                .timeout(Duration.ofMinutes(5))
                .build();
        HeapWatch downloadHeap = HeapWatch.start();
        HttpResponse<InputStream> response = http.send(download, HttpResponse.BodyHandlers.ofInputStream());
        MessageDigest received = MessageDigest.getInstance("MD5");
        long total = 0;
        try (InputStream in = response.body()) {
            byte[] buffer = new byte[1 << 16];
            int read;
            while ((read = in.read(buffer)) > 0) {
                received.update(buffer, 0, read);
                total += read;
            }
        }
        long downloadGrowth = downloadHeap.stop();
        log.info("{} MB download: live heap grew by at most {} MB", BIG >> 20, downloadGrowth >> 20);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-MD5")).contains(md5);
        assertThat(response.headers().firstValueAsLong("Content-Length")).hasValue(BIG);
        assertThat(total).isEqualTo(BIG);
        assertThat(HexFormat.of().formatHex(received.digest())).isEqualTo(md5);
        assertThat(downloadGrowth).as("heap growth during a %d MB download", BIG >> 20).isLessThan(HEAP_SLACK);
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
    }

    @Test
    void anUploadCutOffHalfWayLeavesTheImageQueuedAndNothingOnDisk() throws Exception {
        String id = newImage("cut-off");
        cutOffUpload(id, "Content-Length: 10000000\r\n", new byte[300_000]);
        awaitQueuedWithoutData(id);
        String chunk = Integer.toHexString(300_000) + "\r\n";
        byte[] body = new byte[300_000 + chunk.length()];
        System.arraycopy(chunk.getBytes(StandardCharsets.US_ASCII), 0, body, 0, chunk.length());
        cutOffUpload(id, "Transfer-Encoding: chunked\r\n", body);
        awaitQueuedWithoutData(id);

        // Nothing half-written stands in the way of a proper upload afterwards.
        admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", new byte[] {1, 2}, ImageApiTest.OCTETS).expect(204);
        assertThat(admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json().get("size").asLong()).isEqualTo(2);
        admin.delete(ImageApiTest.IMAGES + "/" + id).expect(204);
    }

    private void cutOffUpload(String id, String framing, byte[] partialBody) throws IOException {
        URI base = URI.create(cloud.baseUrl());
        try (Socket socket = new Socket(base.getHost(), base.getPort())) {
            OutputStream out = socket.getOutputStream();
            String head = "PUT " + ImageApiTest.IMAGES + "/" + id + "/file HTTP/1.1\r\n"
                    + "Host: " + base.getHost() + ":" + base.getPort() + "\r\n"
                    + "X-Auth-Token: " + admin.token() + "\r\n"
                    + "Content-Type: application/octet-stream\r\n"
                    + framing + "\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(partialBody);
            out.flush();
            await().atMost(Duration.ofSeconds(10)).until(() -> "saving".equals(status(id)));
        }
    }

    private void awaitQueuedWithoutData(String id) {
        Path images = cloud.dataDir().resolve("images");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            JsonNode image = admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json();
            assertThat(image.get("status").asText()).isEqualTo("queued");
            assertThat(image.get("size").isNull()).isTrue();
            try (Stream<Path> files = Files.walk(images)) {
                assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
            }
        });
    }

    private String status(String id) {
        return admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json().get("status").asText();
    }

    private String newImage(String name) {
        return admin.post(ImageApiTest.IMAGES, "{\"name\": \"" + name + "\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
    }

    /** A deterministic, incompressible-enough byte stream of a given length, digested as it is read. */
    private static final class PatternStream extends InputStream {
        private final long length;
        private final MessageDigest digest;
        private long position;
        private long state = 0x9E3779B97F4A7C15L;

        PatternStream(long length, MessageDigest digest) {
            this.length = length;
            this.digest = digest;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int count) {
            if (position >= length) {
                return -1;
            }
            int n = (int) Math.min(count, length - position);
            for (int i = 0; i < n; i++) {
                state ^= state << 13;
                state ^= state >>> 7;
                state ^= state << 17;
                buffer[offset + i] = (byte) state;
            }
            digest.update(buffer, offset, n);
            position += n;
            return n;
        }
    }

    /**
     * Samples the live heap (after a full collection) while a transfer runs; returns the largest
     * growth over the heap before it started. Garbage does not count, only what stays reachable.
     */
    private static final class HeapWatch {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicLong peak = new AtomicLong();
        private final long baseline;
        private final Thread sampler;

        private HeapWatch(long baseline) {
            this.baseline = baseline;
            this.sampler = Thread.ofPlatform().daemon().start(() -> {
                while (running.get()) {
                    long used = liveHeap();
                    peak.accumulateAndGet(used, Math::max);
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        static HeapWatch start() {
            return new HeapWatch(liveHeap());
        }

        long stop() throws InterruptedException {
            running.set(false);
            sampler.join();
            return Math.max(0, peak.get() - baseline);
        }

        private static long liveHeap() {
            System.gc();
            return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        }
    }
}
