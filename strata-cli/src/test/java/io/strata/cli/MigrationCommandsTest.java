package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.TestCloud;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The migration nouns against a real controller, with qemu-host endpoints on local directories. */
class MigrationCommandsTest {
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

    private Path hostDir(String name, boolean withInstance) throws Exception {
        Path root = Files.createDirectories(dir.resolve(name));
        if (withInstance) {
            Files.createDirectories(root.resolve("vm1"));
            try (RandomAccessFile disk = new RandomAccessFile(root.resolve("vm1/disk.raw").toFile(), "rw")) {
                disk.setLength(4 << 20);
                disk.seek(1 << 20);
                disk.write("some data of vm1".getBytes());
            }
            Files.writeString(root.resolve("vm1/instance.json"), "{\"num_cpu\": 2, \"memory_mb\": 256}");
        }
        return root;
    }

    @Test
    void endpointsProvidersAndAReplicaLifecycle() throws Exception {
        assertThat(admin.ok("provider", "list").out()).contains("qemu-host").contains("strata").contains("openstack");
        assertThat(admin.ok("provider", "schema", "list", "qemu-host", "16").out()).contains("connection_info_schema");

        Path source = hostDir("src", true);
        Path destination = hostDir("dst", false);
        JsonNode src = admin.json("endpoint", "create", "--name", "src", "--provider", "qemu-host", "--connection",
                "{\"path\": \"" + source + "\"}");
        assertThat(src.path("connection_info").path("secret_ref").asText()).isNotEmpty();
        Path connection = dir.resolve("dst.json");
        Files.writeString(connection, "{\"path\": \"" + destination + "\"}");
        admin.ok("endpoint", "create", "--name", "dst", "--provider", "qemu-host", "--connection-file", connection.toString());
        assertThat(admin.ok("endpoint", "list").out()).contains("| src ").contains("| dst ");
        assertThat(admin.ok("endpoint", "validate-connection", "src").out()).contains("Endpoint src is valid.");
        assertThat(admin.value("endpoint", "instance", "list", "src", "-c", "Name")).isEqualTo("vm1");
        assertThat(admin.value("endpoint", "instance", "show", "src", "vm1", "-c", "num_cpu")).isEqualTo("2");
        assertThat(admin.value("endpoint", "network", "list", "src", "-c", "ID")).isEqualTo("default");

        String replica = admin.value("replica", "create", "--origin-endpoint", "src", "--destination-endpoint", "dst", "--instance", "vm1",
                "--network-map", "{\"default\": \"default\"}", "--notes", "nightly", "-c", "id");
        StrataCli.Run executed = admin.ok("replica", "execute", "--wait", replica, "-f", "json");
        assertThat(executed.err()).contains("completed");
        JsonNode execution = executed.json();
        assertThat(execution.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(execution.path("tasks").asText()).contains("REPLICATE_DISKS vm1: COMPLETED");
        assertThat(admin.value("replica", "execution", "list", replica, "-c", "Status")).isEqualTo("COMPLETED");
        assertThat(admin.value("replica", "list", "-c", "Last Execution Status")).isEqualTo("COMPLETED");

        String schedule = admin.value("replica", "schedule", "create", replica, "-M", "0", "-H", "2", "-c", "id");
        assertThat(admin.value("replica", "schedule", "show", replica, schedule, "-c", "schedule")).isEqualTo("{'minute': 0, 'hour': 2}");
        assertThat(admin.value("replica", "schedule", "update", "--disabled", replica, schedule, "-c", "enabled")).isEqualTo("False");
        admin.run("replica", "schedule", "create", replica, "-M", "99").failsWith(1, "schedule.minute must be an integer from 0 to 59, not 99");
        admin.ok("replica", "schedule", "delete", replica, schedule);

        JsonNode deployed = admin.json("migration", "deploy", "replica", "--wait", "--skip-os-morphing", replica);
        assertThat(deployed.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(destination.resolve("vm1/disk.raw")).exists();

        admin.run("replica", "delete", replica).failsWith(1, "still has disks on the destination");
        admin.ok("replica", "delete-disks", "--wait", replica);
        admin.ok("replica", "delete", replica);
        admin.ok("migration", "delete", deployed.path("id").asText());
        admin.run("replica", "show", replica).failsWith(1, "Replica with ID '" + replica + "' not found.");
    }

    @Test
    void migrationPoolsRegionsAndWorkers() throws Exception {
        Path source = hostDir("src2", true);
        Path destination = hostDir("dst2", false);
        admin.ok("endpoint", "create", "--name", "src2", "--provider", "qemu-host", "--connection", "{\"path\": \"" + source + "\"}");
        admin.ok("endpoint", "create", "--name", "dst2", "--provider", "qemu-host", "--connection", "{\"path\": \"" + destination + "\"}");
        JsonNode migration = admin.json("migration", "create", "--wait", "--origin-endpoint", "src2", "--destination-endpoint", "dst2",
                "--instance", "vm1", "--destination-environment", "{\"disk_format\": \"qcow2\"}", "--shutdown-instances", "--skip-os-morphing");
        assertThat(migration.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(migration.path("tasks").asText()).contains("SHUTDOWN_INSTANCE vm1: COMPLETED");
        assertThat(migration.path("tasks").asText()).contains("OS_MORPHING vm1: COMPLETED");
        assertThat(migration.path("skip_os_morphing").asBoolean()).isTrue();
        assertThat(destination.resolve("vm1/disk.qcow2")).exists();
        assertThat(admin.value("migration", "list", "-c", "Status")).contains("COMPLETED");

        String pool = admin.value("minion", "pool", "create", "--name", "pool", "--endpoint", "src2", "--platform", "source",
                "--minimum-minions", "2", "--maximum-minions", "4", "-c", "id");
        assertThat(admin.value("minion", "pool", "show", pool, "-c", "status")).isEqualTo("ALLOCATED");
        assertThat(admin.value("minion", "pool", "deallocate", pool, "-c", "status")).isEqualTo("DEALLOCATED");
        admin.ok("minion", "pool", "delete", pool);

        admin.ok("region", "create", "--description", "the east", "east");
        String worker = admin.value("worker", "list", "-c", "ID");
        assertThat(admin.value("worker", "update", "--region", "east", worker, "-c", "mapped_regions")).contains(
                admin.value("region", "show", "east", "-c", "id"));
        assertThat(admin.value("worker", "update", "--disable", "--no-regions", worker, "-c", "enabled")).isEqualTo("False");
        admin.run("migration", "create", "--origin-endpoint", "src2", "--destination-endpoint", "dst2", "--instance", "vm1")
                .failsWith(1, "No enabled worker service can run a transfer from qemu-host to qemu-host");
        admin.ok("worker", "update", "--enable", worker);
        admin.ok("region", "delete", "east");
        admin.run("endpoint", "show", "nope").failsWith(1, "No endpoint with a name or ID of 'nope' exists.");
    }
}
