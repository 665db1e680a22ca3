package io.strata.hypervisor.qemu;

import static io.strata.hypervisor.qemu.TestGuests.READY;
import static io.strata.hypervisor.qemu.TestGuests.awaitConsole;
import static io.strata.hypervisor.qemu.TestGuests.count;
import static io.strata.hypervisor.qemu.TestGuests.lastCounter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.strata.compute.PowerState;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Bless a running guest and launch clones that continue with its memory (DESIGN, live images). */
@Tag("qemu")
class LiveImageTest {
    private static final Duration BOOT = Duration.ofSeconds(60);

    private QemuConfig config;
    private QemuHypervisor hypervisor;
    private Path images;

    @BeforeEach
    void start() throws Exception {
        config = TestGuests.config(TestGuests.SHARED_STATE);
        hypervisor = new QemuHypervisor(config);
        images = config.runRoot().resolveSibling("images");
    }

    @AfterEach
    void stop() {
        for (VmInfo vm : hypervisor.discover()) {
            hypervisor.destroy(vm.id());
        }
        hypervisor.close();
        TestGuests.deleteTree(config.runRoot().getParent());
        TestGuests.deleteTree(config.ramRoot());
    }

    @Test
    void clonesContinueTheBlessedGuestsMemoryWithTheirOwnIdentity() throws Exception {
        String source = UUID.randomUUID().toString();
        hypervisor.create(TestGuests.spec(source, TestGuests.diskBoot(), "original's user_data\n".getBytes(StandardCharsets.UTF_8), 0));
        awaitConsole(hypervisor, source, READY, 1, BOOT);
        await().atMost(Duration.ofSeconds(10)).until(() -> lastCounter(hypervisor.consoleLog(source, 20)) >= 2);

        LiveImageRef image = hypervisor.bless(source, images.resolve("golden"));
        int blessedAt = lastCounter(hypervisor.consoleLog(source, 20));

        Path dir = images.resolve("golden");
        assertThat(image.dir()).isEqualTo(dir);
        assertThat(image.memoryMb()).isEqualTo(256);
        assertThat(image.attributes()).containsEntry("blessed_from", source);
        // x-ignore-shared: the state carries devices, not the 256 MB of RAM.
        assertThat(Files.size(dir.resolve("state"))).isLessThan(8L * 1024 * 1024);
        assertThat(Files.size(dir.resolve("ram"))).isEqualTo(256L * 1024 * 1024);
        assertThat(dir.resolve("disk.qcow2")).exists();
        assertThat(config.ramRoot().resolve(source).resolve("ram")).doesNotExist();

        // The source went on as a copy-on-write clone of its own image, without booting again.
        VmInfo sourceInfo = hypervisor.find(source).orElseThrow();
        assertThat(sourceInfo.powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(sourceInfo.details()).containsEntry("live_image", dir.toString());
        await().atMost(Duration.ofSeconds(10)).until(() -> lastCounter(hypervisor.consoleLog(source, 20)) > blessedAt + 1);
        assertThat(count(hypervisor.consoleLog(source, 0), READY)).isEqualTo(1);
        assertThatThrownBy(() -> hypervisor.bless(source, images.resolve("again")))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));

        String clone = UUID.randomUUID().toString();
        NetworkSpec network = new NetworkSpec("fa:16:3e:77:00:01", "10.30.0.44", 24, "10.30.0.1", List.of(), 0);
        byte[] userData = "clone one's user_data\n".getBytes(StandardCharsets.UTF_8);
        VmSpec spec = new VmSpec(clone, "clone", "clone-one", 1, 256, 0, null, userData, Map.of(), Map.of(), network,
                Map.of("role", "worker", "shard", "7"), 0);
        long started = System.nanoTime();
        VmInfo launched = hypervisor.launch(image, spec);
        long launchMillis = (System.nanoTime() - started) / 1_000_000;
        assertThat(launched.powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(launchMillis).as("launch (personalisation follows in the background)").isLessThan(10_000);

        // Its memory continued from the blessed moment: the counter goes on, no boot happened.
        await().atMost(Duration.ofSeconds(10)).until(() -> lastCounter(hypervisor.consoleLog(clone, 20)) > blessedAt);
        String cloneConsole = hypervisor.consoleLog(clone, 0);
        assertThat(cloneConsole).doesNotContain(READY).doesNotContain("STRATA-COUNTER 1\n");
        // The guest agent serves one connection at a time: hold none while the driver personalises it.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            try (GuestAgentClient agent = GuestAgentClient.connect(config.runRoot().resolve(clone).resolve("qga.sock"), Duration.ofSeconds(20))) {
                return !agent.shell("cat " + QemuHypervisor.GUEST_PARAMS + " 2>/dev/null; true").isEmpty();
            }
        });
        try (GuestAgentClient agent = GuestAgentClient.connect(config.runRoot().resolve(clone).resolve("qga.sock"), Duration.ofSeconds(20))) {
            assertThat(agent.shell("hostname").strip()).isEqualTo("clone-one");
            assertThat(agent.networkInterfaces().toString()).contains("fa:16:3e:77:00:01").contains("10.30.0.44");
            assertThat(new String(agent.readFile(QemuHypervisor.GUEST_PARAMS), StandardCharsets.UTF_8)).isEqualTo("role=worker\nshard=7\n");
            // What the clone writes stays in the clone: its RAM is a private copy-on-write mapping.
            agent.shell("echo clone > /tmp/mark");
        }
        // Each clone has a config drive of its own (issue 4), and only that one.
        String second = UUID.randomUUID().toString();
        byte[] secondUserData = "clone two's user_data\n".getBytes(StandardCharsets.UTF_8);
        hypervisor.launch(image, new VmSpec(second, "clone-2", "clone-two", 1, 256, 0, null, secondUserData, Map.of(), Map.of(),
                new NetworkSpec("fa:16:3e:77:00:02", "10.30.0.45", 24, "10.30.0.1", List.of(), 0), Map.of(), 0));
        assertOwnConfigDrive(clone, "clone-one", "clone one's user_data\n");
        assertOwnConfigDrive(second, "clone-two", "clone two's user_data\n");
        // Given: nothing is owed to the clone any more (see the next test).
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(config.runRoot().resolve(clone).resolve("identity.json")));
        hypervisor.destroy(second);

        // The source is untouched by the clone's identity.
        try (GuestAgentClient agent = GuestAgentClient.connect(config.runRoot().resolve(source).resolve("qga.sock"), Duration.ofSeconds(20))) {
            assertThat(agent.shell("hostname").strip()).isEqualTo("host-" + source.substring(0, 8));
            assertThat(agent.shell("cat /tmp/mark 2>/dev/null; true")).isEmpty();
        }

        // Clones are ordinary VMs to the rest of the driver.
        assertThat(hypervisor.act(clone, VmAction.PAUSE).powerState()).isEqualTo(PowerState.PAUSED);
        assertThat(hypervisor.act(clone, VmAction.UNPAUSE).powerState()).isEqualTo(PowerState.RUNNING);
        // A clone's suspend saves its private pages; resume maps the image again beneath them.
        int beforeSuspend = lastCounter(hypervisor.consoleLog(clone, 20));
        assertThat(hypervisor.act(clone, VmAction.SUSPEND).powerState()).isEqualTo(PowerState.SUSPENDED);
        assertThat(hypervisor.act(clone, VmAction.RESUME).powerState()).isEqualTo(PowerState.RUNNING);
        await().atMost(Duration.ofSeconds(10)).until(() -> lastCounter(hypervisor.consoleLog(clone, 20)) > beforeSuspend + 1);
        try (GuestAgentClient agent = GuestAgentClient.connect(config.runRoot().resolve(clone).resolve("qga.sock"), Duration.ofSeconds(20))) {
            assertThat(agent.shell("cat /tmp/mark")).isEqualTo("clone\n");
        }
        assertThat(hypervisor.consoleLog(clone, 0)).doesNotContain(READY);
        assertOwnConfigDrive(clone, "clone-one", "clone one's user_data\n");
        // Stopped and started again (or after an agent restart) it runs vm.json's command line,
        // which now names its own config drive.
        Path ownDrive = config.runRoot().resolve(clone).resolve("config.iso");
        assertThat(VmDescriptor.read(config.runRoot().resolve(clone).resolve("vm.json")).commandLine())
                .anyMatch(arg -> arg.startsWith("file=" + ownDrive + ",") && arg.contains(",id=config0,"))
                .noneMatch(arg -> arg.contains(dir.resolve("config.iso").toString()));
        assertThat(hypervisor.act(clone, VmAction.STOP).powerState()).isEqualTo(PowerState.SHUTDOWN);
        assertThat(hypervisor.act(clone, VmAction.START).powerState()).isEqualTo(PowerState.RUNNING);
        awaitConsole(hypervisor, clone, READY, 1, BOOT);
        assertOwnConfigDrive(clone, "clone-one", "clone one's user_data\n");
        hypervisor.destroy(clone);
        assertThat(config.runRoot().resolve(clone)).doesNotExist();
        assertThat(dir.resolve("ram")).exists();
    }

    @Test
    void aCloneTheAgentStoppedPersonalisingGetsItsIdentityFromTheNextAgent() throws Exception {
        String source = UUID.randomUUID().toString();
        hypervisor.create(TestGuests.spec(source, TestGuests.diskBoot(), "original's user_data\n".getBytes(StandardCharsets.UTF_8), 0));
        awaitConsole(hypervisor, source, READY, 1, BOOT);
        LiveImageRef image = hypervisor.bless(source, images.resolve("golden"));

        String clone = UUID.randomUUID().toString();
        VmSpec spec = new VmSpec(clone, "clone", "clone-after", 1, 256, 0, null, "the clone's user_data\n".getBytes(StandardCharsets.UTF_8),
                Map.of(), Map.of(), new NetworkSpec("fa:16:3e:77:00:09", "10.30.0.49", 24, "10.30.0.1", List.of(), 0),
                Map.of("role", "late"), 0);
        hypervisor.launch(image, spec);
        Path owed = config.runRoot().resolve(clone).resolve("identity.json");
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(owed));
        // The agent stops (as in a crash, its VMs outlive it) before the guest agent answered.
        hypervisor.close();
        assertThat(owed).as("what the clone is still owed").exists();

        hypervisor = new QemuHypervisor(config);
        assertThat(hypervisor.find(clone).orElseThrow().powerState()).isEqualTo(PowerState.RUNNING);
        assertOwnConfigDrive(clone, "clone-after", "the clone's user_data\n");
        try (GuestAgentClient agent = GuestAgentClient.connect(config.runRoot().resolve(clone).resolve("qga.sock"), Duration.ofSeconds(20))) {
            assertThat(agent.shell("hostname").strip()).isEqualTo("clone-after");
            assertThat(agent.networkInterfaces().toString()).contains("fa:16:3e:77:00:09").contains("10.30.0.49");
            assertThat(new String(agent.readFile(QemuHypervisor.GUEST_PARAMS), StandardCharsets.UTF_8)).isEqualTo("role=late\n");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(owed));
    }

    /**
     * Inside the guest: exactly one volume labelled config-2, the one mounted at /mnt/config, with
     * the clone's uuid, name and hostname and its user_data (waits for the personalisation).
     */
    private void assertOwnConfigDrive(String vmId, String hostname, String userData) {
        Path socket = config.runRoot().resolve(vmId).resolve("qga.sock");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(2)).ignoreExceptions().until(() -> {
            try (GuestAgentClient agent = GuestAgentClient.connect(socket, Duration.ofSeconds(20))) {
                return agent.shell("cat /mnt/config/openstack/latest/meta_data.json 2>/dev/null; true").contains(vmId);
            }
        });
        try (GuestAgentClient agent = GuestAgentClient.connect(socket, Duration.ofSeconds(20))) {
            // The guest has no blkid: an ISO9660 volume's label is at byte 32808 of its device.
            String labels = agent.shell("for b in /sys/block/*; do echo \"${b##*/} $(dd if=/dev/${b##*/} bs=1 skip=32808 count=8 2>/dev/null)\"; done");
            assertThat(labels.lines().filter(line -> line.endsWith(" config-2"))).as("config-2 volumes in " + labels).hasSize(1);
            String volume = agent.shell("findfs LABEL=config-2").strip();
            assertThat(agent.shell("grep ' /mnt/config ' /proc/mounts")).startsWith(volume + " ");
            agent.shell("mkdir -p /tmp/cd && mount -t iso9660 -o ro " + volume + " /tmp/cd");
            try {
                String meta = agent.shell("cat /tmp/cd/openstack/latest/meta_data.json");
                assertThat(meta).contains("\"uuid\":\"" + vmId + "\"").contains("\"hostname\":\"" + hostname + "\"");
                assertThat(agent.shell("cat /tmp/cd/openstack/latest/user_data")).isEqualTo(userData);
                assertThat(agent.shell("cat /tmp/cd/openstack/latest/network_data.json")).contains(vmId + "-0");
            } finally {
                agent.shell("umount /tmp/cd");
            }
            assertThat(agent.shell("cat /run/meta_data.json")).contains(vmId);
            assertThat(agent.shell("cat /run/user_data")).isEqualTo(userData);
        }
    }

    @Test
    void refusesToBlessAGuestThatIsNotRunningAndToLaunchFromNothing() {
        String id = UUID.randomUUID().toString();
        hypervisor.create(TestGuests.spec(id, TestGuests.kernelBoot(), null, 0));
        hypervisor.act(id, VmAction.PAUSE);
        assertThatThrownBy(() -> hypervisor.bless(id, images.resolve("paused")))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThat(hypervisor.find(id).orElseThrow().powerState()).isEqualTo(PowerState.PAUSED);

        LiveImageRef nothing = new LiveImageRef("nothing", images.resolve("nothing"), 1, 256, Map.of());
        assertThatThrownBy(() -> hypervisor.launch(nothing, TestGuests.spec(UUID.randomUUID().toString(), null, null, 0)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }
}
