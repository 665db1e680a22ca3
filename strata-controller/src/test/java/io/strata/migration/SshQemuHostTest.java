package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.migration.host.HostAccess;
import io.strata.migration.host.SshHost;
import io.strata.store.TestDatabases;
import io.strata.testing.TestCloud;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * qemu-host endpoints whose directories are reached over SSH: a real sshd on loopback (temporary
 * host key, authorized client key) serves both the origin and the destination directory; a
 * replica of a raw and a qcow2 disk is executed, changed, executed again (only changed blocks
 * move) and deployed, all through SSH, and the copies equal the source by checksum.
 */
class SshQemuHostTest {
    private static final long DISK_SIZE = 16L << 20;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path dir;

    private static Sshd sshd;
    private static TestCloud cloud;
    private static MigrationClient admin;

    @BeforeAll
    static void start() {
        sshd = Sshd.start(dir);
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withOsMorphingImage(io.strata.testing.TestGuest.dir()));
        admin = new MigrationClient(cloud.admin());
    }

    @AfterAll
    static void stop() {
        if (cloud != null) {
            cloud.close();
        }
        if (sshd != null) {
            sshd.close();
        }
    }

    private static ObjectNode ssh(Path path) {
        ObjectNode connection = MAPPER.createObjectNode();
        connection.put("path", path.toString());
        connection.put("host", "127.0.0.1");
        connection.put("port", sshd.port);
        connection.put("username", sshd.user);
        connection.put("private_key", sshd.clientKey);
        return connection;
    }

    private static ObjectNode compressed(ObjectNode connection) {
        connection.put("compression", true);
        return connection;
    }

    private static String endpoint(String name, ObjectNode connection) {
        ObjectNode body = MAPPER.createObjectNode();
        ObjectNode endpoint = body.putObject("endpoint");
        endpoint.put("name", name);
        endpoint.put("type", "qemu-host");
        endpoint.set("connection_info", connection);
        return admin.post("/endpoints", body.toString()).expect(200).json().at("/endpoint/id").asText();
    }

    private static JsonNode validate(String endpoint) {
        return admin.post("/endpoints/" + endpoint + "/actions", "{\"validate-connection\": null}").expect(200).json().get("validate-connection");
    }

    @Test
    void aReplicaMovesDisksThroughSshAndDeploys() throws Exception {
        Path source = Files.createDirectories(dir.resolve("origin"));
        Path destination = Files.createDirectories(dir.resolve("destination"));
        Path raw = HostDirs.sparseDisk(source.resolve("vm1/disk.raw"), DISK_SIZE, 1, 0, 1, 7, 100, 255);
        Path qcow2Data = HostDirs.sparseDisk(dir.resolve("data.raw"), DISK_SIZE, 5, 3, 50);
        qemuImg("convert", "-f", "raw", "-O", "qcow2", qcow2Data.toString(), source.resolve("vm1/data.qcow2").toString());
        HostDirs.descriptor(source.resolve("vm1"), "{\"num_cpu\": 2, \"memory_mb\": 1024, \"user_data\": \"#cloud-config\\nhostname: vm1\\n\"}");

        // The origin pins the sshd's host key; the destination trusts the first key it sees.
        ObjectNode originConnection = ssh(source);
        originConnection.put("host_key", sshd.hostKey);
        String origin = endpoint("origin", originConnection);
        // The destination's connection asks for compression (what a slow link would use): it applies to what the host sends.
        ObjectNode destinationConnection = ssh(destination);
        destinationConnection.put("compression", true);
        String target = endpoint("destination", destinationConnection);
        assertThat(validate(origin).get("valid").asBoolean()).as(validate(origin).toString()).isTrue();
        assertThat(validate(target).get("valid").asBoolean()).isTrue();
        JsonNode instances = admin.get("/endpoints/" + origin + "/instances").expect(200).json().get("instances");
        assertThat(instances).extracting(i -> i.get("name").asText()).containsExactly("vm1");

        String replica = admin.replica(origin, target, "vm1");
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        JsonNode info = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1");
        Path dataVolume = Path.of(info.at("/volumes_info/0/path").asText());
        Path rawVolume = Path.of(info.at("/volumes_info/1/path").asText());
        assertThat(rawVolume.toString()).startsWith(destination.toString()).endsWith("disk.raw.raw");
        assertThat(HostDirs.checksum(rawVolume, DISK_SIZE)).isEqualTo(HostDirs.checksum(raw, DISK_SIZE));
        assertThat(HostDirs.checksum(dataVolume, DISK_SIZE)).isEqualTo(HostDirs.checksum(qcow2Data, DISK_SIZE));
        assertThat(info.at("/replication_stats/1/blocks_sent").asInt()).isEqualTo(5);
        // The qcow2 disk was read through a qemu-storage-daemon on its host, whose sockets are gone again,
        // as is the reader that sent its NBD reads compressed.
        try (var left = Files.list(source.resolve(".strata-scratch"))) {
            assertThat(left).isEmpty();
        }
        assertScratchEmpty(source);

        HostDirs.overwriteBlocks(raw, 2, 7, 30, 200);
        // The qcow2 disk is written through QEMU's block layer: its persistent dirty bitmap records the two blocks.
        Path qcow2 = source.resolve("vm1/data.qcow2");
        HostDirs.qemuIoWrite(qcow2, 0x21, 4, 50);
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
        JsonNode stats = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/replication_stats/1");
        assertThat(stats.get("incremental").asBoolean()).isTrue();
        assertThat(stats.get("blocks_sent").asInt()).isEqualTo(3);
        assertThat(HostDirs.checksum(rawVolume, DISK_SIZE)).isEqualTo(HostDirs.checksum(raw, DISK_SIZE));
        // Read through qemu-storage-daemon's NBD export on the SSH host, tunnelled: only the dirty clusters.
        JsonNode qcow2Stats = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/replication_stats/0");
        assertThat(qcow2Stats.get("incremental").asBoolean()).isTrue();
        assertThat(qcow2Stats.get("bytes_read").asLong()).isEqualTo(2L * HostDirs.BLOCK);
        assertThat(qcow2Stats.get("blocks_sent").asInt()).isEqualTo(2);
        assertThat(HostDirs.checksum(dataVolume, DISK_SIZE)).isEqualTo(HostDirs.qcow2Checksum(qcow2, DISK_SIZE));
        try (var left = Files.list(source.resolve(".strata-scratch"))) {
            assertThat(left).isEmpty();
        }

        // OS morphing reaches the volumes on the SSH host through tunnelled NBD exports; these
        // test disks hold no operating system, which it finds and says, leaving nothing exported.
        String morphing = admin.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica + "\", \"clone_disks\": true}}")
                .expect(200).json().at("/migration/id").asText();
        JsonNode refused = admin.awaitMigration(morphing);
        assertThat(refused.get("status").asText()).isEqualTo("ERROR");
        assertThat(refused.at("/tasks/0/task_type").asText()).isEqualTo("OS_MORPHING");
        assertThat(refused.at("/tasks/0/exception_details").asText()).contains("no Linux root filesystem").contains("vda").contains("vdb");
        assertThat(destination.resolve("vm1")).doesNotExist();
        try (var tmp = Files.list(Path.of("/tmp"))) {
            assertThat(tmp.filter(d -> d.getFileName().toString().startsWith("strata-nbd."))).isEmpty();
        }

        String deployment = admin.post("/migrations", "{\"migration\": {\"replica_id\": \"" + replica + "\", \"clone_disks\": true, \"skip_os_morphing\": true}}")
                .expect(200).json().at("/migration/id").asText();
        JsonNode deployed = admin.awaitMigration(deployment);
        assertThat(deployed.get("status").asText()).as(deployed.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(HostDirs.checksum(destination.resolve("vm1/disk.raw"), DISK_SIZE)).isEqualTo(HostDirs.checksum(raw, DISK_SIZE));
        assertThat(Files.readString(destination.resolve("vm1/instance.json"))).contains("hostname: vm1").contains("\"num_cpu\" : 2");

        JsonNode deleteDisks = admin.post("/replicas/" + replica + "/actions", "{\"delete-disks\": null}").expect(200).json().get("execution");
        MigrationClient.assertCompleted(admin.awaitExecution(replica, deleteDisks.get("id").asText()));
        assertThat(rawVolume).doesNotExist();
        assertThat(dataVolume).doesNotExist();
    }

    /**
     * A guest running on the SSH host is read live, as a local one is: its QMP socket and the NBD
     * export of the fleecing node are reached through SSH forwarding, the second execution reads
     * only what the dirty bitmap marks, and nothing is left exported, forwarded or in the scratch
     * directory. A migration then copies it live, stops it with QMP quit through the tunnel and
     * copies the rest.
     */
    @Test
    void aRunningGuestOnTheSshHostIsReadLive() throws Exception {
        long size = 32L << 20;
        Path source = Files.createDirectories(dir.resolve("live-origin"));
        Path destination = Files.createDirectories(dir.resolve("live-destination"));
        try (RunningQemu qemu = RunningQemu.start(source.resolve("vm2"), size, dir.resolve("guest-qmp.sock"))) {
            // The origin's connection is compressed: what it reads comes inflated by our ZlibCompression.
            String origin = endpoint("live-origin", compressed(ssh(source)));
            String target = endpoint("live-destination", ssh(destination));
            assertThat(admin.get("/endpoints/" + origin + "/instances/vm2").expect(200).json().at("/instance/running").asBoolean()).isTrue();

            String replica = admin.replica(origin, target, "vm2");
            MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
            JsonNode info = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm2");
            Path volume = Path.of(info.at("/volumes_info/0/path").asText());
            JsonNode first = info.at("/replication_stats/0");
            assertThat(first.get("incremental").asBoolean()).isFalse();
            // Read over NBD from the guest's QEMU: only its allocated data, 1 MiB + 256 KiB of the 32 MiB.
            assertThat(first.get("bytes_read").asLong()).isEqualTo((1L << 20) + (256L << 10));
            assertThat(HostDirs.checksum(volume, size)).isEqualTo(qemu.checksum());
            qemu.assertNothingLeft(1);
            assertScratchEmpty(source);

            qemu.guestWrite(0x55, 2L * HostDirs.BLOCK, HostDirs.BLOCK);
            qemu.guestWrite(0x66, 300L * HostDirs.BLOCK, 2 * HostDirs.BLOCK);
            MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
            JsonNode second = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm2/replication_stats/0");
            assertThat(second.get("incremental").asBoolean()).isTrue();
            assertThat(second.get("blocks_sent").asInt()).isEqualTo(3);
            assertThat(second.get("bytes_read").asLong()).isEqualTo(3L * HostDirs.BLOCK);
            assertThat(HostDirs.checksum(volume, size)).isEqualTo(qemu.checksum());
            qemu.assertNothingLeft(1);
            assertScratchEmpty(source);

            qemu.guestWrite(0x77, 5L * HostDirs.BLOCK, HostDirs.BLOCK);
            String migration = admin.post("/migrations", """
                    {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm2"], "shutdown_instances": true,
                     "skip_os_morphing": true}}
                    """.formatted(origin, target)).expect(200).json().at("/migration/id").asText();
            JsonNode done = admin.awaitMigration(migration);
            assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("COMPLETED");
            // Stopped through its QMP socket on the SSH host (it has no pid file).
            assertThat(qemu.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(source.resolve("vm2/qmp.sock")).doesNotExist();
            assertThat(HostDirs.qcow2Checksum(destination.resolve("vm2/disk.qcow2"), size)).isEqualTo(qemu.checksum());
            assertScratchEmpty(source);
        }
    }

    /**
     * A live read over SSH that fails while opening, and one cancelled mid-copy, leave nothing
     * behind: no export, job or fleecing node in QEMU, the monitor free (the QMP tunnel is
     * closed), an empty scratch directory. The next execution copies the whole disk as it was at
     * its start although the guest writes meanwhile, and the one after brings that write.
     */
    @Test
    void aFailedOrCancelledLiveReadOverSshLeavesNothingBehind() throws Exception {
        // Large enough that the copy through the SSH tunnel is still running when the test cancels it.
        long size = 384L << 20;
        Path source = Files.createDirectories(dir.resolve("cancel-origin"));
        Path destination = Files.createDirectories(dir.resolve("cancel-destination"));
        Path random = HostDirs.randomDisk(dir.resolve("cancel-source.raw"), size, 11);
        Path disk = Files.createDirectories(source.resolve("big")).resolve("disk.qcow2");
        qemuImg("convert", "-f", "raw", "-O", "qcow2", random.toString(), disk.toString());
        Files.delete(random);
        try (RunningQemu qemu = RunningQemu.onDisk(disk, size, dir.resolve("cancel-guest-qmp.sock"))) {
            String origin = endpoint("cancel-origin", compressed(ssh(source)));
            String target = endpoint("cancel-destination", ssh(destination));
            String replica = admin.replica(origin, target, "big");

            // The scratch directory cannot be made (a file is in the way): the open fails after QMP was reached.
            Files.writeString(source.resolve(".strata-scratch"), "in the way");
            JsonNode failed = admin.awaitExecution(replica, admin.execute(replica));
            assertThat(failed.get("status").asText()).isEqualTo("ERROR");
            qemu.assertNothingLeft(0);
            Files.delete(source.resolve(".strata-scratch"));

            String execution = admin.execute(replica);
            admin.awaitReplicationProgress(() -> admin.execution(replica, execution).get("tasks"));
            // compress_reads is on by default: the guest's disk is read by one reader on the host, which the cancel must end.
            assertThat(HostDirs.pythonScriptsOn(source)).hasSize(1);
            admin.post("/replicas/" + replica + "/executions/" + execution + "/actions", "{\"cancel\": {\"force\": true}}").expect(204);
            assertThat(admin.awaitExecution(replica, execution).get("status").asText()).isEqualTo("CANCELED");
            // The failed first execution's bitmap went too: the next one reads everything.
            qemu.assertNothingLeft(0);
            assertScratchEmpty(source);

            // The guest writes the disk's last block (read last) while the full copy runs: the copy
            // is the disk as at its start, and the next execution brings the write.
            String atStart = qemu.checksum();
            String full = admin.execute(replica);
            admin.awaitReplicationProgress(() -> admin.execution(replica, full).get("tasks"));
            qemu.guestWrite(0x5a, size - HostDirs.BLOCK, HostDirs.BLOCK);
            assertThat(admin.execution(replica, full).get("status").asText()).as("the write came while the copy ran").isEqualTo("RUNNING");
            MigrationClient.assertCompleted(admin.awaitExecution(replica, full));
            JsonNode info = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/big");
            Path volume = Path.of(info.at("/volumes_info/0/path").asText());
            assertThat(HostDirs.checksum(volume, size)).isEqualTo(atStart);
            qemu.assertNothingLeft(1);
            assertScratchEmpty(source);

            MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));
            JsonNode next = admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/big/replication_stats/0");
            assertThat(next.get("incremental").asBoolean()).isTrue();
            assertThat(next.get("blocks_sent").asInt()).isEqualTo(1);
            assertThat(HostDirs.checksum(volume, size)).isEqualTo(qemu.checksum()).isNotEqualTo(atStart);
            qemu.assertNothingLeft(1);
            assertScratchEmpty(source);
        }
    }

    /**
     * A socket of the SSH host forwarded to this process: a Unix socket in a directory only this
     * user can enter, carrying bytes both ways at once (an echo server there), and gone with its tunnel.
     */
    @Test
    void aForwardedSocketIsPrivateAndGoesWithItsTunnel() throws Exception {
        Path remote = dir.resolve("echo.sock");
        try (ServerSocketChannel echo = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            echo.bind(UnixDomainSocketAddress.of(remote));
            Thread.ofVirtual().start(() -> {
                try (SocketChannel connection = echo.accept()) {
                    ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
                    while (connection.read(buffer) > 0) {
                        buffer.flip();
                        while (buffer.hasRemaining()) {
                            connection.write(buffer);
                        }
                        buffer.clear();
                    }
                } catch (IOException e) {
                    // The test ended the connection.
                }
            });
            SshHost.Login login = new SshHost.Login("127.0.0.1", sshd.port, sshd.user, null, sshd.clientKey, null, sshd.hostKey, false, true, true);
            try (SshHost host = SshHost.connect(login)) {
                HostAccess.Tunnel tunnel = host.reach(remote);
                Path local = ((UnixDomainSocketAddress) tunnel.address()).getPath();
                assertThat(Files.getPosixFilePermissions(local.getParent())).containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ,
                        PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
                byte[] sent = new byte[4 << 20];
                new java.util.SplittableRandom(3).nextBytes(sent);
                try (SocketChannel client = SocketChannel.open(tunnel.address())) {
                    // Read back while writing: more than the SSH window is in flight each way.
                    CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> {
                        ByteBuffer received = ByteBuffer.allocate(sent.length);
                        try {
                            while (received.hasRemaining() && client.read(received) > 0) {
                                // Until everything came back.
                            }
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        return received.array();
                    });
                    ByteBuffer out = ByteBuffer.wrap(sent);
                    while (out.hasRemaining()) {
                        client.write(out);
                    }
                    assertThat(echoed.get(60, TimeUnit.SECONDS)).isEqualTo(sent);
                }
                tunnel.close();
                assertThat(local.getParent()).doesNotExist();
            }
        }
    }

    private static void assertScratchEmpty(Path root) throws IOException {
        // No host-side NBD reader (compressed reads are on by default) outlives its execution.
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> HostDirs.pythonScriptsOn(root).isEmpty());
        Path scratch = root.resolve(".strata-scratch");
        if (Files.exists(scratch)) {
            try (var left = Files.list(scratch)) {
                assertThat(left.toList()).isEmpty();
            }
        }
    }

    @Test
    void wrongCredentialsAndHostKeysAreExplained() {
        Path path = dir;
        ObjectNode otherKey = ssh(path);
        // A different ed25519 key than the server's: the login must be refused.
        otherKey.put("host_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ");
        JsonNode pinned = validate(endpoint("wrong-host-key", otherKey));
        assertThat(pinned.get("valid").asBoolean()).isFalse();
        assertThat(pinned.get("message").asText()).contains("cannot log in to " + sshd.user + "@127.0.0.1:" + sshd.port);

        ObjectNode password = ssh(path);
        password.remove("private_key");
        password.put("password", "not-the-password");
        JsonNode refused = validate(endpoint("wrong-password", password));
        assertThat(refused.get("valid").asBoolean()).isFalse();
        assertThat(refused.get("message").asText()).contains("Auth fail").doesNotContain("not-the-password");

        ObjectNode missing = ssh(path.resolve("nowhere"));
        JsonNode notThere = validate(endpoint("missing-dir", missing));
        assertThat(notThere.get("message").asText()).contains("is not a directory on " + sshd.user + "@127.0.0.1");

        ObjectNode noCredentials = ssh(path);
        noCredentials.remove("private_key");
        assertThat(validate(endpoint("no-credentials", noCredentials)).get("message").asText()).contains("'password' or a 'private_key'");
    }

    private static void qemuImg(String... args) throws IOException, InterruptedException {
        String[] command = new String[args.length + 1];
        command[0] = "qemu-img";
        System.arraycopy(args, 0, command, 1, args.length);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
    }
}
