package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Images, their data and their sharing survive a restart; leftovers of unfinished work do not. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ImageRestartTest {
    @Parameter
    TestDatabases.Kind kind;

    private TestCloud cloud;

    @AfterEach
    void stop() {
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    void restartKeepsImagesAndSweepsLeftovers() throws Exception {
        cloud = TestCloud.start(kind);
        ApiClient admin = cloud.admin();
        String id = admin.post(ImageApiTest.IMAGES, "{\"name\": \"durable\", \"disk_format\": \"raw\", \"container_format\": \"bare\","
                + " \"kernel_id\": \"k\", \"tags\": [\"t\"]}").expect(201).json().get("id").asText();
        byte[] data = "durable data".getBytes();
        admin.sendBytes("PUT", ImageApiTest.IMAGES + "/" + id + "/file", data, ImageApiTest.OCTETS).expect(204);
        String member = UUID.randomUUID().toString().replace("-", "");
        admin.post(ImageApiTest.IMAGES + "/" + id + "/members", "{\"member\": \"" + member + "\"}").expect(200);
        String queued = admin.post(ImageApiTest.IMAGES, "{\"name\": \"still-queued\"}").expect(201).json().get("id").asText();
        JsonNode before = admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json();

        // What a crash leaves behind: a half-received upload and data no image owns.
        Path images = cloud.dataDir().resolve("images");
        Path partial = Files.write(images.resolve("staging").resolve("upload-123.part"), new byte[100]);
        Path orphan = Files.write(images.resolve(UUID.randomUUID().toString()), new byte[100]);

        cloud = cloud.restart();
        admin = cloud.admin();

        assertThat(admin.get(ImageApiTest.IMAGES + "/" + id).expect(200).json()).isEqualTo(before);
        assertThat(admin.get(ImageApiTest.IMAGES + "/" + id + "/file").expect(200).body()).isEqualTo(data);
        assertThat(admin.get(ImageApiTest.IMAGES + "/" + id + "/members").expect(200).json().at("/members/0/member_id").asText())
                .isEqualTo(member);
        assertThat(admin.get(ImageApiTest.IMAGES + "/" + queued).expect(200).json().get("status").asText()).isEqualTo("queued");
        assertThat(partial).doesNotExist();
        assertThat(orphan).doesNotExist();
        assertThat(images.resolve(id)).exists();
    }
}
