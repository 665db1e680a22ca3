package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The Image API v2 over HTTP against a real controller, on H2 and on PostgreSQL. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageApiTest {
    static final String IMAGES = "/image/v2/images";
    static final String PATCH = "application/openstack-images-v2.1-json-patch";
    static final Map<String, String> OCTETS = Map.of("Content-Type", "application/octet-stream");

    @Parameter
    TestDatabases.Kind kind;

    private TestCloud cloud;
    private ApiClient admin;
    private ApiClient alice;
    private ApiClient bob;
    private String aliceProject;
    private String bobProject;

    // Once per database: @BeforeAll would run once for the whole class, on whichever kind came first.
    @BeforeParameterizedClassInvocation
    void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
        admin = cloud.admin();
        alice = cloud.newProjectUser("alpha", "alice", "member");
        bob = cloud.newProjectUser("beta", "bob", "member");
        aliceProject = projectId("alpha");
        bobProject = projectId("beta");
    }

    @AfterParameterizedClassInvocation
    void stop() {
        cloud.close();
    }

    // ------------------------------------------------------------------ versions

    @Test
    void versionDocuments() {
        ApiClient anonymous = cloud.anonymous();
        JsonNode root = anonymous.get("/image").expect(300).json();
        assertThat(root.get("versions")).extracting(v -> v.get("id").asText()).contains("v2.0", "v2.1", "v" + ImageJson.CURRENT_VERSION);
        JsonNode current = null;
        for (JsonNode version : root.get("versions")) {
            if (version.get("status").asText().equals("CURRENT")) {
                current = version;
            }
        }
        assertThat(current).isNotNull();
        String self = current.at("/links/0/href").asText();
        assertThat(self).isEqualTo(cloud.baseUrl() + "/image/v2/");
        anonymous.get("/image/").expect(300);
        assertThat(anonymous.get("/image/versions").expect(200).json().get("versions")).hasSize(root.get("versions").size());
        anonymous.get(self).expect(200);
        // The endpoint under the version needs a token, in Keystone's 401 shape.
        anonymous.get(IMAGES).expect(401);
    }

    @Test
    void schemasDescribeTheImage() {
        JsonNode image = alice.get("/image/v2/schemas/image").expect(200).json();
        assertThat(image.get("name").asText()).isEqualTo("image");
        assertThat(image.at("/properties/visibility/enum")).extracting(JsonNode::asText).contains("public", "shared");
        assertThat(image.at("/additionalProperties/type").asText()).isEqualTo("string");
        assertThat(alice.get("/image/v2/schemas/images").expect(200).json().at("/properties/images/items/name").asText()).isEqualTo("image");
        alice.get("/image/v2/schemas/member").expect(200);
        alice.get("/image/v2/schemas/members").expect(200);
    }

    // ------------------------------------------------------------------ create, show, delete

    @Test
    void createKeepsPropertiesAsTopLevelKeys() {
        String body = """
                {"name": "cirros", "container_format": "bare", "disk_format": "qcow2", "min_disk": 1, "min_ram": 64,
                 "tags": ["a", "b"], "kernel_id": "k-1", "ramdisk_id": "r-1", "os_command_line": "console=ttyS0 quiet",
                 "hw_disk_bus": "virtio", "hw_qemu_guest_agent": "yes"}""";
        ApiClient.Response response = alice.post(IMAGES, body).expect(201);
        JsonNode image = response.json();
        String id = image.get("id").asText();
        assertThat(response.header("Location")).endsWith("/image/v2/images/" + id);
        assertThat(image.get("status").asText()).isEqualTo("queued");
        assertThat(image.get("visibility").asText()).isEqualTo("shared");
        assertThat(image.get("owner").asText()).isEqualTo(aliceProject);
        assertThat(image.get("kernel_id").asText()).isEqualTo("k-1");
        assertThat(image.get("ramdisk_id").asText()).isEqualTo("r-1");
        assertThat(image.get("os_command_line").asText()).isEqualTo("console=ttyS0 quiet");
        assertThat(image.get("hw_disk_bus").asText()).isEqualTo("virtio");
        assertThat(image.get("min_disk").asInt()).isEqualTo(1);
        assertThat(image.get("min_ram").asInt()).isEqualTo(64);
        assertThat(image.get("tags")).extracting(JsonNode::asText).containsExactly("a", "b");
        assertThat(image.get("size").isNull()).isTrue();
        assertThat(image.get("checksum").isNull()).isTrue();
        assertThat(image.get("protected").asBoolean()).isFalse();
        assertThat(image.get("os_hidden").asBoolean()).isFalse();
        assertThat(image.get("self").asText()).isEqualTo("/v2/images/" + id);
        assertThat(image.get("file").asText()).isEqualTo("/v2/images/" + id + "/file");
        assertThat(image.get("schema").asText()).isEqualTo("/v2/schemas/image");
        assertThat(image.get("created_at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");

        JsonNode shown = alice.get(IMAGES + "/" + id).expect(200).json();
        assertThat(shown).isEqualTo(image);
        alice.delete(IMAGES + "/" + id).expect(204);
        glanceError(alice.get(IMAGES + "/" + id), 404);
    }

    @Test
    void createWithChosenIdAndDuplicateConflicts() {
        String id = UUID.randomUUID().toString();
        alice.post(IMAGES, "{\"id\": \"" + id + "\", \"name\": \"chosen\"}").expect(201);
        assertThat(alice.get(IMAGES + "/" + id).expect(200).json().get("name").asText()).isEqualTo("chosen");
        glanceError(alice.post(IMAGES, "{\"id\": \"" + id + "\"}"), 409);
        glanceError(alice.post(IMAGES, "{\"id\": \"not-a-uuid\"}"), 400);
        alice.delete(IMAGES + "/" + id).expect(204);
    }

    @Test
    void createRefusesReadOnlyReservedAndMistypedAttributes() {
        for (String key : List.of("size", "checksum", "virtual_size", "os_hash_value", "created_at")) {
            String value = key.equals("size") || key.equals("virtual_size") ? "5" : "\"x\"";
            JsonNode error = glanceError(alice.post(IMAGES, "{\"" + key + "\": " + value + "}"), 403);
            assertThat(error.get("message").asText()).contains("Attribute '" + key + "' is read-only.");
        }
        glanceError(alice.post(IMAGES, "{\"status\": \"active\"}"), 403);
        glanceError(alice.post(IMAGES, "{\"status\": \"bogus\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"self\": \"x\"}"), 403);
        glanceError(alice.post(IMAGES, "{\"direct_url\": \"file:///etc/passwd\"}"), 403);
        for (String key : List.of("location", "deleted", "os_glance_import_task")) {
            JsonNode error = glanceError(alice.post(IMAGES, "{\"" + key + "\": \"x\"}"), 403);
            assertThat(error.get("message").asText()).contains("is reserved");
        }
        glanceError(alice.post(IMAGES, "{\"locations\": []}"), 403);
        JsonNode typeError = glanceError(alice.post(IMAGES, "{\"name\": 5}"), 400);
        assertThat(typeError.get("message").asText()).isEqualTo("Provided object does not match schema 'image': 5 is not of type 'null', 'string'");
        glanceError(alice.post(IMAGES, "{\"kernel_id\": 5}"), 400);
        glanceError(alice.post(IMAGES, "{\"hw_props\": {\"a\": 1}}"), 400);
        glanceError(alice.post(IMAGES, "{\"protected\": \"true\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"min_ram\": \"64\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"min_ram\": -1}"), 400);
        glanceError(alice.post(IMAGES, "{\"min_disk\": 99999999999}"), 400);
        glanceError(alice.post(IMAGES, "{\"visibility\": \"everyone\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"disk_format\": \"floppy\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"container_format\": \"box\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"tags\": \"a\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"tags\": [1]}"), 400);
        glanceError(alice.post(IMAGES, "{\"name\": \"" + "n".repeat(256) + "\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"" + "k".repeat(256) + "\": \"v\"}"), 400);
        glanceError(alice.post(IMAGES, "{\"owner\": \"" + bobProject + "\"}"), 403);
        glanceError(alice.post(IMAGES, "{not json"), 400);
        glanceError(alice.post(IMAGES, "[]"), 400);
        glanceError(alice.post(IMAGES, "\"image\""), 400);
        glanceError(alice.send("POST", IMAGES, "", Map.of()), 400);
    }

    @Test
    void publicImagesNeedAdminAndAreSeenByAll() {
        glanceError(alice.post(IMAGES, "{\"name\": \"pub\", \"visibility\": \"public\"}"), 403);
        String id = admin.post(IMAGES, "{\"name\": \"pub\", \"visibility\": \"public\"}").expect(201).json().get("id").asText();
        assertThat(bob.get(IMAGES + "/" + id).expect(200).json().get("visibility").asText()).isEqualTo("public");
        assertThat(ids(bob.get(IMAGES + "?visibility=public").expect(200).json())).contains(id);
        // Visible is not mutable: another project's image answers 403, not 404.
        glanceError(bob.patch(IMAGES + "/" + id, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"mine\"}]", PATCH), 403);
        glanceError(bob.delete(IMAGES + "/" + id), 403);
        glanceError(bob.send("PUT", IMAGES + "/" + id + "/tags/x", null, Map.of()), 403);
        String own = alice.post(IMAGES, "{\"name\": \"to-publish\"}").expect(201).json().get("id").asText();
        glanceError(alice.patch(IMAGES + "/" + own, "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"public\"}]", PATCH), 403);
        alice.patch(IMAGES + "/" + own, "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"community\"}]", PATCH).expect(200);
        assertThat(bob.get(IMAGES + "/" + own).expect(200).json().get("visibility").asText()).isEqualTo("community");
        // Community images are listed only when asked for (or to their owner).
        assertThat(ids(bob.get(IMAGES + "?limit=1000").expect(200).json())).doesNotContain(own);
        assertThat(ids(bob.get(IMAGES + "?visibility=community").expect(200).json())).contains(own);
        assertThat(ids(alice.get(IMAGES + "?limit=1000").expect(200).json())).contains(own);
        admin.delete(IMAGES + "/" + id).expect(204);
        alice.delete(IMAGES + "/" + own).expect(204);
    }

    @Test
    void readerMayLookButNotCreate() {
        ApiClient reader = cloud.newProjectUser("gamma", "carol", "reader");
        glanceError(reader.post(IMAGES, "{\"name\": \"nope\"}"), 403);
        reader.get(IMAGES).expect(200);
    }

    // ------------------------------------------------------------------ data

    @Test
    void uploadComputesChecksumsAndDownloadStreamsItBack() throws Exception {
        byte[] data = "strata image data ".repeat(1000).getBytes(StandardCharsets.UTF_8);
        String id = alice.post(IMAGES, "{\"name\": \"raw\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
        glanceError(alice.sendBytes("GET", IMAGES + "/" + id + "/file", new byte[0], Map.of()), 204);
        glanceError(alice.sendBytes("PUT", IMAGES + "/" + id + "/file", data, Map.of("Content-Type", "application/json")), 415);
        alice.sendBytes("PUT", IMAGES + "/" + id + "/file", data, OCTETS).expect(204);

        JsonNode image = alice.get(IMAGES + "/" + id).expect(200).json();
        assertThat(image.get("status").asText()).isEqualTo("active");
        assertThat(image.get("size").asLong()).isEqualTo(data.length);
        assertThat(image.get("virtual_size").asLong()).isEqualTo(data.length);
        assertThat(image.get("checksum").asText()).isEqualTo(hex("MD5", data));
        assertThat(image.get("os_hash_algo").asText()).isEqualTo("sha512");
        assertThat(image.get("os_hash_value").asText()).isEqualTo(hex("SHA-512", data));
        assertThat(Files.size(cloud.dataDir().resolve("images").resolve(id))).isEqualTo(data.length);

        ApiClient.Response download = alice.get(IMAGES + "/" + id + "/file").expect(200);
        assertThat(download.body()).isEqualTo(data);
        assertThat(download.header("Content-MD5")).isEqualTo(hex("MD5", data));
        assertThat(download.header("Content-Type")).startsWith("application/octet-stream");

        ApiClient.Response range = alice.send("GET", IMAGES + "/" + id + "/file", null, Map.of("Range", "bytes=10-19")).expect(206);
        assertThat(range.body()).isEqualTo(java.util.Arrays.copyOfRange(data, 10, 20));
        assertThat(range.header("Content-Range")).isEqualTo("bytes 10-19/" + data.length);
        ApiClient.Response suffix = alice.send("GET", IMAGES + "/" + id + "/file", null, Map.of("Range", "bytes=-5")).expect(206);
        assertThat(suffix.body()).isEqualTo(java.util.Arrays.copyOfRange(data, data.length - 5, data.length));
        glanceError(alice.send("GET", IMAGES + "/" + id + "/file", null, Map.of("Range", "bytes=" + data.length + "-")), 416);

        // Data is written once: an active image refuses another upload.
        JsonNode conflict = glanceError(alice.sendBytes("PUT", IMAGES + "/" + id + "/file", data, OCTETS), 409);
        assertThat(conflict.get("message").asText()).contains("active");
        // Other projects neither read nor write it (it is shared with nobody).
        glanceError(bob.get(IMAGES + "/" + id + "/file"), 404);
        glanceError(bob.sendBytes("PUT", IMAGES + "/" + id + "/file", data, OCTETS), 404);

        alice.delete(IMAGES + "/" + id).expect(204);
        assertThat(cloud.dataDir().resolve("images").resolve(id)).doesNotExist();
    }

    @Test
    void uploadNeedsFormatsAndMatchingQcow2Data() {
        String bare = alice.post(IMAGES, "{\"name\": \"no-formats\"}").expect(201).json().get("id").asText();
        JsonNode error = glanceError(alice.sendBytes("PUT", IMAGES + "/" + bare + "/file", new byte[] {1, 2, 3}, OCTETS), 400);
        assertThat(error.get("message").asText()).isEqualTo("Properties disk_format, container_format must be set prior to saving data.");

        String qcow = alice.post(IMAGES, "{\"name\": \"fake-qcow\", \"disk_format\": \"qcow2\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
        JsonNode mismatch = glanceError(alice.sendBytes("PUT", IMAGES + "/" + qcow + "/file", new byte[4096], OCTETS), 400);
        assertThat(mismatch.get("message").asText()).contains("does not match");
        JsonNode image = alice.get(IMAGES + "/" + qcow).expect(200).json();
        assertThat(image.get("status").asText()).isEqualTo("queued");
        assertThat(image.get("size").isNull()).isTrue();
        assertThat(cloud.dataDir().resolve("images").resolve(qcow)).doesNotExist();

        // A qcow2 that points QEMU at a file on the host is refused whatever format it claims.
        byte[] backed = qcow2Header(1L << 30, 512);
        String raw = alice.post(IMAGES, "{\"name\": \"backed\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
        assertThat(glanceError(alice.sendBytes("PUT", IMAGES + "/" + raw + "/file", backed, OCTETS), 400).get("message").asText())
                .contains("safety");

        byte[] good = qcow2Header(1L << 30, 0);
        alice.sendBytes("PUT", IMAGES + "/" + qcow + "/file", good, OCTETS).expect(204);
        assertThat(alice.get(IMAGES + "/" + qcow).expect(200).json().get("virtual_size").asLong()).isEqualTo(1L << 30);

        // A wrong announced size fails the upload and leaves the image queued.
        glanceError(alice.sendBytes("PUT", IMAGES + "/" + raw + "/file", new byte[10],
                Map.of("Content-Type", "application/octet-stream", "x-openstack-image-size", "11")), 400);
        assertThat(alice.get(IMAGES + "/" + raw).expect(200).json().get("status").asText()).isEqualTo("queued");
        for (String id : List.of(bare, qcow, raw)) {
            alice.delete(IMAGES + "/" + id).expect(204);
        }
    }

    @Test
    void emptyUploadMakesAnEmptyActiveImage() {
        String id = alice.post(IMAGES, "{\"name\": \"empty\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
        alice.sendBytes("PUT", IMAGES + "/" + id + "/file", new byte[0], OCTETS).expect(204);
        JsonNode image = alice.get(IMAGES + "/" + id).expect(200).json();
        assertThat(image.get("size").asLong()).isZero();
        assertThat(image.get("checksum").asText()).isEqualTo("d41d8cd98f00b204e9800998ecf8427e");
        assertThat(alice.get(IMAGES + "/" + id + "/file").expect(200).body()).isEmpty();
        alice.delete(IMAGES + "/" + id).expect(204);
    }

    @Test
    void deactivatedImagesKeepTheirDataFromNonAdmins() {
        String id = alice.post(IMAGES, "{\"name\": \"deactivate-me\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().get("id").asText();
        glanceError(alice.post(IMAGES + "/" + id + "/actions/deactivate", null), 403);
        alice.sendBytes("PUT", IMAGES + "/" + id + "/file", new byte[] {5, 6}, OCTETS).expect(204);
        alice.post(IMAGES + "/" + id + "/actions/deactivate", null).expect(204);
        alice.post(IMAGES + "/" + id + "/actions/deactivate", null).expect(204);
        assertThat(alice.get(IMAGES + "/" + id).expect(200).json().get("status").asText()).isEqualTo("deactivated");
        glanceError(alice.get(IMAGES + "/" + id + "/file"), 403);
        assertThat(admin.get(IMAGES + "/" + id + "/file").expect(200).body()).containsExactly(5, 6);
        glanceError(bob.post(IMAGES + "/" + id + "/actions/reactivate", null), 404);
        alice.post(IMAGES + "/" + id + "/actions/reactivate", null).expect(204);
        assertThat(alice.get(IMAGES + "/" + id + "/file").expect(200).body()).containsExactly(5, 6);
        alice.delete(IMAGES + "/" + id).expect(204);
    }

    // ------------------------------------------------------------------ update

    @Test
    void jsonPatchChangesPropertiesAndCoreAttributes() {
        String id = alice.post(IMAGES, "{\"name\": \"patch-me\", \"kernel_id\": \"k1\", \"ramdisk_id\": \"r1\"}").expect(201)
                .json().get("id").asText();
        String patch = """
                [{"op": "replace", "path": "/name", "value": "patched"},
                 {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
                 {"op": "replace", "path": "/kernel_id", "value": "k2"},
                 {"op": "remove", "path": "/ramdisk_id"},
                 {"op": "add", "path": "/tags", "value": ["x", "y"]},
                 {"op": "replace", "path": "/min_ram", "value": 512},
                 {"op": "replace", "path": "/protected", "value": true},
                 {"op": "replace", "path": "/disk_format", "value": "raw"},
                 {"op": "add", "path": "/container_format", "value": "bare"},
                 {"op": "add", "path": "/os~1distro", "value": "cirros"}]""";
        JsonNode image = alice.patch(IMAGES + "/" + id, patch, PATCH + "; charset=UTF-8").expect(200).json();
        assertThat(image.get("name").asText()).isEqualTo("patched");
        assertThat(image.get("hw_disk_bus").asText()).isEqualTo("scsi");
        assertThat(image.get("kernel_id").asText()).isEqualTo("k2");
        assertThat(image.has("ramdisk_id")).isFalse();
        assertThat(image.get("os/distro").asText()).isEqualTo("cirros");
        assertThat(image.get("tags")).extracting(JsonNode::asText).containsExactly("x", "y");
        assertThat(image.get("min_ram").asInt()).isEqualTo(512);
        assertThat(image.get("protected").asBoolean()).isTrue();
        assertThat(image.get("disk_format").asText()).isEqualTo("raw");
        assertThat(alice.get(IMAGES + "/" + id).expect(200).json()).isEqualTo(image);

        // Protected images are not deleted.
        glanceError(alice.delete(IMAGES + "/" + id), 403);
        alice.patch(IMAGES + "/" + id, "[{\"op\": \"replace\", \"path\": \"/protected\", \"value\": false}]", PATCH).expect(200);

        // The old draft-4 dialect still works.
        JsonNode draft4 = alice.patch(IMAGES + "/" + id, "[{\"replace\": \"/name\", \"value\": \"d4\"}, {\"add\": \"/extra\", \"value\": \"e\"}]",
                "application/openstack-images-v2.0-json-patch").expect(200).json();
        assertThat(draft4.get("name").asText()).isEqualTo("d4");
        glanceError(alice.patch(IMAGES + "/" + id, "[{\"add\": \"/extra\", \"value\": \"again\"}]",
                "application/openstack-images-v2.0-json-patch"), 409);

        // All or nothing: a failing operation leaves the earlier ones unapplied.
        glanceError(alice.patch(IMAGES + "/" + id, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"half\"},"
                + " {\"op\": \"remove\", \"path\": \"/absent\"}]", PATCH), 409);
        assertThat(alice.get(IMAGES + "/" + id).expect(200).json().get("name").asText()).isEqualTo("d4");
        alice.delete(IMAGES + "/" + id).expect(204);
    }

    @Test
    void jsonPatchRefusesWhatGlanceRefuses() {
        String id = alice.post(IMAGES, "{\"name\": \"strict\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}").expect(201)
                .json().get("id").asText();
        String path = IMAGES + "/" + id;
        ApiClient.Response wrongType = alice.patch(path, "[]", "application/json");
        glanceError(wrongType, 415);
        assertThat(wrongType.header("Accept-Patch")).contains(PATCH);
        glanceError(alice.send("PATCH", path, "[]", Map.of("Content-Type", "text/plain")), 415);

        assertThat(alice.patch(path, "[]", PATCH).expect(200).json().get("name").asText()).isEqualTo("strict");
        glanceError(alice.patch(path, "{\"op\": \"add\"}", PATCH), 400);
        glanceError(alice.patch(path, "[5]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"path\": \"/name\", \"value\": \"x\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"move\", \"path\": \"/name\", \"value\": \"x\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"value\": \"x\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/name\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"name\", \"value\": \"x\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/a/b\", \"value\": \"x\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/a//b\", \"value\": \"x\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/a~2\", \"value\": \"x\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/a\", \"value\": 5}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/min_ram\", \"value\": \"a lot\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/min_ram\", \"value\": -5}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"world\"}]", PATCH), 400);
        glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/tags\", \"value\": \"t\"}]", PATCH), 400);
        glanceError(alice.patch(path, "{not json", PATCH), 400);
        for (String readOnly : List.of("status", "id", "checksum", "size", "created_at", "self", "file")) {
            JsonNode error = glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/" + readOnly + "\", \"value\": \"x\"}]",
                    PATCH), 403);
            assertThat(error.get("message").asText()).isEqualTo("Attribute '" + readOnly + "' is read-only.");
        }
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/os_glance_x\", \"value\": \"x\"}]", PATCH), 403);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/deleted\", \"value\": \"x\"}]", PATCH), 403);
        glanceError(alice.patch(path, "[{\"op\": \"add\", \"path\": \"/locations/-\", \"value\": {\"url\": \"x\", \"metadata\": {}}}]",
                PATCH), 403);
        glanceError(alice.patch(path, "[{\"op\": \"remove\", \"path\": \"/name\"}]", PATCH), 403);
        glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/owner\", \"value\": \"" + bobProject + "\"}]", PATCH), 403);
        JsonNode missing = glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/nothing\", \"value\": \"x\"}]", PATCH), 409);
        assertThat(missing.get("message").asText()).isEqualTo("Property nothing does not exist.");
        glanceError(alice.patch(path, "[{\"op\": \"remove\", \"path\": \"/nothing\"}]", PATCH), 409);

        alice.sendBytes("PUT", path + "/file", new byte[] {1}, OCTETS).expect(204);
        glanceError(alice.patch(path, "[{\"op\": \"replace\", \"path\": \"/disk_format\", \"value\": \"qcow2\"}]", PATCH), 403);
        glanceError(alice.patch(IMAGES + "/" + UUID.randomUUID(), "[]", PATCH), 404);
        alice.delete(path).expect(204);
    }

    @Test
    void tagsAreAddedAndRemovedOneByOne() {
        String id = alice.post(IMAGES, "{\"name\": \"tagged\"}").expect(201).json().get("id").asText();
        alice.send("PUT", IMAGES + "/" + id + "/tags/blue", null, Map.of()).expect(204);
        alice.send("PUT", IMAGES + "/" + id + "/tags/blue", null, Map.of()).expect(204);
        alice.send("PUT", IMAGES + "/" + id + "/tags/green%20tea", null, Map.of()).expect(204);
        assertThat(alice.get(IMAGES + "/" + id).expect(200).json().get("tags")).extracting(JsonNode::asText)
                .containsExactly("blue", "green tea");
        alice.delete(IMAGES + "/" + id + "/tags/blue").expect(204);
        glanceError(alice.delete(IMAGES + "/" + id + "/tags/blue"), 404);
        glanceError(alice.send("PUT", IMAGES + "/" + id + "/tags/" + "t".repeat(256), null, Map.of()), 400);
        glanceError(alice.send("PUT", IMAGES + "/" + UUID.randomUUID() + "/tags/x", null, Map.of()), 404);
        assertThat(alice.get(IMAGES + "/" + id).expect(200).json().get("tags")).extracting(JsonNode::asText).containsExactly("green tea");
        alice.delete(IMAGES + "/" + id).expect(204);
    }

    // ------------------------------------------------------------------ list

    @Test
    void listFiltersSortsAndPages() {
        String tag = "list-" + UUID.randomUUID();
        List<String> created = new ArrayList<>();
        for (String name : List.of("delta", "alpha", "charlie", "bravo", "echo")) {
            String body = "{\"name\": \"" + name + "\", \"tags\": [\"" + tag + "\"], \"disk_format\": \"" + (name.equals("echo") ? "raw" : "qcow2")
                    + "\", \"container_format\": \"bare\", \"flavor\": \"" + (name.compareTo("c") < 0 ? "early" : "late") + "\"}";
            created.add(alice.post(IMAGES, body).expect(201).json().get("id").asText());
        }
        String base = IMAGES + "?tag=" + tag;
        // Newest first by default.
        assertThat(names(alice.get(base).expect(200).json())).containsExactly("echo", "bravo", "charlie", "alpha", "delta");
        assertThat(names(alice.get(base + "&sort_key=name&sort_dir=asc").expect(200).json()))
                .containsExactly("alpha", "bravo", "charlie", "delta", "echo");
        assertThat(names(alice.get(base + "&sort=name:desc").expect(200).json())).containsExactly("echo", "delta", "charlie", "bravo", "alpha");
        assertThat(names(alice.get(base + "&sort=disk_format:asc,name:asc").expect(200).json()))
                .containsExactly("alpha", "bravo", "charlie", "delta", "echo");
        assertThat(names(alice.get(base + "&name=charlie").expect(200).json())).containsExactly("charlie");
        assertThat(names(alice.get(base + "&name=in:alpha,echo&sort_key=name&sort_dir=asc").expect(200).json())).containsExactly("alpha", "echo");
        assertThat(names(alice.get(base + "&disk_format=raw").expect(200).json())).containsExactly("echo");
        assertThat(names(alice.get(base + "&flavor=early&sort=name:asc").expect(200).json())).containsExactly("alpha", "bravo");
        assertThat(names(alice.get(base + "&status=queued&owner=" + aliceProject).expect(200).json())).hasSize(5);
        assertThat(names(alice.get(base + "&status=active").expect(200).json())).isEmpty();
        assertThat(names(alice.get(base + "&created_at=gte:2000-01-01T00:00:00Z").expect(200).json())).hasSize(5);
        assertThat(names(alice.get(base + "&created_at=lt:2000-01-01T00:00:00Z").expect(200).json())).isEmpty();

        // Paging by marker, following Glance's relative next links.
        List<String> paged = new ArrayList<>();
        String next = base + "&sort_key=name&sort_dir=asc&limit=2";
        int pages = 0;
        while (next != null) {
            JsonNode page = alice.get(next).expect(200).json();
            assertThat(page.get("images").size()).isLessThanOrEqualTo(2);
            paged.addAll(names(page));
            next = page.has("next") ? "/image" + page.get("next").asText() : null;
            pages++;
        }
        assertThat(paged).containsExactly("alpha", "bravo", "charlie", "delta", "echo");
        assertThat(pages).isEqualTo(3);
        JsonNode first = alice.get(base + "&limit=2").expect(200).json();
        assertThat(first.get("first").asText()).startsWith("/v2/images?").contains("limit=2");
        assertThat(first.get("schema").asText()).isEqualTo("/v2/schemas/images");

        // Hidden images only when asked for.
        alice.patch(IMAGES + "/" + created.get(0), "[{\"op\": \"replace\", \"path\": \"/os_hidden\", \"value\": true}]", PATCH).expect(200);
        assertThat(names(alice.get(base).expect(200).json())).doesNotContain("delta");
        assertThat(names(alice.get(base + "&os_hidden=true").expect(200).json())).containsExactly("delta");

        for (String bad : List.of("&limit=x", "&limit=-1", "&sort_key=owner", "&sort_dir=up", "&sort=name:sideways",
                "&sort=name&sort_key=name", "&marker=" + UUID.randomUUID(), "&member_status=maybe", "&visibility=world",
                "&os_hidden=maybe", "&changes-since=2020-01-01", "&name=like:x", "&created_at=soon", "&size_min=big",
                "&protected=yes", "&sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc")) {
            glanceError(alice.get(base + bad), 400);
        }
        for (String id : created) {
            alice.delete(IMAGES + "/" + id).expect(204);
        }
    }

    // ------------------------------------------------------------------ tenancy and sharing

    @Test
    void otherProjectsSeeNoneOfAPrivateImage() {
        String tag = "tenancy-" + UUID.randomUUID();
        List<String> adminImages = new ArrayList<>();
        for (String visibility : List.of("private", "shared")) {
            adminImages.add(admin.post(IMAGES, "{\"name\": \"admin-" + visibility + "\", \"visibility\": \"" + visibility
                    + "\", \"tags\": [\"" + tag + "\"], \"disk_format\": \"raw\", \"container_format\": \"bare\"}").expect(201).json()
                    .get("id").asText());
        }
        admin.sendBytes("PUT", IMAGES + "/" + adminImages.get(0) + "/file", new byte[] {7}, OCTETS).expect(204);
        assertThat(ids(admin.get(IMAGES + "?tag=" + tag).expect(200).json())).containsExactlyInAnyOrderElementsOf(adminImages);
        assertThat(ids(bob.get(IMAGES + "?tag=" + tag).expect(200).json())).isEmpty();
        assertThat(ids(bob.get(IMAGES + "?tag=" + tag + "&visibility=all&member_status=all").expect(200).json())).isEmpty();
        for (String id : adminImages) {
            glanceError(bob.get(IMAGES + "/" + id), 404);
            glanceError(bob.get(IMAGES + "/" + id + "/file"), 404);
            glanceError(bob.patch(IMAGES + "/" + id, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"x\"}]", PATCH), 404);
            glanceError(bob.delete(IMAGES + "/" + id), 404);
            glanceError(bob.get(IMAGES + "/" + id + "/members"), 404);
        }
        // The admin sees everyone's images, and may change them.
        String bobs = bob.post(IMAGES, "{\"name\": \"bobs\", \"visibility\": \"private\"}").expect(201).json().get("id").asText();
        admin.get(IMAGES + "/" + bobs).expect(200);
        assertThat(ids(admin.get(IMAGES + "?limit=1000").expect(200).json())).contains(bobs);
        admin.delete(IMAGES + "/" + bobs).expect(204);
        for (String id : adminImages) {
            admin.delete(IMAGES + "/" + id).expect(204);
        }
    }

    @Test
    void sharedImagesReachTheirMembers() {
        String id = alice.post(IMAGES, "{\"name\": \"to-share\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}").expect(201)
                .json().get("id").asText();
        alice.sendBytes("PUT", IMAGES + "/" + id + "/file", new byte[] {1, 2, 3}, OCTETS).expect(204);
        String members = IMAGES + "/" + id + "/members";
        glanceError(bob.get(IMAGES + "/" + id), 404);

        JsonNode member = alice.post(members, "{\"member\": \"" + bobProject + "\"}").expect(200).json();
        assertThat(member.get("status").asText()).isEqualTo("pending");
        assertThat(member.get("image_id").asText()).isEqualTo(id);
        assertThat(member.get("member_id").asText()).isEqualTo(bobProject);
        assertThat(member.get("schema").asText()).isEqualTo("/v2/schemas/member");
        glanceError(alice.post(members, "{\"member\": \"" + bobProject + "\"}"), 409);
        glanceError(alice.post(members, "{}"), 400);
        glanceError(alice.post(members, "{\"member\": \"\"}"), 400);
        glanceError(alice.post(members, "[\"x\"]"), 400);

        // A pending member may look at the image but does not list it until it accepts.
        bob.get(IMAGES + "/" + id).expect(200);
        assertThat(ids(bob.get(IMAGES + "?limit=1000").expect(200).json())).doesNotContain(id);
        assertThat(ids(bob.get(IMAGES + "?member_status=pending").expect(200).json())).contains(id);
        glanceError(alice.put(members + "/" + bobProject, "{\"status\": \"accepted\"}"), 403);
        glanceError(bob.put(members + "/" + bobProject, "{\"status\": \"maybe\"}"), 400);
        glanceError(bob.put(members + "/" + bobProject, "{}"), 400);
        assertThat(bob.put(members + "/" + bobProject, "{\"status\": \"accepted\"}").expect(200).json().get("status").asText())
                .isEqualTo("accepted");
        assertThat(ids(bob.get(IMAGES + "?limit=1000").expect(200).json())).contains(id);
        assertThat(bob.get(IMAGES + "/" + id + "/file").expect(200).body()).containsExactly(1, 2, 3);

        // Members see their own membership only, may not share further nor change the image.
        assertThat(bob.get(members).expect(200).json().get("members")).hasSize(1);
        assertThat(alice.get(members).expect(200).json().get("members")).extracting(m -> m.get("member_id").asText())
                .containsExactly(bobProject);
        assertThat(alice.get(members + "/" + bobProject).expect(200).json().get("status").asText()).isEqualTo("accepted");
        glanceError(bob.post(members, "{\"member\": \"" + UUID.randomUUID() + "\"}"), 403);
        glanceError(bob.delete(members + "/" + bobProject), 403);
        glanceError(bob.patch(IMAGES + "/" + id, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"x\"}]", PATCH), 403);
        glanceError(bob.delete(IMAGES + "/" + id), 403);

        bob.put(members + "/" + bobProject, "{\"status\": \"rejected\"}").expect(200);
        assertThat(ids(bob.get(IMAGES + "?limit=1000").expect(200).json())).doesNotContain(id);

        alice.delete(members + "/" + bobProject).expect(204);
        glanceError(alice.get(members + "/" + bobProject), 404);
        glanceError(bob.get(IMAGES + "/" + id), 404);

        // Only shared images have members.
        alice.patch(IMAGES + "/" + id, "[{\"op\": \"replace\", \"path\": \"/visibility\", \"value\": \"private\"}]", PATCH).expect(200);
        glanceError(alice.post(members, "{\"member\": \"" + bobProject + "\"}"), 403);
        glanceError(alice.get(members), 403);
        alice.delete(IMAGES + "/" + id).expect(204);
    }

    @Test
    void badRequestsAnswer4xxInGlanceShapeNeverA500() {
        String id = alice.post(IMAGES, "{\"name\": \"target\"}").expect(201).json().get("id").asText();
        List<ApiClient.Response> responses = List.of(
                alice.get(IMAGES + "/" + "x".repeat(300)),
                alice.send("PATCH", IMAGES + "/" + id, "[{\"op\": \"add\", \"path\": \"/\", \"value\": \"x\"}]", Map.of("Content-Type", PATCH)),
                alice.send("PATCH", IMAGES + "/" + id, "[{\"op\": \"add\", \"path\": 5, \"value\": \"x\"}]", Map.of("Content-Type", PATCH)),
                alice.send("PATCH", IMAGES + "/" + id, "[{\"op\": 5, \"path\": \"/a\", \"value\": \"x\"}]", Map.of("Content-Type", PATCH)),
                alice.send("PATCH", IMAGES + "/" + id, "[{\"op\": \"add\", \"path\": \"/min_disk\", \"value\": 1e30}]",
                        Map.of("Content-Type", PATCH)),
                alice.send("PATCH", IMAGES + "/" + id, "", Map.of("Content-Type", PATCH)),
                alice.send("PUT", IMAGES + "/" + id + "/file", "abc", Map.of()),
                alice.sendBytes("PUT", IMAGES + "/" + id + "/file", new byte[] {1},
                        Map.of("Content-Type", "application/octet-stream", "x-openstack-image-size", "lots")),
                alice.send("PUT", IMAGES + "/" + id + "/members/x", "{\"status\": 5}", Map.of()),
                alice.post(IMAGES, "{\"name\": \"dup\", \"name\": \"dup\"}"),
                alice.post(IMAGES, "{\"tags\": [\"" + "t".repeat(300) + "\"]}"),
                alice.post(IMAGES, "{\"min_ram\": 1.5}"),
                alice.post(IMAGES, "{\"visibility\": null}"));
        for (ApiClient.Response response : responses) {
            assertThat(response.status()).as("%s answered %s", response.request(), response.text()).isBetween(400, 499);
            assertThat(response.json().get("code").asText()).as(response.request()).startsWith(Integer.toString(response.status()));
        }
        alice.delete(IMAGES + "/" + id).expect(204);
    }

    // ------------------------------------------------------------------ helpers

    /** Asserts the status and Glance's error shape, and returns the body (or null for 204). */
    static JsonNode glanceError(ApiClient.Response response, int status) {
        response.expect(status);
        if (status == 204) {
            assertThat(response.body()).isEmpty();
            return null;
        }
        JsonNode body = response.json();
        assertThat(body.get("code").asText()).as(response.text()).startsWith(status + " ");
        assertThat(body.get("title").asText()).isNotBlank();
        assertThat(body.get("message").asText()).isNotBlank();
        return body;
    }

    private String projectId(String name) {
        return admin.get("/identity/v3/projects?name=" + name).expect(200).json().at("/projects/0/id").asText();
    }

    static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("images").forEach(image -> ids.add(image.get("id").asText()));
        return ids;
    }

    static List<String> names(JsonNode page) {
        List<String> names = new ArrayList<>();
        page.get("images").forEach(image -> names.add(image.get("name").asText()));
        return names;
    }

    static String hex(String algorithm, byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(data));
    }

    /** The first bytes of a qcow2 v3 image of {@code virtualSize}, optionally naming a backing file. */
    static byte[] qcow2Header(long virtualSize, long backingFileOffset) {
        java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(1024);
        header.putInt(0, 0x514649fb);
        header.putInt(4, 3);
        header.putLong(8, backingFileOffset);
        header.putInt(20, 16);
        header.putLong(24, virtualSize);
        header.putInt(100, 104);
        return header.array();
    }
}
