package io.strata.hypervisor.qemu;

import static io.strata.hypervisor.qemu.TestGuests.READY;
import static io.strata.hypervisor.qemu.TestGuests.awaitConsole;
import static io.strata.hypervisor.qemu.TestGuests.count;
import static io.strata.hypervisor.qemu.TestGuests.lastCounter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.strata.compute.PowerState;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Live migration of real guests between two driver instances with their own directories ("hosts"). */
@Tag("qemu")
class LiveMigrationTest {
    private static final Duration BOOT = Duration.ofSeconds(60);
    private static final String MARK = "strata-migrated-data";

    private QemuConfig configA;
    private QemuConfig configB;
    private QemuHypervisor hostA;
    private QemuHypervisor hostB;
    private final List<VmEvent> eventsA = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        configA = host("host-a");
        configB = host("host-b");
        hostA = new QemuHypervisor(configA);
        hostB = new QemuHypervisor(configB);
        hostA.subscribe(eventsA::add);
    }

    @AfterEach
    void stop() {
        for (QemuHypervisor host : List.of(hostA, hostB)) {
            for (VmInfo vm : host.discover()) {
                host.destroy(vm.id());
            }
            host.close();
        }
        for (QemuConfig config : List.of(configA, configB)) {
            TestGuests.deleteTree(config.runRoot().getParent());
            TestGuests.deleteTree(config.ramRoot());
        }
    }

    @Test
    void aGuestWithARootDiskMovesWithItsMemoryAndDiskAndAFailedAttemptLeavesItRunning() {
        String id = UUID.randomUUID().toString();
        BootSource boot = new BootSource(TestGuests.imageDir().resolve("disk.qcow2"), "qcow2", TestGuests.kernelBoot().kernel(),
                TestGuests.kernelBoot().ramdisk(), "quiet panic=-1 movablecore=50% nokaslr");
        VmSpec spec = TestGuests.spec(id, boot, null, 0);
        hostA.create(spec);
        awaitConsole(hostA, id, READY, 1, BOOT);
        try (GuestAgentClient agent = agent(configA, id)) {
            // Straight onto the block device: the guest mounts no file system from it.
            agent.shell("printf " + MARK + " | dd of=/dev/vda bs=512 seek=4096 conv=fsync 2>/dev/null; sync");
        }
        long sourcePid = Long.parseLong(hostA.find(id).orElseThrow().details().get("pid"));

        // A destination that is gone before the source sends anything: the source runs on as it was.
        MigrationSource source = hostA.migrationSource(id);
        assertThat(source.diskBacking()).isEqualTo(boot.disk().toString());
        assertThat(source.diskVirtualSize()).isPositive();
        MigrationTarget doomed = hostB.prepareIncoming(spec, source);
        hostB.destroy(id);
        // Refused, or (seen once in CI, cause not found) accepted and reset: either way a
        // connection failure, after which the source must run on as checked below.
        assertThatThrownBy(() -> hostA.migrateOut(id, doomed)).isInstanceOf(HypervisorException.class)
                .satisfies(e -> assertThat(e.getMessage()).containsAnyOf("Connection refused", "Connection reset by peer"));
        // And one that never existed.
        MigrationTarget nowhere = new MigrationTarget(id, "tcp:127.0.0.1:1", "nbd://127.0.0.1:1/disk0", Map.of());
        assertThatThrownBy(() -> hostA.migrateOut(id, nowhere)).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("Connection refused");
        // And one whose disk export works but whose migration stream goes nowhere: the mirror was in
        // sync, the migration fails, both are cancelled.
        MigrationTarget halfway = hostB.prepareIncoming(spec, hostA.migrationSource(id));
        MigrationTarget wrongStream = new MigrationTarget(id, "tcp:127.0.0.1:1", halfway.diskExportUri(), Map.of());
        assertThatThrownBy(() -> hostA.migrateOut(id, wrongStream)).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("Connection refused");
        hostB.destroy(id);
        // And one that cannot load what it gets (no config drive: a device fewer): it fails only at
        // the switch-over, after the source stopped the guest; the return path tells the source.
        MigrationSource full = hostA.migrationSource(id);
        Map<String, String> noConfigDrive = new java.util.HashMap<>(full.attributes());
        noConfigDrive.remove(LiveMigration.CONFIG_DRIVE);
        MigrationTarget mismatched = hostB.prepareIncoming(spec, new MigrationSource(id, full.vcpus(), full.memoryMb(),
                full.targetMemoryMb(), full.boot(), full.diskBacking(), full.diskBackingFormat(), full.diskVirtualSize(), noConfigDrive));
        assertThatThrownBy(() -> hostA.migrateOut(id, mismatched)).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("destination");
        // The destination's QEMU gave up; completing says why.
        assertThatThrownBy(() -> hostB.completeIncoming(id)).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("Unknown savevm section");
        hostB.destroy(id);
        assertThat(hostA.find(id).orElseThrow().powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(hostA.find(id).orElseThrow().details()).containsEntry("pid", Long.toString(sourcePid));
        int afterFailures = lastCounter(hostA.consoleLog(id, 20));
        await().atMost(Duration.ofSeconds(10)).until(() -> lastCounter(hostA.consoleLog(id, 20)) > afterFailures);
        assertThat(configB.runRoot().resolve(id)).doesNotExist();

        // The real thing.
        MigrationTarget target = hostB.prepareIncoming(spec, hostA.migrationSource(id));
        int before = lastCounter(hostA.consoleLog(id, 20));
        long started = System.nanoTime();
        hostA.migrateOut(id, target);
        VmInfo arrived = hostB.completeIncoming(id);
        long migrationMillis = (System.nanoTime() - started) / 1_000_000;
        assertThat(arrived.powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(migrationMillis).as("migration").isLessThan(30_000);

        // Memory continued: the counter goes on from where it was, on this host's own console.
        await().atMost(Duration.ofSeconds(15)).until(() -> lastCounter(hostB.consoleLog(id, 20)) > before);
        assertThat(count(hostB.consoleLog(id, 0), READY)).isZero();
        assertThat(hostB.find(id).orElseThrow().details().get("console_log")).startsWith(configB.runRoot().toString());
        try (GuestAgentClient agent = agent(configB, id)) {
            // Dropping the page cache makes the guest read what the mirror wrote into this host's overlay.
            String read = agent.shell("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=4096 count=1 2>/dev/null | head -c "
                    + MARK.length());
            assertThat(read).isEqualTo(MARK);
        }

        // Nothing of it is left on the source, and the source reported no crash or shutdown.
        assertThat(Processes.isAlive(sourcePid)).isFalse();
        assertThat(configA.runRoot().resolve(id)).doesNotExist();
        assertThat(configA.ramRoot().resolve(id)).doesNotExist();
        assertThat(hostA.find(id)).isEmpty();
        assertThat(eventsA).isEmpty();
        assertThat(qemuProcessesUnder(configA.runRoot())).isZero();

        // The destination's VM is an ordinary VM there, found again by a new driver instance.
        hostB.close();
        hostB = new QemuHypervisor(configB);
        assertThat(hostB.discover()).extracting(VmInfo::id, VmInfo::powerState).containsExactly(org.assertj.core.groups.Tuple.tuple(id, PowerState.RUNNING));
    }

    @Test
    void aLiveImageCloneMovesWithAllOfItsMemory() throws Exception {
        String original = UUID.randomUUID().toString();
        hostA.create(TestGuests.spec(original, TestGuests.diskBoot(), null, 0));
        awaitConsole(hostA, original, READY, 1, BOOT);
        // Random data in the guest's RAM (its root is an initramfs): pages the clone will share
        // with the image and never write.
        String blessedSum;
        try (GuestAgentClient agent = agent(configA, original)) {
            blessedSum = agent.shell("dd if=/dev/urandom of=/blessed bs=1M count=32 2>/dev/null; md5sum /blessed");
        }
        LiveImageRef image = hostA.bless(original, configA.runRoot().resolveSibling("images").resolve("golden"));
        hostA.destroy(original);

        String clone = UUID.randomUUID().toString();
        NetworkSpec network = new NetworkSpec("fa:16:3e:77:00:02", "10.30.0.45", 24, "10.30.0.1", List.of(), 0);
        VmSpec spec = new VmSpec(clone, "clone", "clone-two", 1, 256, 0, null, null, Map.of(), Map.of(), network, Map.of(), 0);
        hostA.launch(image, spec);
        // The guest agent serves one connection at a time: hold none while the driver personalises it.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            try (GuestAgentClient agent = agent(configA, clone)) {
                return agent.shell("hostname").strip().equals("clone-two");
            }
        });
        String cloneSum;
        try (GuestAgentClient agent = agent(configA, clone)) {
            agent.shell("echo moved > /tmp/mark");
            // And pages the clone wrote itself, private to it.
            cloneSum = agent.shell("dd if=/dev/urandom of=/cloned bs=1M count=32 2>/dev/null; md5sum /cloned");
        }

        MigrationSource source = hostA.migrationSource(clone);
        assertThat(source.diskBacking()).isEqualTo(image.dir().resolve("disk.qcow2").toString());
        MigrationTarget target = hostB.prepareIncoming(spec, source);
        int before = lastCounter(hostA.consoleLog(clone, 20));
        hostA.migrateOut(clone, target);
        assertThat(hostB.completeIncoming(clone).details()).containsEntry("live_image", image.dir().toString());

        await().atMost(Duration.ofSeconds(15)).until(() -> lastCounter(hostB.consoleLog(clone, 20)) > before);
        assertThat(hostB.consoleLog(clone, 0)).doesNotContain(READY);
        try (GuestAgentClient agent = agent(configB, clone)) {
            // Pages the clone wrote and pages it still shared with the image both arrived.
            assertThat(agent.shell("cat /tmp/mark")).isEqualTo("moved\n");
            assertThat(agent.shell("hostname").strip()).isEqualTo("clone-two");
            assertThat(agent.shell("md5sum /blessed /cloned")).isEqualTo(blessedSum + cloneSum);
        }
        assertThat(configA.runRoot().resolve(clone)).doesNotExist();
        assertThat(configA.ramRoot().resolve(clone)).doesNotExist();
        assertThat(configB.ramRoot().resolve(clone).resolve("ram")).exists();
        assertThat(qemuProcessesUnder(configA.runRoot())).isZero();

        // And back to the host that holds the image: every page travels again, none is taken
        // from the image's file there (the clone's memory is no longer that file's).
        int beforeReturn = lastCounter(hostB.consoleLog(clone, 20));
        hostB.migrateOut(clone, hostA.prepareIncoming(spec, hostB.migrationSource(clone)));
        hostA.completeIncoming(clone);
        await().atMost(Duration.ofSeconds(15)).until(() -> lastCounter(hostA.consoleLog(clone, 20)) > beforeReturn);
        try (GuestAgentClient agent = agent(configA, clone)) {
            assertThat(agent.shell("md5sum /blessed /cloned")).isEqualTo(blessedSum + cloneSum);
        }
        assertThat(hostA.consoleLog(clone, 0)).doesNotContainIgnoringCase("Oops").doesNotContain("BUG:");
        hostA.destroy(clone);
    }

    @Test
    void aGuestWithoutADiskMovesAndKeepsItsBalloonTarget() {
        String id = UUID.randomUUID().toString();
        VmSpec spec = TestGuests.spec(id, TestGuests.kernelBoot(), null, 0, 192);
        hostA.create(spec);
        awaitConsole(hostA, id, READY, 1, BOOT);
        MigrationSource source = hostA.migrationSource(id);
        assertThat(source.diskBacking()).isNull();
        assertThat(source.targetMemoryMb()).isEqualTo(192);
        MigrationTarget target = hostB.prepareIncoming(spec, source);
        assertThat(target.diskExportUri()).isNull();
        int before = lastCounter(hostA.consoleLog(id, 20));
        hostA.migrateOut(id, target);
        assertThat(hostB.completeIncoming(id).powerState()).isEqualTo(PowerState.RUNNING);
        await().atMost(Duration.ofSeconds(15)).until(() -> lastCounter(hostB.consoleLog(id, 20)) > before);
        await().atMost(Duration.ofSeconds(20)).until(() -> "192".equals(hostB.find(id).orElseThrow().details().get("balloon_mb")));
        assertThat(configA.runRoot().resolve(id)).doesNotExist();
        assertThat(qemuProcessesUnder(configA.runRoot())).isZero();
    }

    private static GuestAgentClient agent(QemuConfig config, String id) {
        return GuestAgentClient.connect(config.runRoot().resolve(id).resolve("qga.sock"), Duration.ofSeconds(30));
    }

    private static long qemuProcessesUnder(Path runRoot) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(args -> String.join(" ", args).contains(runRoot.toString())).orElse(false))
                .count();
    }

    /** One "host": its own run root, RAM root and name (TestGuests.config's layout). */
    private static QemuConfig host(String hostname) {
        QemuConfig base = TestGuests.config(TestGuests.SHARED_STATE);
        return new QemuConfig(base.qemuBinary(), base.qemuImgBinary(), base.runRoot(), base.ramRoot(), base.stateDir(), base.accel(),
                base.probeImageDir(), hostname, base.hostIp(), base.vcpus(), base.memoryMb(), base.diskGb(), base.stopTimeout(),
                base.rebootTimeout(), base.probeTimeout());
    }

    static {
        try {
            Files.createDirectories(TestGuests.SHARED_STATE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
