package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.TestCloud;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Server, flavor, keypair, hypervisor and compute service commands against a real cloud (fake hypervisor). */
class ComputeCommandsTest {
    private static TestCloud cloud;
    private static StrataCli admin;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        cloud = TestCloud.start();
        admin = StrataCli.admin(cloud);
        Path disk = Files.createTempFile("cirros", ".img");
        Files.write(disk, new byte[64 * 1024]);
        admin.ok("image", "create", "--file", disk.toString(), "--disk-format", "raw", "cirros");
        Files.delete(disk);
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void serverLifecycleWithWait() {
        StrataCli.Run created = admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--property", "role=web",
                "--description", "first", "--wait", "vm1", "-f", "json");
        JsonNode server = created.json();
        String id = server.path("id").asText();
        assertThat(server.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(server.path("adminPass").asText()).isNotBlank();
        assertThat(server.path("image").asText()).isEqualTo("cirros (" + admin.value("image", "show", "cirros", "-c", "id") + ")");
        assertThat(server.path("flavor").path("original_name").asText()).isEqualTo("m1.tiny");
        assertThat(server.path("properties").path("role").asText()).isEqualTo("web");
        assertThat(server.path("addresses").path("default").get(0).asText()).startsWith("10.0.0.");
        // Not a terminal: no spinner, just the final line.
        assertThat(created.err()).matches("Server vm1 is ACTIVE \\(\\d+\\.\\d s\\)\n");

        assertThat(admin.value("server", "list", "-c", "Name", "-c", "Status", "-c", "Image", "-c", "Flavor"))
                .isEqualTo("vm1 ACTIVE cirros m1.tiny");
        assertThat(admin.ok("server", "list").out()).contains("| " + id + " | vm1  | ACTIVE | default=10.0.0.");
        assertThat(admin.json("server", "list", "--long").get(0).path("Power State").asInt()).isEqualTo(1);
        assertThat(admin.value("server", "show", id, "-c", "name")).isEqualTo("vm1");
        assertThat(admin.value("server", "show", "vm1", "-c", "OS-EXT-STS:power_state")).isEqualTo("1");
        assertThat(admin.ok("server", "show", "vm1").out()).contains("| OS-EXT-STS:power_state              | Running");

        admin.ok("server", "stop", "--wait", "vm1");
        assertThat(admin.value("server", "show", "vm1", "-c", "status")).isEqualTo("SHUTOFF");
        admin.ok("server", "start", "--wait", "vm1");
        admin.ok("server", "pause", "--wait", "vm1");
        assertThat(admin.value("server", "show", "vm1", "-c", "status")).isEqualTo("PAUSED");
        admin.ok("server", "unpause", "--wait", "vm1");
        admin.ok("server", "suspend", "--wait", "vm1");
        assertThat(admin.value("server", "show", "vm1", "-c", "status")).isEqualTo("SUSPENDED");
        admin.ok("server", "resume", "--wait", "vm1");
        StrataCli.Run reboot = admin.ok("server", "reboot", "--hard", "--wait", "vm1");
        assertThat(reboot.err()).startsWith("Server vm1 is ACTIVE");
        assertThat(admin.value("server", "show", "vm1", "-c", "status", "-c", "OS-EXT-STS:task_state")).isEqualTo("None\nACTIVE");

        assertThat(admin.ok("console", "log", "show", "--lines", "2", "vm1").lines()).hasSize(2);
        assertThat(admin.ok("server", "console", "log", "show", "vm1").out()).contains("Linux version");

        admin.ok("server", "set", "--name", "vm1b", "--property", "tier=gold", "--description", "renamed", "vm1");
        JsonNode changed = admin.json("server", "show", "vm1b");
        assertThat(changed.path("description").asText()).isEqualTo("renamed");
        assertThat(changed.path("properties").path("tier").asText()).isEqualTo("gold");

        JsonNode snapshot = admin.json("server", "image", "create", "--name", "vm1-snap", "--wait", "vm1b");
        assertThat(snapshot.path("status").asText()).isEqualTo("active");
        assertThat(admin.value("image", "list", "--name", "vm1-snap", "-c", "Status")).isEqualTo("active");

        StrataCli.Run deleted = admin.ok("server", "delete", "--wait", "vm1b");
        assertThat(deleted.err()).startsWith("Server vm1b is deleted (");
        admin.run("server", "show", "vm1b").failsWith(1, "No server with a name or ID of 'vm1b' exists.");
        admin.run("server", "show", id).failsWith(1, "No server with a name or ID of '" + id + "' exists.");
    }

    @Test
    void aServerThatGoesToErrorFailsTheWaitWithItsFault() {
        admin.ok("flavor", "create", "--ram", "100000000", "--disk", "1", "enormous");
        StrataCli.Run run = admin.run("server", "create", "--flavor", "enormous", "--image", "cirros", "--wait", "too-big");
        run.failsWith(1, "Server too-big went to ERROR: No valid host was found");
        assertThat(run.out()).isEmpty();
        assertThat(admin.value("server", "show", "too-big", "-c", "status")).isEqualTo("ERROR");
        admin.ok("server", "delete", "--wait", "too-big");
        admin.ok("flavor", "delete", "enormous");
    }

    @Test
    void serversJoinTheNetworkNamedOrGivenById() {
        String networkId = admin.value("network", "show", "default", "-c", "id");
        assertThat(networkId).matches("[0-9a-f-]{36}");
        assertThat(admin.ok("network", "list").out()).contains("| " + networkId + " | default |");
        assertThat(admin.value("network", "show", networkId, "-c", "admin_state_up", "-c", "shared")).isEqualTo("UP\nTrue");
        String subnet = admin.value("subnet", "list", "--network", "default", "-c", "Subnet");
        assertThat(subnet).isEqualTo("10.0.0.0/16");
        admin.run("network", "show", "elsewhere").failsWith(1, "No network with a name or ID of 'elsewhere' exists.");
        admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--network", "default", "--wait", "by-name");
        admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--nic", "net-id=" + networkId, "--wait", "by-id");
        assertThat(admin.value("server", "show", "by-name", "-c", "addresses")).startsWith("{'default': ['10.0.");
        assertThat(admin.value("server", "show", "by-id", "-c", "addresses")).startsWith("{'default': ['10.0.");
        admin.run("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--network", "elsewhere", "lost")
                .failsWith(1, "No network with a name or ID of 'elsewhere' exists.");
        assertThat(admin.value("server", "list", "--name", "^lost$", "-c", "ID")).isEmpty();
        admin.ok("server", "delete", "--wait", "by-name", "by-id");
    }

    @Test
    void namesThatAreNotUniqueAreAnError() {
        admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "twin");
        admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "twin");
        admin.run("server", "show", "twin").failsWith(1, "More than one server exists with the name 'twin'.");
        admin.run("server", "stop", "twin").failsWith(1, "More than one server exists with the name 'twin'.");
        for (String id : admin.value("server", "list", "--name", "^twin$", "-c", "ID").split("\n")) {
            admin.ok("server", "delete", "--wait", id);
        }
        admin.run("server", "delete", "nowhere").failsWith(1, "No server with a name or ID of 'nowhere' exists.");
        // A name that is a regular expression is still looked up literally.
        admin.run("server", "show", "tw.n").failsWith(1, "No server with a name or ID of 'tw.n' exists.");
    }

    @Test
    void flavors() {
        JsonNode created = admin.json("flavor", "create", "--ram", "128", "--disk", "2", "--vcpus", "2", "--property", "hw:cpu_policy=dedicated",
                "small.test");
        assertThat(created.path("ram").asInt()).isEqualTo(128);
        assertThat(created.path("properties").path("hw:cpu_policy").asText()).isEqualTo("dedicated");
        assertThat(created.path("os-flavor-access:is_public").asBoolean()).isTrue();
        assertThat(admin.ok("flavor", "show", "small.test").out()).containsPattern("\\| properties +\\| hw:cpu_policy='dedicated' +\\|");
        admin.ok("flavor", "set", "--no-property", "--property", "quota:cpu_shares=512", "small.test");
        assertThat(admin.value("flavor", "show", created.path("id").asText(), "-c", "properties")).isEqualTo("{'quota:cpu_shares': '512'}");
        assertThat(admin.ok("flavor", "list", "--long", "-f", "value", "-c", "Name", "-c", "Properties").lines())
                .contains("small.test {'quota:cpu_shares': '512'}");
        assertThat(admin.ok("flavor", "list").out()).containsPattern("\\| +128 \\|");

        admin.ok("project", "create", "flavor-users");
        JsonNode secret = admin.json("flavor", "create", "--private", "--project", "flavor-users", "secret.test");
        assertThat(secret.path("access_project_ids")).hasSize(1);
        assertThat(admin.value("flavor", "list", "-c", "Name")).doesNotContain("secret.test");
        assertThat(admin.value("flavor", "list", "--all", "-c", "Name")).contains("secret.test");
        admin.ok("flavor", "delete", "small.test", "secret.test");
        StrataCli.Run missing = admin.run("flavor", "delete", "m1.nothing", "m1.none");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err().lines().toList()).containsExactly("strata: No flavor with a name or ID of 'm1.nothing' exists.",
                "strata: No flavor with a name or ID of 'm1.none' exists.", "strata: Failed to delete 2 of 2 flavors.");
        admin.run("flavor", "create", "--ram", "0", "bad").failsWith(1, "(HTTP 400)");
    }

    @Test
    void keypairs() throws Exception {
        String privateKey = admin.ok("keypair", "create", "generated").out();
        assertThat(privateKey).contains("PRIVATE KEY");
        Path saved = dir.resolve("k2.pem");
        JsonNode shown = admin.json("keypair", "create", "--private-key", saved.toString(), "saved");
        assertThat(shown.path("name").asText()).isEqualTo("saved");
        assertThat(shown.has("private_key")).isFalse();
        assertThat(Files.readString(saved)).contains("PRIVATE KEY");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(saved))).isEqualTo("rw-------");

        Path publicKey = dir.resolve("id.pub");
        Files.writeString(publicKey, admin.ok("keypair", "show", "--public-key", "generated").out());
        JsonNode imported = admin.json("keypair", "create", "--public-key", publicKey.toString(), "imported");
        assertThat(imported.path("fingerprint").asText()).isEqualTo(admin.value("keypair", "show", "generated", "-c", "fingerprint"));
        assertThat(admin.value("keypair", "list", "-c", "Name")).contains("generated", "imported", "saved");
        assertThat(admin.json("keypair", "show", "imported").path("private_key").isNull()).isTrue();

        admin.ok("keypair", "delete", "generated", "imported", "saved");
        admin.run("keypair", "show", "generated").failsWith(1, "No keypair with a name or ID of 'generated' exists.");
        admin.run("keypair", "create", "--public-key", dir.resolve("missing.pub").toString(), "x").failsWith(1, "missing.pub not found");
    }

    @Test
    void hypervisorsAndComputeServices() {
        JsonNode hypervisors = admin.json("hypervisor", "list", "--long");
        assertThat(hypervisors).hasSize(1);
        String host = hypervisors.get(0).path("Hypervisor Hostname").asText();
        assertThat(hypervisors.get(0).path("Hypervisor Type").asText()).isEqualTo("fake");
        JsonNode shown = admin.json("hypervisor", "show", host);
        assertThat(shown.path("service_host").asText()).isEqualTo(host);
        assertThat(shown.path("aggregates").isArray()).isTrue();
        assertThat(admin.value("hypervisor", "show", hypervisors.get(0).path("ID").asText(), "-c", "hypervisor_hostname")).isEqualTo(host);
        assertThat(admin.json("hypervisor", "stats", "show").path("count").asInt()).isEqualTo(1);
        admin.run("hypervisor", "show", "nohost").failsWith(1, "No hypervisor with a name or ID of 'nohost' exists.");

        admin.ok("compute", "service", "set", "--disable", "--disable-reason", "maintenance", host, "nova-compute");
        assertThat(admin.value("compute", "service", "list", "--long", "-c", "Status", "-c", "Disabled Reason"))
                .isEqualTo("disabled maintenance");
        admin.ok("compute", "service", "set", "--enable", host, "nova-compute");
        assertThat(admin.value("compute", "service", "list", "--service", "nova-compute", "-c", "Status")).isEqualTo("enabled");
        admin.run("compute", "service", "set", "--disable-reason", "x", host, "nova-compute")
                .failsWith(1, "Cannot specify option --disable-reason without --disable specified.");
        admin.run("compute", "service", "set", "--enable", "--disable", host, "nova-compute").failsWith(2, "mutually exclusive");
    }

    @Test
    void statusReportsEachPartAndFailsWhenAnAgentIsDown() {
        JsonNode rows = admin.json("status");
        assertThat(rows).extracting(r -> r.path("Component").asText()).startsWith("api", "store", "image service", "coordinator");
        assertThat(rows).extracting(r -> r.path("State").asText()).containsOnly("up");
        assertThat(rows.get(3).path("Detail").asText()).isEqualTo("in-process (all-in-one)");
        String host = rows.get(4).path("Component").asText().substring("agent ".length());

        forceDown(host, true);
        StrataCli.Run down = admin.run("status", "-f", "value");
        assertThat(down.exit()).isEqualTo(1);
        assertThat(down.out()).contains("agent " + host + " down");
        forceDown(host, false);
        assertThat(admin.run("status").exit()).isZero();
    }

    private static void forceDown(String host, boolean down) {
        cloud.admin().withHeader("OpenStack-API-Version", "compute 2.11").put("/compute/v2.1/os-services/force-down",
                "{\"host\": \"" + host + "\", \"binary\": \"nova-compute\", \"forced_down\": " + down + "}").expect(200);
    }
}
