package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.TestCloud;
import io.strata.testing.TestGuest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * OS morphing with real components: a Debian-like root filesystem made by mkfs.ext4 from a
 * directory tree (behind an MBR partition table, or as a whole-disk filesystem), the instance of a
 * qemu-host endpoint, migrated to another qemu-host directory on this worker; the OS_MORPHING task
 * boots the test guest's kernel and initramfs as its appliance (TCG when there is no KVM), and the
 * destination disk is read afterwards with debugfs.
 */
class OsMorphingTest {
    private static final long DISK_SIZE = 64L << 20;
    private static final long PARTITION_OFFSET = 1L << 20;
    private static final String STATIC_INTERFACES = """
            auto lo
            iface lo inet loopback

            allow-hotplug eth0
            iface eth0 inet static
                address 192.168.10.5/24
                gateway 192.168.10.1
            """;

    private static TestCloud cloud;
    private static MigrationClient admin;
    private Path source;
    private Path destination;
    private Path work;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start(TestDatabases.Kind.H2, config -> config.withOsMorphingImage(TestGuest.dir()));
        admin = new MigrationClient(cloud.admin());
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @BeforeEach
    void dirs() throws IOException {
        source = Files.createTempDirectory("morph-src-");
        destination = Files.createTempDirectory("morph-dst-");
        work = Files.createTempDirectory("morph-work-");
    }

    @AfterEach
    void cleanDirs() throws IOException {
        for (Path dir : List.of(source, destination, work)) {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aDebianRootBehindAPartitionTableIsMorphedBeforeDeployment() throws IOException {
        Path disk = partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());
        String sourceSum = HostDirs.checksum(disk, DISK_SIZE);

        JsonNode done = admin.awaitMigration(migrate("vm1", false));

        MigrationClient.assertCompleted(done);
        assertThat(taskTypes(done)).containsSubsequence("REPLICATE_DISKS", "OS_MORPHING", "DEPLOY_INSTANCE_RESOURCES");
        JsonNode morphing = task(done, "OS_MORPHING");
        assertThat(messages(morphing)).anySatisfy(m -> assertThat(m).contains("vda: partition table with 1 partition(s)")
                        .contains("vda1: ext4 with /etc/os-release"))
                .anySatisfy(m -> assertThat(m).contains("Detected Debian GNU/Linux 12 (bookworm) (ID=debian)").contains("on vda1 (ext4)"))
                .anySatisfy(m -> assertThat(m).isEqualTo("Changed: removed /etc/udev/rules.d/70-persistent-net.rules"))
                .anySatisfy(m -> assertThat(m).startsWith("Changed: rewrote /etc/network/interfaces: eth0 by DHCP"))
                .anySatisfy(m -> assertThat(m).startsWith("Changed: disabled open-vm-tools"));
        assertThat(done.at("/info/vm1/os_morphing_info/os_id").asText()).isEqualTo("debian");
        assertThat(done.at("/info/vm1/os_morphing_info/changes")).hasSize(3);

        String deployed = destination.resolve("vm1/disk.raw").toString() + "?offset=" + PARTITION_OFFSET;
        assertThat(debugfs(deployed, "cat /etc/network/interfaces")).contains("iface eth0 inet dhcp").doesNotContain("static");
        assertThat(debugfs(deployed, "cat /etc/network/interfaces.strata.bak")).isEqualTo(STATIC_INTERFACES);
        assertThat(debugfs(deployed, "stat /etc/udev/rules.d/70-persistent-net.rules")).contains("File not found");
        assertThat(debugfs(deployed, "stat /etc/systemd/system/multi-user.target.wants/open-vm-tools.service")).contains("File not found");
        assertThat(debugfs(deployed, "stat /etc/systemd/system/multi-user.target.wants/ssh.service")).contains("Type: symlink");
        assertThat(debugfs(deployed, "cat /etc/hostname")).isEqualTo("vm1\n");
        // The filesystem the appliance wrote is clean, and the source was only read.
        assertThat(fsck(destination.resolve("vm1/disk.raw"), PARTITION_OFFSET)).isEqualTo(0);
        assertThat(HostDirs.checksum(disk, DISK_SIZE)).isEqualTo(sourceSum);
    }

    /**
     * A qemu-host destination over SSH: the volume stays on its host, where qemu-nbd exports it;
     * the appliance on this worker attaches it through the SSH tunnel, and nothing is left behind.
     */
    @Test
    void aRootOnAnSshHostIsMorphedThroughATunnelledNbdExport() throws IOException {
        Path sshDir = Files.createTempDirectory("morph-sshd-");
        try (Sshd sshd = Sshd.start(sshDir)) {
            Path disk = partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());
            String origin = admin.qemuHostEndpoint("src-ssh", source);
            String target = admin.post("/endpoints", """
                    {"endpoint": {"name": "dst-ssh", "type": "qemu-host", "connection_info": {"path": "%s", "host": "127.0.0.1",
                     "port": %d, "username": "%s", "private_key": %s}}}
                    """.formatted(destination, sshd.port, sshd.user, io.strata.api.Json.MAPPER.writeValueAsString(sshd.clientKey)))
                    .expect(200).json().at("/endpoint/id").asText();
            Set<Path> exportsBefore = nbdExportDirs();
            String migration = admin.post("/migrations", """
                    {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"]}}
                    """.formatted(origin, target)).expect(200).json().at("/migration/id").asText();

            JsonNode done = admin.awaitMigration(migration);

            MigrationClient.assertCompleted(done);
            JsonNode morphing = task(done, "OS_MORPHING");
            assertThat(messages(morphing)).anySatisfy(m -> assertThat(m).startsWith("Exported ").endsWith(" from its host for OS morphing"))
                    .anySatisfy(m -> assertThat(m).contains("Detected Debian GNU/Linux 12 (bookworm) (ID=debian)").contains("on vda1 (ext4)"))
                    .anySatisfy(m -> assertThat(m).startsWith("Changed: rewrote /etc/network/interfaces: eth0 by DHCP"));
            String deployed = destination.resolve("vm1/disk.raw").toString() + "?offset=" + PARTITION_OFFSET;
            assertThat(debugfs(deployed, "cat /etc/network/interfaces")).contains("iface eth0 inet dhcp").doesNotContain("static");
            assertThat(debugfs(deployed, "stat /etc/udev/rules.d/70-persistent-net.rules")).contains("File not found");
            assertThat(fsck(destination.resolve("vm1/disk.raw"), PARTITION_OFFSET)).isEqualTo(0);
            // The export (qemu-nbd, its socket and directory) went with the morphing.
            assertThat(nbdExportDirs()).isEqualTo(exportsBefore);
            assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("qemu-nbd")
                    && p.info().commandLine().orElse("").contains(destination.toString()))).isEmpty();
        } finally {
            try (Stream<Path> paths = Files.walk(sshDir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static Set<Path> nbdExportDirs() throws IOException {
        try (Stream<Path> dirs = Files.list(Path.of("/tmp"))) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("strata-nbd.")).collect(java.util.stream.Collectors.toSet());
        }
    }

    /** A strata destination (this very cloud): the volume is morphed where it is staged, before its upload as an image. */
    @Test
    void aStagedVolumeIsMorphedBeforeItsUpload() throws IOException, InterruptedException {
        partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());
        String origin = admin.qemuHostEndpoint("src-staged", source);
        String target = admin.post("/endpoints", """
                {"endpoint": {"name": "self", "type": "strata", "connection_info": {"auth_url": "%s/identity/v3", "username": "admin",
                 "password": "%s", "project_name": "admin", "user_domain_name": "Default", "project_domain_name": "Default"}}}
                """.formatted(cloud.baseUrl(), TestCloud.ADMIN_PASSWORD)).expect(200).json().at("/endpoint/id").asText();
        String migration = admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"],
                 "destination_environment": {"instance_name": "vm1-staged"}}}
                """.formatted(origin, target)).expect(200).json().at("/migration/id").asText();

        JsonNode done = admin.awaitMigration(migration);

        MigrationClient.assertCompleted(done);
        assertThat(messages(task(done, "OS_MORPHING"))).anySatisfy(m -> assertThat(m).startsWith("Changed: rewrote /etc/network/interfaces"));
        Path qcow2 = work.resolve("uploaded.qcow2");
        Files.write(qcow2, cloud.admin().get("/image/v2/images/" + done.at("/transfer_result/vm1/image_id").asText() + "/file").expect(200).body());
        Path raw = work.resolve("uploaded.raw");
        run(List.of("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), raw.toString()), null);
        String uploaded = raw + "?offset=" + PARTITION_OFFSET;
        assertThat(debugfs(uploaded, "cat /etc/network/interfaces")).contains("iface eth0 inet dhcp");
        assertThat(debugfs(uploaded, "stat /etc/udev/rules.d/70-persistent-net.rules")).contains("File not found");
    }

    /**
     * Coriolis' user scripts: the instance's own script replaces the global Linux one, and runs in
     * the appliance after morphing with the guest's root mounted read-write as its first argument;
     * a script that fails fails the migration with its exit status and output.
     */
    @Test
    void theInstancesUserScriptRunsOnTheMountedRootAfterMorphing() throws IOException {
        partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());
        String origin = admin.qemuHostEndpoint("src-script", source);
        String target = admin.qemuHostEndpoint("dst-script", destination);
        String scripts = """
                {"global": {"linux": "#!/bin/sh\\necho global > $1/etc/from-global\\n"},
                 "instances": {"vm1": "echo \\"moved from $(cat $1/etc/hostname)\\" > $1/etc/motd\\necho wrote motd\\n"}}""";
        String migration = admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"], "user_scripts": %s}}
                """.formatted(origin, target, scripts)).expect(200).json().at("/migration/id").asText();

        JsonNode done = admin.awaitMigration(migration);

        MigrationClient.assertCompleted(done);
        assertThat(messages(task(done, "OS_MORPHING"))).contains("Running the user script on vda1", "User script: wrote motd",
                "The user script exited 0");
        assertThat(done.at("/info/vm1/os_morphing_info/user_script").asText()).isEqualTo("instance");
        String deployed = destination.resolve("vm1/disk.raw").toString() + "?offset=" + PARTITION_OFFSET;
        assertThat(debugfs(deployed, "cat /etc/motd")).isEqualTo("moved from vm1\n");
        assertThat(debugfs(deployed, "stat /etc/from-global")).contains("File not found");
        assertThat(debugfs(deployed, "cat /etc/network/interfaces")).contains("iface eth0 inet dhcp");
        assertThat(fsck(destination.resolve("vm1/disk.raw"), PARTITION_OFFSET)).isEqualTo(0);

        // The global Linux script where the instance has none; one that fails fails the migration.
        String failing = admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["vm1"],
                 "destination_environment": {"instance_name": "vm1-failing"},
                 "user_scripts": {"global": {"linux": "#!/bin/sh\\ntouch $1/etc/from-global\\necho no luck >&2\\nexit 3\\n"}}}}
                """.formatted(origin, target)).expect(200).json().at("/migration/id").asText();
        JsonNode failed = admin.awaitMigration(failing);
        assertThat(failed.get("status").asText()).isEqualTo("ERROR");
        assertThat(task(failed, "OS_MORPHING").get("exception_details").asText()).contains("the user script failed (exit 3): no luck");
    }

    @Test
    void skipOsMorphingLeavesTheDiskAsCopied() throws IOException {
        Path disk = partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());

        JsonNode done = admin.awaitMigration(migrate("vm1", true));

        MigrationClient.assertCompleted(done);
        assertThat(done.get("skip_os_morphing").asBoolean()).isTrue();
        JsonNode morphing = task(done, "OS_MORPHING");
        assertThat(morphing.get("status").asText()).isEqualTo("COMPLETED");
        assertThat(messages(morphing)).containsExactly("OS morphing skipped: skip_os_morphing is true");
        assertThat(done.at("/info/vm1/os_morphing_info/skipped").asText()).isEqualTo("skip_os_morphing is true");
        assertThat(HostDirs.checksum(destination.resolve("vm1/disk.raw"), DISK_SIZE)).isEqualTo(HostDirs.checksum(disk, DISK_SIZE));
    }

    @Test
    void aDiskWithoutAnOsFailsTheMigrationNamingWhatWasFound() throws IOException {
        Path tree = work.resolve("data");
        Files.createDirectories(tree.resolve("srv/www"));
        Files.writeString(tree.resolve("srv/www/index.html"), "<p>no OS here</p>\n");
        Path disk = source.resolve("data1/disk.raw");
        Files.createDirectories(disk.getParent());
        mkfs(disk, tree, DISK_SIZE);

        JsonNode failed = admin.awaitMigration(migrate("data1", false));

        assertThat(failed.get("status").asText()).isEqualTo("ERROR");
        JsonNode morphing = task(failed, "OS_MORPHING");
        assertThat(morphing.get("status").asText()).isEqualTo("ERROR");
        assertThat(morphing.get("exception_details").asText())
                .contains("no Linux root filesystem (one with /etc/os-release) was found: vda: ext4 without /etc/os-release");
        assertThat(task(failed, "DEPLOY_INSTANCE_RESOURCES").get("status").asText()).isNotEqualTo("COMPLETED");
        // The failed migration's volumes went with the on-error cleanup; nothing was deployed.
        try (Stream<Path> left = Files.walk(destination)) {
            assertThat(left.filter(Files::isRegularFile).toList()).isEmpty();
        }
    }

    @Test
    void aRhelFamilyRootOnAWholeDiskGetsDhcpWithoutHwaddr() throws IOException {
        Path root = work.resolve("rocky");
        write(root.resolve("etc/os-release"), """
                NAME="Rocky Linux"
                VERSION_ID="9.3"
                ID="rocky"
                ID_LIKE="rhel centos fedora"
                PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
                """);
        String ifcfg = "DEVICE=eth0\nHWADDR=00:15:5d:01:02:03\nBOOTPROTO=none\nIPADDR=10.1.2.3\nPREFIX=24\nONBOOT=yes\n";
        write(root.resolve("etc/sysconfig/network-scripts/ifcfg-eth0"), ifcfg);
        write(root.resolve("etc/sysconfig/network-scripts/ifcfg-lo"), "DEVICE=lo\nIPADDR=127.0.0.1\n");
        Path wants = root.resolve("etc/systemd/system/multi-user.target.wants");
        Files.createDirectories(wants);
        Files.createSymbolicLink(wants.resolve("hypervkvpd.service"), Path.of("/usr/lib/systemd/system/hypervkvpd.service"));
        Path disk = source.resolve("rocky1/disk.raw");
        Files.createDirectories(disk.getParent());
        mkfs(disk, root, DISK_SIZE);

        JsonNode done = admin.awaitMigration(migrate("rocky1", false));

        MigrationClient.assertCompleted(done);
        assertThat(messages(task(done, "OS_MORPHING"))).anySatisfy(m -> assertThat(m)
                .isEqualTo("Detected Rocky Linux 9.3 (Blue Onyx) (ID=rocky, ID_LIKE=rhel centos fedora) (RHEL family) on vda (ext4)"));
        String deployed = destination.resolve("rocky1/disk.raw").toString();
        assertThat(debugfs(deployed, "cat /etc/sysconfig/network-scripts/ifcfg-eth0")).contains("BOOTPROTO=dhcp").doesNotContain("HWADDR")
                .doesNotContain("IPADDR");
        assertThat(debugfs(deployed, "cat /etc/sysconfig/network-scripts/ifcfg-eth0.strata.bak")).isEqualTo(ifcfg);
        assertThat(debugfs(deployed, "cat /etc/sysconfig/network-scripts/ifcfg-lo")).isEqualTo("DEVICE=lo\nIPADDR=127.0.0.1\n");
        assertThat(debugfs(deployed, "stat /etc/systemd/system/multi-user.target.wants/hypervkvpd.service")).contains("File not found");
    }

    /**
     * RHEL's default root filesystem: the appliance loads its XFS module to look. The disk is made
     * with mkfs.xfs (300 MB is its minimum; the file is sparse) and a loop mount, as root.
     */
    @Test
    void aRhelRootOnXfsIsFoundAndMorphed() throws IOException {
        Path disk = source.resolve("alma1/disk.raw");
        Files.createDirectories(disk.getParent());
        run(List.of("truncate", "-s", Long.toString(320L << 20), disk.toString()), null);
        run(List.of("mkfs.xfs", "-q", disk.toString()), null);
        String ifcfg = "DEVICE=eth0\nHWADDR=00:15:5d:01:02:04\nBOOTPROTO=static\nIPADDR=10.1.2.4\nONBOOT=yes\n";
        withLoopMount(disk, false, mounted -> {
            write(mounted.resolve("etc/os-release"), "NAME=\"AlmaLinux\"\nVERSION_ID=\"9.4\"\nID=\"almalinux\"\n"
                    + "ID_LIKE=\"rhel centos fedora\"\nPRETTY_NAME=\"AlmaLinux 9.4 (Seafoam Ocelot)\"\n");
            write(mounted.resolve("etc/sysconfig/network-scripts/ifcfg-eth0"), ifcfg);
            return null;
        });

        JsonNode done = admin.awaitMigration(migrate("alma1", false));

        MigrationClient.assertCompleted(done);
        assertThat(messages(task(done, "OS_MORPHING"))).anySatisfy(m -> assertThat(m)
                .isEqualTo("Detected AlmaLinux 9.4 (Seafoam Ocelot) (ID=almalinux, ID_LIKE=rhel centos fedora) (RHEL family) on vda (xfs)"));
        withLoopMount(destination.resolve("alma1/disk.raw"), true, mounted -> {
            Path scripts = mounted.resolve("etc/sysconfig/network-scripts");
            assertThat(read(scripts.resolve("ifcfg-eth0"))).contains("BOOTPROTO=dhcp").doesNotContain("HWADDR").doesNotContain("IPADDR");
            assertThat(read(scripts.resolve("ifcfg-eth0.strata.bak"))).isEqualTo(ifcfg);
            return null;
        });
        run(List.of("xfs_repair", "-n", destination.resolve("alma1/disk.raw").toString()), null); // exit 0: consistent
    }

    private interface OnMount {
        Void at(Path mounted) throws IOException;
    }

    /** Mounts a filesystem image through a loop device (root only) while {@code body} runs. */
    private void withLoopMount(Path image, boolean readOnly, OnMount body) throws IOException {
        Path point = Files.createTempDirectory(work, "mnt-");
        run(List.of("mount", "-o", (readOnly ? "ro," : "") + "loop", image.toString(), point.toString()), null);
        try {
            body.at(point);
        } finally {
            run(List.of("umount", point.toString()), null);
            Files.delete(point);
        }
    }

    @Test
    void ubuntuWithNetplanGetsADhcpNetplanFile() throws IOException {
        Path root = work.resolve("ubuntu");
        write(root.resolve("etc/os-release"), "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n");
        String netplan = "network:\n  version: 2\n  ethernets:\n    ens160:\n      addresses: [10.0.0.9/24]\n";
        write(root.resolve("etc/netplan/50-cloud-init.yaml"), netplan);
        Path disk = source.resolve("ubuntu1/disk.raw");
        Files.createDirectories(disk.getParent());
        mkfs(disk, root, DISK_SIZE);

        JsonNode done = admin.awaitMigration(migrate("ubuntu1", false));

        MigrationClient.assertCompleted(done);
        String deployed = destination.resolve("ubuntu1/disk.raw").toString();
        assertThat(debugfs(deployed, "stat /etc/netplan/50-cloud-init.yaml")).contains("File not found");
        assertThat(debugfs(deployed, "cat /etc/netplan/50-cloud-init.yaml.strata.bak")).isEqualTo(netplan);
        assertThat(debugfs(deployed, "cat /etc/netplan/50-strata-dhcp.yaml")).contains("dhcp4: true").contains("name: \"e*\"");
        assertThat(done.at("/info/ubuntu1/os_morphing_info/changes")).hasSize(2);
    }

    @Test
    void anOsOfAnotherFamilyFailsNamingIt() throws IOException {
        Path root = work.resolve("alpine");
        write(root.resolve("etc/os-release"), "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n");
        Path disk = source.resolve("alpine1/disk.raw");
        Files.createDirectories(disk.getParent());
        mkfs(disk, root, DISK_SIZE);

        JsonNode failed = admin.awaitMigration(migrate("alpine1", false));

        assertThat(failed.get("status").asText()).isEqualTo("ERROR");
        assertThat(task(failed, "OS_MORPHING").get("exception_details").asText())
                .startsWith("unsupported OS Alpine Linux v3.19 (ID=alpine) on vda (ext4)");
    }

    @Test
    void aReplicaDeploymentMorphsItsCopyAndTheNextExecutionRestoresTheReplica() throws IOException {
        Path disk = partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());
        String sourceSum = HostDirs.checksum(disk, DISK_SIZE);
        String replica = admin.replica(admin.qemuHostEndpoint("src-r", source), admin.qemuHostEndpoint("dst-r", destination), "vm1");
        MigrationClient.assertCompleted(admin.awaitExecution(replica, admin.execute(replica)));

        String deployment = admin.post("/migrations", """
                {"migration": {"replica_id": "%s", "clone_disks": true, "destination_environment": {"instance_name": "vm1-copy"}}}
                """.formatted(replica)).expect(200).json().at("/migration/id").asText();
        JsonNode deployed = admin.awaitMigration(deployment);

        MigrationClient.assertCompleted(deployed);
        assertThat(taskTypes(deployed)).containsSubsequence("OS_MORPHING", "DEPLOY_REPLICA_INSTANCE_RESOURCES", "FINALIZE_REPLICA_INSTANCE_DEPLOYMENT");
        String copy = destination.resolve("vm1-copy/disk.raw") + "?offset=" + PARTITION_OFFSET;
        assertThat(debugfs(copy, "cat /etc/network/interfaces")).contains("iface eth0 inet dhcp");
        assertThat(debugfs(copy, "stat /etc/udev/rules.d/70-persistent-net.rules")).contains("File not found");

        // The replica's volume was morphed in place and its fingerprints dropped: the next
        // execution compares it with the source and puts the source's blocks back.
        Path volume = Path.of(admin.get("/replicas/" + replica).expect(200).json().at("/replica/info/vm1/volumes_info/0/path").asText());
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isNotEqualTo(sourceSum);
        JsonNode again = admin.awaitExecution(replica, admin.execute(replica));
        MigrationClient.assertCompleted(again);
        assertThat(HostDirs.checksum(volume, DISK_SIZE)).isEqualTo(sourceSum);
    }

    @Test
    void aCancelWhileTheApplianceBootsStopsItAndCleansUp() throws Exception {
        partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());
        String migration = migrate("vm1", false);
        // The appliance takes seconds to boot (TCG here): the cancel lands while the task waits for its agent.
        awaitBooting(migration);
        admin.post("/migrations/" + migration + "/actions", "{\"cancel\": {}}").expect(204);

        JsonNode ended = admin.awaitMigration(migration);

        assertThat(ended.get("status").asText()).as(ended.toPrettyString()).isEqualTo("CANCELED");
        assertThat(task(ended, "OS_MORPHING").get("status").asText()).isEqualTo("CANCELED");
        try (Stream<Path> left = Files.walk(destination)) {
            assertThat(left.filter(Files::isRegularFile).toList()).isEmpty();
        }
        // The controller runs in this JVM: none of its appliance directories (or QEMUs) is left.
        try (Stream<Path> dirs = Files.list(Path.of("/tmp"))) {
            assertThat(dirs.filter(d -> d.getFileName().toString().startsWith("strata-appliance-"))
                    .filter(d -> Files.exists(d.resolve("owner")) && read(d.resolve("owner")).equals(Long.toString(ProcessHandle.current().pid()))))
                    .isEmpty();
        }
    }

    @Test
    void aControllerStoppedDuringMorphingResumesItAtTheNextStart() throws IOException {
        partitionedDisk(source.resolve("vm1/disk.raw"), debianTree());
        String migration = migrate("vm1", false);
        awaitBooting(migration);

        cloud = cloud.restart();
        admin = new MigrationClient(cloud.admin());
        JsonNode done = admin.awaitMigration(migration);

        MigrationClient.assertCompleted(done);
        assertThat(messages(task(done, "OS_MORPHING"))).anySatisfy(m -> assertThat(m).contains("Resumed after a controller restart"))
                .anySatisfy(m -> assertThat(m).startsWith("Changed: rewrote /etc/network/interfaces"));
        String deployed = destination.resolve("vm1/disk.raw") + "?offset=" + PARTITION_OFFSET;
        assertThat(debugfs(deployed, "cat /etc/network/interfaces")).contains("iface eth0 inet dhcp");
        assertThat(debugfs(deployed, "cat /etc/network/interfaces.strata.bak")).isEqualTo(STATIC_INTERFACES);
    }

    /** Waits until the migration's OS_MORPHING task is booting its appliance. */
    private static void awaitBooting(String migration) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
            JsonNode morphing = task(admin.get("/migrations/" + migration).expect(200).json().get("migration"), "OS_MORPHING");
            return morphing.get("status").asText().equals("RUNNING") && messages(morphing).stream().anyMatch(m -> m.startsWith("Booting"));
        });
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }

    private String migrate(String instance, boolean skip) {
        String origin = admin.qemuHostEndpoint("src-" + instance + "-" + skip, source);
        String target = admin.qemuHostEndpoint("dst-" + instance + "-" + skip, destination);
        return admin.post("/migrations", """
                {"migration": {"origin_endpoint_id": "%s", "destination_endpoint_id": "%s", "instances": ["%s"], "skip_os_morphing": %s}}
                """.formatted(origin, target, instance, skip)).expect(200).json().at("/migration/id").asText();
    }

    /** A Debian 12 root as a VMware guest leaves it: udev's persistent NIC rules, a static eth0, open-vm-tools enabled. */
    private Path debianTree() throws IOException {
        Path root = work.resolve("root");
        Files.createDirectories(root.resolve("usr/lib"));
        Files.writeString(root.resolve("usr/lib/os-release"), """
                PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
                NAME="Debian GNU/Linux"
                VERSION_ID="12"
                VERSION="12 (bookworm)"
                VERSION_CODENAME=bookworm
                ID=debian
                HOME_URL="https://www.debian.org/"
                """);
        Files.createDirectories(root.resolve("etc/udev/rules.d"));
        // As on Debian: /etc/os-release is a relative link into /usr/lib.
        Files.createSymbolicLink(root.resolve("etc/os-release"), Path.of("../usr/lib/os-release"));
        Files.writeString(root.resolve("etc/udev/rules.d/70-persistent-net.rules"),
                "SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"00:50:56:aa:bb:cc\", NAME=\"eth0\"\n");
        Files.createDirectories(root.resolve("etc/network"));
        Files.writeString(root.resolve("etc/network/interfaces"), STATIC_INTERFACES);
        Files.writeString(root.resolve("etc/hostname"), "vm1\n");
        Path wants = root.resolve("etc/systemd/system/multi-user.target.wants");
        Files.createDirectories(wants);
        Files.createSymbolicLink(wants.resolve("open-vm-tools.service"), Path.of("/lib/systemd/system/open-vm-tools.service"));
        Files.createSymbolicLink(wants.resolve("ssh.service"), Path.of("/lib/systemd/system/ssh.service"));
        return root;
    }

    /** An MBR with one Linux partition at 1 MiB holding an ext4 filesystem of {@code tree}. */
    private Path partitionedDisk(Path disk, Path tree) throws IOException {
        Files.createDirectories(disk.getParent());
        try (FileChannel channel = FileChannel.open(disk, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.truncate(DISK_SIZE);
            channel.write(ByteBuffer.wrap(new byte[] {0}), DISK_SIZE - 1);
        }
        run(List.of("sh", "-c", "echo 'start=2048, type=83' | sfdisk -q " + disk), null);
        Path partition = work.resolve("partition.img");
        mkfs(partition, tree, DISK_SIZE - PARTITION_OFFSET);
        try (FileChannel from = FileChannel.open(partition); FileChannel to = FileChannel.open(disk, StandardOpenOption.WRITE)) {
            long done = 0;
            while (done < from.size()) {
                done += from.transferTo(done, from.size() - done, to.position(PARTITION_OFFSET + done));
            }
        }
        Files.delete(partition);
        return disk;
    }

    private static void mkfs(Path image, Path tree, long size) {
        run(List.of("truncate", "-s", Long.toString(size), image.toString()), null);
        run(List.of("mkfs.ext4", "-q", "-F", "-d", tree.toString(), image.toString(), (size >> 10) + "k"), null);
    }

    private static String debugfs(String device, String request) {
        return run(List.of("debugfs", "-R", request, device), null);
    }

    /** e2fsck -fn's exit status (0: clean) on the partition at {@code offset}, read through a copy. */
    private int fsck(Path disk, long offset) throws IOException {
        Path copy = work.resolve("fsck.img");
        try (FileChannel from = FileChannel.open(disk); FileChannel to = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long done = 0;
            while (done < from.size() - offset) {
                done += from.transferTo(offset + done, from.size() - offset - done, to);
            }
        }
        int[] status = new int[1];
        run(List.of("e2fsck", "-fn", copy.toString()), status);
        Files.delete(copy);
        return status[0];
    }

    /** Runs a tool; its stdout, with stderr dropped (debugfs prints its banner there). */
    private static String run(List<String> command, int[] status) {
        try {
            Path errors = Files.createTempFile("morph-tool-", ".err");
            Process process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
            process.getOutputStream().close();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(command + " timed out");
            }
            String err = Files.readString(errors);
            Files.delete(errors);
            if (status != null) {
                status[0] = process.exitValue();
            } else if (process.exitValue() != 0) {
                throw new IllegalStateException(command + " failed: " + err + out);
            }
            // debugfs reports a missing file on stderr with exit 0.
            return err.contains("File not found") ? out + err : out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static List<String> taskTypes(JsonNode migration) {
        List<String> types = new ArrayList<>();
        migration.get("tasks").forEach(t -> types.add(t.get("task_type").asText()));
        return types;
    }

    private static JsonNode task(JsonNode migration, String type) {
        for (JsonNode task : migration.get("tasks")) {
            if (task.get("task_type").asText().equals(type)) {
                return task;
            }
        }
        throw new AssertionError("no " + type + " task in " + migration.toPrettyString());
    }

    private static List<String> messages(JsonNode task) {
        List<String> messages = new ArrayList<>();
        task.get("progress_updates").forEach(u -> messages.add(u.get("message").asText()));
        return messages;
    }
}
