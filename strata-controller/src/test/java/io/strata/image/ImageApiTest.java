package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ImageApiTest {
    private static final String PATCH = "application/openstack-images-v2.1-json-patch";

    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;
    private static ApiClient admin;
    private static ApiClient member;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
        admin = cloud.admin();
        member = cloud.newProjectUser("delta", "dora", "member");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void versionDocument() {
        JsonNode versions = cloud.anonymous().get("/image/").expect(300).json().get("versions");
        assertThat(versions.get(0).get("status").asText()).isEqualTo("CURRENT");
        assertThat(versions.get(0).at("/links/0/href").asText()).endsWith("/image/v2/");
    }

    @Test
    void createUploadDownloadWithChecksums() throws Exception {
        JsonNode created = member.post("/image/v2/images", "{\"name\": \"kernel\", \"disk_format\": \"aki\", \"container_format\": \"aki\", "
                + "\"kernel_id\": \"abc\", \"os_command_line\": \"console=ttyS0\", \"tags\": [\"t1\"]}").expect(201).json();
        String id = created.get("id").asText();
        assertThat(created.get("status").asText()).isEqualTo("queued");
        assertThat(created.get("kernel_id").asText()).isEqualTo("abc");
        assertThat(created.get("size").isNull()).isTrue();
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(data);
        member.sendBytes("PUT", "/image/v2/images/" + id + "/file", data, Map.of("Content-Type", "application/octet-stream")).expect(204);
        JsonNode active = member.get("/image/v2/images/" + id).expect(200).json();
        assertThat(active.get("status").asText()).isEqualTo("active");
        assertThat(active.get("size").asLong()).isEqualTo(data.length);
        assertThat(active.get("checksum").asText()).isEqualTo(hex("MD5", data));
        assertThat(active.get("os_hash_algo").asText()).isEqualTo("sha512");
        assertThat(active.get("os_hash_value").asText()).isEqualTo(hex("SHA-512", data));
        ApiClient.Response download = member.get("/image/v2/images/" + id + "/file").expect(200);
        assertThat(download.body()).isEqualTo(data);
        assertThat(download.header("Content-MD5")).isEqualTo(hex("MD5", data));
        member.sendBytes("PUT", "/image/v2/images/" + id + "/file", data, Map.of("Content-Type", "application/octet-stream")).expect(409);
        member.delete("/image/v2/images/" + id).expect(204);
        member.get("/image/v2/images/" + id).expect(404);
    }

    @Test
    void largeChunkedUploadIsStreamed() throws Exception {
        String id = admin.post("/image/v2/images", "{\"name\": \"big\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
        long size = 256L * 1024 * 1024;
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        Runtime rt = Runtime.getRuntime();
        long heapBefore = rt.totalMemory() - rt.freeMemory();
        InputStream stream = new InputStream() {
            long left = size;
            final byte[] chunk = new byte[65536];

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left == 0) {
                    return -1;
                }
                int n = (int) Math.min(len, Math.min(left, chunk.length));
                for (int i = 0; i < n; i++) {
                    b[off + i] = (byte) ((left - i) * 31);
                }
                md5.update(b, off, n);
                left -= n;
                return n;
            }
        };
        // No Content-Length: the client sends it chunked, as a streaming upload does.
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(cloud.baseUrl()
                        + "/image/v2/images/" + id + "/file"))
                .header("X-Auth-Token", admin.token()).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> stream)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(204);
        JsonNode image = admin.get("/image/v2/images/" + id).expect(200).json();
        assertThat(image.get("size").asLong()).isEqualTo(size);
        assertThat(image.get("checksum").asText()).isEqualTo(HexFormat.of().formatHex(md5.digest()));
        long heapAfter = rt.totalMemory() - rt.freeMemory();
        assertThat(heapAfter - heapBefore).as("upload must not be buffered in the heap").isLessThan(size / 2);
        admin.delete("/image/v2/images/" + id).expect(204);
    }

    @Test
    void jsonPatchUpdatesCoreFieldsPropertiesAndTags() {
        String id = member.post("/image/v2/images", "{\"name\": \"patchme\", \"disk_format\": \"qcow2\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
        JsonNode patched = member.patch("/image/v2/images/" + id, """
                [{"op": "replace", "path": "/name", "value": "patched"},
                 {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
                 {"op": "add", "path": "/tags/-", "value": "gold"},
                 {"op": "replace", "path": "/min_ram", "value": 64}]""", PATCH).expect(200).json();
        assertThat(patched.get("name").asText()).isEqualTo("patched");
        assertThat(patched.get("hw_disk_bus").asText()).isEqualTo("virtio");
        assertThat(patched.get("tags")).extracting(JsonNode::asText).containsExactly("gold");
        assertThat(patched.get("min_ram").asInt()).isEqualTo(64);
        member.patch("/image/v2/images/" + id, "[{\"op\": \"remove\", \"path\": \"/hw_disk_bus\"}]", PATCH).expect(200);
        member.patch("/image/v2/images/" + id, "[{\"op\": \"remove\", \"path\": \"/hw_disk_bus\"}]", PATCH).expect(409);
        member.patch("/image/v2/images/" + id, "[{\"op\": \"replace\", \"path\": \"/status\", \"value\": \"active\"}]", PATCH).expect(403);
        member.patch("/image/v2/images/" + id, "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"public\"}]", PATCH).expect(403);
        member.patch("/image/v2/images/" + id, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"x\"}]", "application/json").expect(415);
        member.patch("/image/v2/images/" + id, "{not json", PATCH).expect(400);
        member.put("/image/v2/images/" + id + "/tags/silver", null).expect(204);
        member.delete("/image/v2/images/" + id + "/tags/gold").expect(204);
        assertThat(member.get("/image/v2/images/" + id).expect(200).json().get("tags")).extracting(JsonNode::asText).containsExactly("silver");
        member.delete("/image/v2/images/" + id).expect(204);
    }

    @Test
    void tenancyAndSharing() {
        String privateId = admin.post("/image/v2/images", "{\"name\": \"secret\", \"visibility\": \"private\"}").expect(201).json()
                .get("id").asText();
        String publicId = admin.post("/image/v2/images", "{\"name\": \"everyone\", \"visibility\": \"public\"}").expect(201).json()
                .get("id").asText();
        String sharedId = admin.post("/image/v2/images", "{\"name\": \"shared\", \"visibility\": \"shared\"}").expect(201).json()
                .get("id").asText();
        member.get("/image/v2/images/" + privateId).expect(404);
        member.get("/image/v2/images/" + publicId).expect(200);
        member.delete("/image/v2/images/" + publicId).expect(403);
        member.post("/image/v2/images", "{\"name\": \"mine\", \"visibility\": \"public\"}").expect(403);
        assertThat(member.get("/image/v2/images").expect(200).json().get("images")).extracting(i -> i.get("name").asText())
                .contains("everyone").doesNotContain("secret", "shared");
        String project = admin.get("/identity/v3/projects?name=delta").expect(200).json().at("/projects/0/id").asText();
        admin.post("/image/v2/images/" + sharedId + "/members", "{\"member\": \"" + project + "\"}").expect(200);
        member.get("/image/v2/images/" + sharedId).expect(200);
        member.put("/image/v2/images/" + sharedId + "/members/" + project, "{\"status\": \"accepted\"}").expect(200);
        assertThat(member.get("/image/v2/images").expect(200).json().get("images")).extracting(i -> i.get("name").asText()).contains("shared");
        admin.patch("/image/v2/images/" + privateId, "[{\"op\": \"replace\", \"path\": \"/protected\", \"value\": true}]", PATCH).expect(200);
        admin.delete("/image/v2/images/" + privateId).expect(403);
        admin.patch("/image/v2/images/" + privateId, "[{\"op\": \"replace\", \"path\": \"/protected\", \"value\": false}]", PATCH).expect(200);
        for (String id : new String[] {privateId, publicId, sharedId}) {
            admin.delete("/image/v2/images/" + id).expect(204);
        }
    }

    @Test
    void badInputIsRejected() {
        admin.post("/image/v2/images", "{\"name\": \"x\", \"status\": \"active\"}").expect(403).json().get("message");
        admin.post("/image/v2/images", "{\"name\": \"x\", \"disk_format\": \"floppy\"}").expect(400);
        admin.post("/image/v2/images", "{\"name\": \"x\", \"min_ram\": \"lots\"}").expect(400);
        admin.post("/image/v2/images", "{\"name\": \"x\", \"hw_thing\": 5}").expect(400);
        admin.post("/image/v2/images", "[]").expect(400);
        admin.post("/image/v2/images", "{\"id\": \"not-a-uuid\"}").expect(400);
        admin.get("/image/v2/images?sort_key=colour").expect(400);
        String id = admin.post("/image/v2/images", "{\"name\": \"noformat\"}").expect(201).json().get("id").asText();
        admin.sendBytes("PUT", "/image/v2/images/" + id + "/file", new byte[10], Map.of("Content-Type", "application/octet-stream")).expect(400);
        admin.sendBytes("PUT", "/image/v2/images/" + id + "/file", new byte[10], Map.of("Content-Type", "text/plain")).expect(415);
        assertThat(admin.get("/image/v2/images/" + id).expect(200).json().get("status").asText()).isEqualTo("queued");
        admin.get("/image/v2/images/" + id + "/file").expect(204);
        admin.delete("/image/v2/images/" + id).expect(204);
    }

    @Test
    void pagingWithNextLinks() {
        for (int i = 0; i < 5; i++) {
            member.post("/image/v2/images", "{\"name\": \"page-" + i + "\"}").expect(201);
        }
        JsonNode first = member.get("/image/v2/images?limit=3&sort=name:asc").expect(200).json();
        assertThat(first.get("images")).hasSize(3);
        String next = first.get("next").asText();
        JsonNode second = member.get("/image" + next).expect(200).json();
        assertThat(second.get("images").size()).isGreaterThanOrEqualTo(2);
        assertThat(second.get("images").get(0).get("name").asText()).isGreaterThan(first.get("images").get(2).get("name").asText());
    }

    private static String hex(String algorithm, byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(data));
    }

}
