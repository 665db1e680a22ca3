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
        assertThat(admin.ok("endpoint", "storage", "list", "dst").out()).contains("qcow2");
        assertThat(admin.value("endpoint", "destination", "options", "list", "dst", "--options", "disk_format", "-c", "Possible Values"))
                .isEqualTo("[\"raw\",\"qcow2\"]");
        // As the Coriolis client, create checks the connection unless --skip-validation; the endpoint stays either way.
        String missing = dir.resolve("missing").toString();
        admin.run("endpoint", "create", "--name", "bad", "--provider", "qemu-host", "--connection", "{\"path\": \"" + missing + "\"}")
                .failsWith(1, "but its connection is not valid");
        admin.ok("endpoint", "delete", "bad");
        admin.ok("endpoint", "create", "--name", "bad", "--provider", "qemu-host", "--skip-validation", "--connection",
                "{\"path\": \"" + missing + "\"}");
        assertThat(admin.value("endpoint", "update", "--description", "not there", "bad", "-c", "description")).isEqualTo("not there");
        admin.ok("endpoint", "delete", "bad");
        admin.run("endpoint", "show", "bad").failsWith(1, "No endpoint with a name or ID of 'bad' exists.");

        String replica = admin.value("replica", "create", "--origin-endpoint", "src", "--destination-endpoint", "dst", "--instance", "vm1",
                "--network-map", "{\"default\": \"default\"}", "--notes", "nightly", "-c", "id");
        StrataCli.Run executed = admin.ok("replica", "execute", "--wait", replica, "-f", "json");
        assertThat(executed.err()).contains("completed");
        JsonNode execution = executed.json();
        assertThat(execution.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(execution.path("tasks").asText()).contains("REPLICATE_DISKS vm1: COMPLETED");
        assertThat(admin.value("replica", "execution", "list", replica, "-c", "Status")).isEqualTo("COMPLETED");
        assertThat(admin.value("replica", "list", "-c", "Last Execution Status")).isEqualTo("COMPLETED");
        String executionId = execution.path("id").asText();
        assertThat(admin.value("replica", "execution", "show", replica, executionId, "-c", "status")).isEqualTo("COMPLETED");
        assertThat(admin.value("replica", "update", "--notes", "weekly", replica, "-c", "notes")).isEqualTo("weekly");
        admin.ok("replica", "execute", "--wait", replica);
        admin.ok("replica", "execution", "delete", replica, executionId);
        assertThat(admin.ok("replica", "execution", "list", replica).out()).doesNotContain(executionId);

        String schedule = admin.value("replica", "schedule", "create", replica, "-M", "0", "-H", "2", "-c", "id");
        assertThat(admin.value("replica", "schedule", "show", replica, schedule, "-c", "schedule")).isEqualTo("{'minute': 0, 'hour': 2}");
        assertThat(admin.value("replica", "schedule", "update", "--disabled", replica, schedule, "-c", "enabled")).isEqualTo("False");
        admin.run("replica", "schedule", "create", replica, "-M", "99").failsWith(1, "schedule.minute must be an integer from 0 to 59, not 99");
        // The Coriolis client's long names and its expiry and shutdown options.
        admin.run("replica", "schedule", "create", replica).failsWith(1, "Give at least one of --minute");
        JsonNode weekly = admin.json("replica", "schedule", "create", replica, "--day-of-month", "1", "--day-of-week", "0",
                "--expires-at", "2030-01-01T00:00:00Z", "--shutdown-instance");
        String monthly = weekly.path("id").asText();
        assertThat(weekly.path("schedule").toString()).as(weekly.toString()).isEqualTo("{\"dom\":1,\"dow\":0}");
        assertThat(weekly.path("expiration_date").asText()).startsWith("2030-01-01");
        assertThat(weekly.path("shutdown_instance").asBoolean()).isTrue();
        JsonNode updated = admin.json("replica", "schedule", "update", "--no-expiration-date", "--dont-shutdown-instance", replica, monthly);
        assertThat(updated.path("expiration_date").isNull() || updated.path("expiration_date").asText().isEmpty()).as(updated.toString()).isTrue();
        assertThat(updated.path("shutdown_instance").asBoolean()).isFalse();
        admin.run("replica", "schedule", "create", replica, "-M", "5", "--expires-at", "2020-01-01T00:00:00Z").failsWith(1, "expiration_date is in the past");
        // One that expires in two seconds: then listed only without --hide-expired.
        String expiry = java.time.Instant.now().plusSeconds(2).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        String expired = admin.value("replica", "schedule", "create", replica, "-M", "5", "--expires-at", expiry, "-c", "id");
        Thread.sleep(2500);
        assertThat(admin.ok("replica", "schedule", "list", replica).out()).contains(expired).contains(monthly);
        assertThat(admin.ok("replica", "schedule", "list", "--hide-expired", replica).out()).doesNotContain(expired).contains(monthly);
        admin.ok("replica", "schedule", "delete", replica, monthly, expired);
        admin.ok("replica", "schedule", "delete", replica, schedule);

        // A replica that never completed an execution is deployed only with --force.
        String fresh = admin.value("replica", "create", "--origin-endpoint", "src", "--destination-endpoint", "dst", "--instance", "vm1", "-c", "id");
        admin.run("migration", "deploy", "replica", fresh).failsWith(1, "must have been executed successfully at least once");
        admin.ok("replica", "delete", fresh);
        JsonNode deployed = admin.json("migration", "deploy", "replica", "--wait", "--skip-os-morphing", replica);
        assertThat(deployed.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(destination.resolve("vm1/disk.raw")).exists();

        admin.run("replica", "delete", replica).failsWith(1, "still has disks on the destination");
        admin.ok("replica", "disks", "delete", "--wait", replica);
        assertThat(destination.resolve(".strata-replicas/" + replica)).doesNotExist();
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
        // Storage mappings: a disk's own mapping wins over the default backend; a backend the destination lacks is refused.
        admin.run("migration", "create", "--origin-endpoint", "src2", "--destination-endpoint", "dst2", "--instance", "vm1",
                "--default-storage-backend", "ssd").failsWith(1, "storage backend 'ssd'");
        admin.ok("migration", "create", "--wait", "--origin-endpoint", "src2", "--destination-endpoint", "dst2", "--instance", "vm1",
                "--destination-environment", "{\"instance_name\": \"vm1-b\"}", "--default-storage-backend", "qcow2",
                "--disk-storage-mapping", "disk.raw=raw", "--skip-os-morphing");
        assertThat(destination.resolve("vm1-b/disk.raw")).exists();
        assertThat(destination.resolve("vm1-b/disk.qcow2")).doesNotExist();
        admin.ok("migration", "create", "--wait", "--origin-endpoint", "src2", "--destination-endpoint", "dst2", "--instance", "vm1",
                "--destination-environment", "{\"instance_name\": \"vm1-c\"}", "--storage-backend-mapping", "raw=qcow2", "--skip-os-morphing");
        assertThat(destination.resolve("vm1-c/disk.qcow2")).exists();

        // The Coriolis client's form: the name as an argument, --endpoint-id.
        String pool = admin.value("minion", "pool", "create", "pool", "--endpoint-id", "src2", "--platform", "source", "--os-type", "linux",
                "--minimum-minions", "2", "--maximum-minions", "4", "-c", "id");
        assertThat(admin.value("minion", "pool", "show", pool, "-c", "name")).isEqualTo("pool");
        assertThat(admin.value("minion", "pool", "show", pool, "-c", "status")).isEqualTo("ALLOCATED");
        assertThat(admin.value("minion", "pool", "refresh", pool, "-c", "status")).isEqualTo("ALLOCATED");
        assertThat(admin.value("minion", "pool", "deallocate", pool, "-c", "status")).isEqualTo("DEALLOCATED");
        assertThat(admin.value("minion", "pool", "update", "--minimum-minions", "1", pool, "-c", "minimum_minions")).isEqualTo("1");
        assertThat(admin.value("minion", "pool", "allocate", pool, "-c", "status")).isEqualTo("ALLOCATED");
        admin.run("minion", "pool", "create", "p2", "--name", "p2", "--endpoint-id", "src2", "--platform", "source")
                .failsWith(1, "Give the pool's name once");
        assertThat(admin.value("minion", "pool", "deallocate", pool, "-c", "status")).isEqualTo("DEALLOCATED");
        admin.ok("minion", "pool", "delete", pool);

        admin.ok("region", "create", "--description", "the east", "east");
        assertThat(admin.value("region", "update", "--description", "the far east", "east", "-c", "description")).isEqualTo("the far east");
        // Endpoints mapped to a region of their own (a mapped region cannot be deleted).
        admin.ok("region", "create", "west");
        assertThat(admin.value("endpoint", "update", "--coriolis-region", "west", "src2", "-c", "mapped_regions"))
                .contains(admin.value("region", "show", "west", "-c", "id"));
        admin.ok("endpoint", "update", "--region", "west", "dst2");
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

    /**
     * The Coriolis client's options the audit of issue 6 found missing: --replication-count, user
     * scripts from files, OS morphing pool mappings, the --*-file forms of the JSON options, and the
     * source and minion pool options lists.
     */
    @Test
    void coriolisTransferOptionsAndOptionsLists() throws Exception {
        Path source = hostDir("src3", true);
        Path destination = hostDir("dst3", false);
        admin.ok("endpoint", "create", "--name", "src3", "--provider", "qemu-host", "--connection", "{\"path\": \"" + source + "\"}");
        admin.ok("endpoint", "create", "--name", "dst3", "--provider", "qemu-host", "--connection", "{\"path\": \"" + destination + "\"}");
        Path globalScript = Files.writeString(dir.resolve("global.sh"), "#!/bin/sh\necho global > $1/etc/from-global\n");
        Path ownScript = Files.writeString(dir.resolve("vm1.sh"), "#!/bin/sh\necho own > $1/etc/own\n");
        Path environment = Files.writeString(dir.resolve("env.json"), "{\"disk_format\": \"qcow2\", \"instance_name\": \"vm1-counted\"}");
        Path networkMap = Files.writeString(dir.resolve("network.json"), "{\"default\": \"default\"}");
        String pool = admin.value("minion", "pool", "create", "morphers", "--endpoint-id", "dst3", "--platform", "destination", "-c", "id");

        JsonNode migration = admin.json("migration", "create", "--wait", "--origin-endpoint", "src3", "--destination-endpoint", "dst3",
                "--instance", "vm1", "--replication-count", "3", "--shutdown-instances", "--skip-os-morphing",
                "--destination-environment-file", environment.toString(), "--network-map-file", networkMap.toString(),
                "--user-script-global", "linux=" + globalScript, "--user-script-instance", "vm1=" + ownScript,
                "--osmorphing-minion-pool-mapping", "vm1=" + pool);
        assertThat(migration.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(migration.path("replication_count").asInt()).isEqualTo(3);
        String tasks = migration.path("tasks").asText();
        assertThat(tasks.split("REPLICATE_DISKS vm1: COMPLETED", -1)).hasSize(4);
        assertThat(tasks.indexOf("SHUTDOWN_INSTANCE")).isGreaterThan(tasks.indexOf("REPLICATE_DISKS")).isLessThan(tasks.lastIndexOf("REPLICATE_DISKS"));
        assertThat(migration.path("destination_environment").path("disk_format").asText()).isEqualTo("qcow2");
        assertThat(migration.path("network_map").toString()).isEqualTo("{\"default\":\"default\"}");
        assertThat(migration.path("user_scripts").path("global").path("linux").asText()).isEqualTo(Files.readString(globalScript));
        assertThat(migration.path("user_scripts").path("instances").path("vm1").asText()).isEqualTo(Files.readString(ownScript));
        assertThat(migration.path("instance_osmorphing_minion_pool_mappings").path("vm1").asText()).isEqualTo(pool);
        assertThat(destination.resolve("vm1-counted/disk.qcow2")).exists();

        String[] create = {"migration", "create", "--origin-endpoint", "src3", "--destination-endpoint", "dst3", "--instance", "vm1"};
        admin.run(concat(create, "--replication-count", "0")).failsWith(1, "replication_count");
        admin.run(concat(create, "--replication-count", "11")).failsWith(1, "greater than the maximum of 10");
        admin.run(concat(create, "--user-script-global", "solaris=" + globalScript))
                .failsWith(1, "Invalid OS solaris in --user-script-global. Available options are: linux, windows");
        admin.run(concat(create, "--user-script-global", "linux=" + dir.resolve("missing.sh")))
                .failsWith(1, "Could not find " + dir.resolve("missing.sh"));
        admin.run(concat(create, "--user-script-instance", "vm9=" + ownScript))
                .failsWith(1, "user_scripts.instances names 'vm9', which is not one of the instances (vm1)");
        admin.run(concat(create, "--osmorphing-minion-pool-mapping", "vm1")).failsWith(1, "must be INSTANCE=MINION_POOL_ID");
        admin.run(concat(create, "--osmorphing-minion-pool-mapping", "vm1=nope")).failsWith(1, "Minion pool nope could not be found");
        admin.run(concat(create, "--network-map", "{}", "--network-map-file", networkMap.toString()))
                .failsWith(1, "--network-map and --network-map-file are mutually exclusive");
        admin.run(concat(create, "--source-environment-file", dir.resolve("none.json").toString()))
                .failsWith(1, "Cannot read " + dir.resolve("none.json") + " for --source-environment-file");

        // A replica: update merges scripts and mappings (NAME= removes one); a deployment takes its own scripts.
        String replica = admin.value("replica", "create", "--origin-endpoint", "src3", "--destination-endpoint", "dst3", "--instance", "vm1",
                "--user-script-global", "linux=" + globalScript, "--osmorphing-minion-pool-mapping", "vm1=" + pool,
                "--source-environment-file", Files.writeString(dir.resolve("empty.json"), "{}").toString(), "-c", "id");
        JsonNode updated = admin.json("replica", "update", "--user-script-global", "linux=", "--user-script-instance", "vm1=" + ownScript,
                "--osmorphing-minion-pool-mapping", "vm1=", "--destination-environment-file", environment.toString(), replica);
        assertThat(updated.path("user_scripts").toString()).isEqualTo("{\"global\":{},\"instances\":{\"vm1\":\"#!/bin/sh\\necho own > $1/etc/own\\n\"}}");
        assertThat(updated.path("instance_osmorphing_minion_pool_mappings").toString()).isEqualTo("{}");
        assertThat(updated.path("destination_environment").path("instance_name").asText()).isEqualTo("vm1-counted");
        admin.run("replica", "update", "--user-script-global", "beos=" + globalScript, replica).failsWith(1, "Invalid OS beos");
        assertThat(admin.value("replica", "update", "--destination-minion-pool-id", pool, replica, "-c", "destination_minion_pool_id"))
                .isEqualTo(pool);
        admin.run("replica", "update", "--origin-minion-pool-id", pool, replica).failsWith(1, "is not a source pool of endpoint");
        admin.ok("replica", "execute", "--wait", replica);
        JsonNode deployed = admin.json("migration", "deploy", "replica", "--wait", "--skip-os-morphing", "--destination-environment",
                "{\"instance_name\": \"vm1-deployed\"}", "--user-script-global", "linux=" + globalScript, replica);
        assertThat(deployed.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(deployed.path("user_scripts").path("global").path("linux").asText()).isEqualTo(Files.readString(globalScript));
        assertThat(deployed.path("user_scripts").path("instances").isEmpty()).isTrue();
        // Gone again: the other tests count the project's replicas.
        admin.ok("replica", "disks", "delete", "--wait", replica);
        admin.ok("replica", "delete", replica);

        // The options lists: qemu-host has no source options and boots no minions, so its lists are empty.
        assertThat(admin.json("endpoint", "source", "options", "list", "src3")).isEmpty();
        assertThat(admin.json("endpoint", "source", "minion", "pool", "options", "list", "src3")).isEmpty();
        assertThat(admin.value("endpoint", "destination", "options", "list", "dst3", "--environment-file", environment.toString(),
                "--options", "disk_format", "-c", "Possible Values")).isEqualTo("[\"raw\",\"qcow2\"]");
        admin.run("endpoint", "destination", "options", "list", "dst3", "--environment", "{}", "--environment-file", environment.toString())
                .failsWith(1, "--environment and --environment-file are mutually exclusive");
        assertThat(admin.ok("endpoint", "storage", "list", "dst3", "--environment-file", environment.toString()).out()).contains("qcow2");
        assertThat(admin.value("endpoint", "network", "list", "src3", "--environment", "{}", "-c", "ID")).isEqualTo("default");
        admin.run("endpoint", "network", "list", "src3", "--environment", "[]").failsWith(1, "--environment must be a JSON object");
        Path poolOptionsFile = Files.writeString(dir.resolve("pool.json"), "{\"image_id\": \"minion-image\"}");
        String filed = admin.value("minion", "pool", "create", "filed", "--endpoint-id", "dst3", "--platform", "destination", "--skip-allocation",
                "--environment-options-file", poolOptionsFile.toString(), "-c", "id");
        assertThat(admin.json("minion", "pool", "show", filed).path("environment_options").path("image_id").asText()).isEqualTo("minion-image");
        Files.writeString(poolOptionsFile, "{\"image_id\": \"other-image\"}");
        assertThat(admin.json("minion", "pool", "update", "--environment-options-file", poolOptionsFile.toString(), filed)
                .path("environment_options").path("image_id").asText()).isEqualTo("other-image");
        admin.run("minion", "pool", "update", "--environment-options", "{}", "--environment-options-file", poolOptionsFile.toString(), filed)
                .failsWith(1, "--environment-options and --environment-options-file are mutually exclusive");
        admin.ok("minion", "pool", "delete", filed);
        // A strata endpoint (this cloud itself) boots minions from an image and a flavor.
        admin.ok("endpoint", "create", "--name", "self", "--provider", "strata", "--connection", """
                {"auth_url": "%s/identity/v3", "username": "admin", "password": "%s", "project_name": "admin",
                 "user_domain_name": "Default", "project_domain_name": "Default"}""".formatted(cloud.baseUrl(), TestCloud.ADMIN_PASSWORD));
        JsonNode poolOptions = admin.json("endpoint", "destination", "minion", "pool", "options", "list", "self");
        assertThat(poolOptions).extracting(o -> o.path("Option Name").asText()).containsExactly("image_id", "flavor_name");
        assertThat(admin.json("endpoint", "source", "minion", "pool", "options", "list", "self", "--options", "flavor_name"))
                .extracting(o -> o.path("Option Name").asText()).containsExactly("flavor_name");
        String flavors = admin.value("endpoint", "source", "minion", "pool", "options", "list", "self", "--options", "flavor_name",
                "-c", "Possible Values");
        assertThat(flavors).contains("\"m1.tiny\"").contains("\"m1.small\"");
    }

    private static String[] concat(String[] first, String... more) {
        String[] all = java.util.Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }
}
