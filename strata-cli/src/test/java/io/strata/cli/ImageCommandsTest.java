package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.TestCloud;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image commands against a real Image API: uploads and downloads, properties, names. */
class ImageCommandsTest {
    private static TestCloud cloud;
    private static StrataCli admin;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start();
        admin = StrataCli.admin(cloud);
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void uploadShowDownload() throws Exception {
        byte[] data = new byte[300_000];
        new Random(7).nextBytes(data);
        Path file = dir.resolve("disk.img");
        Files.write(file, data);
        JsonNode created = admin.json("image", "create", "--file", file.toString(), "--disk-format", "raw", "--property", "os_distro=cirros",
                "--tag", "test", "--private", "upload");
        String id = created.path("id").asText();
        assertThat(created.path("status").asText()).isEqualTo("active");
        assertThat(created.path("size").asLong()).isEqualTo(data.length);
        assertThat(created.path("checksum").asText()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data)));
        assertThat(created.path("properties").path("os_distro").asText()).isEqualTo("cirros");
        assertThat(created.path("tags").get(0).asText()).isEqualTo("test");
        assertThat(created.path("visibility").asText()).isEqualTo("private");

        assertThat(admin.value("image", "show", "upload", "-c", "id")).isEqualTo(id);
        assertThat(admin.value("image", "show", "--human-readable", "upload", "-c", "size")).isEqualTo("300K");
        assertThat(admin.ok("image", "show", id).out()).contains("| disk_format      | raw  ").contains("os_distro='cirros'");

        Path saved = dir.resolve("saved.img");
        admin.ok("image", "save", "--file", saved.toString(), "upload");
        assertThat(Files.readAllBytes(saved)).isEqualTo(data);
        assertThat(Files.exists(dir.resolve("saved.img.part"))).isFalse();
        StrataCli.Run toStdout = admin.ok("image", "save", id);
        assertThat(toStdout.out().getBytes(StandardCharsets.ISO_8859_1).length).isGreaterThan(0);
        admin.run("image", "create", "--file", dir.resolve("nothing.img").toString(), "x")
                .failsWith(1, "Can't open '" + dir.resolve("nothing.img") + "': No such file or directory");
    }

    @Test
    void uploadProgress() throws Exception {
        Path file = dir.resolve("big.img");
        Files.write(file, new byte[2_000_000]);
        StrataCli.Run onTerminal = admin.onTerminal().ok("image", "create", "--file", file.toString(), "--progress", "big", "-c", "id");
        assertThat(onTerminal.err()).contains("\r| Uploading big: ").contains("100%").contains("\u001b[K")
                .containsPattern("Uploaded big: 2M \\(\\d+\\.\\d s\\)\n$");
        StrataCli.Run offTerminal = admin.ok("image", "create", "--file", file.toString(), "--progress", "big2", "-c", "id");
        assertThat(offTerminal.err()).matches("Uploaded big2: 2M \\(\\d+\\.\\d s\\)\n");
        // Image data is not for a screen.
        admin.onTerminal().run("image", "save", "big").failsWith(1, "No redirection or local file specified for downloaded image data");
        admin.ok("image", "delete", "big", "big2");
    }

    @Test
    void listSetAndDelete() {
        admin.ok("image", "create", "zeta");
        admin.ok("image", "create", "--public", "alpha");
        // Sorted by name, as the openstack client sorts them.
        assertThat(admin.value("image", "list", "-c", "Name")).contains("alpha\n").endsWith("zeta");
        assertThat(admin.value("image", "list", "--sort", "name:desc", "-c", "Name")).startsWith("zeta");
        assertThat(admin.value("image", "list", "--public", "-c", "Name")).isEqualTo("alpha");
        JsonNode longList = admin.json("image", "list", "--long", "--name", "zeta");
        assertThat(longList.get(0).path("Status").asText()).isEqualTo("queued");
        assertThat(longList.get(0).path("Tags").isArray()).isTrue();

        admin.ok("image", "set", "--name", "omega", "--property", "hw_rng_model=virtio", "--tag", "a", "--tag", "b", "--min-ram", "64",
                "--protected", "zeta");
        JsonNode omega = admin.json("image", "show", "omega");
        assertThat(omega.path("properties").path("hw_rng_model").asText()).isEqualTo("virtio");
        assertThat(omega.path("tags")).hasSize(2);
        assertThat(omega.path("min_ram").asInt()).isEqualTo(64);
        admin.run("image", "delete", "omega").failsWith(1, "(HTTP 403)");
        admin.ok("image", "set", "--unprotected", "omega");

        admin.ok("image", "create", "alpha");
        admin.run("image", "show", "alpha").failsWith(1, "More than one image exists with the name 'alpha'.");
        StrataCli.Run partly = admin.run("image", "delete", "omega", "missing");
        assertThat(partly.exit()).isEqualTo(1);
        assertThat(partly.err().lines().toList()).containsExactly("strata: No image with a name or ID of 'missing' exists.",
                "strata: Failed to delete 1 of 2 images.");
        admin.run("image", "show", "omega").failsWith(1, "No image with a name or ID of 'omega' exists.");
    }
}
