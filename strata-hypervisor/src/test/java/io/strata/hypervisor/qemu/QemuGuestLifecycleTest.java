package io.strata.hypervisor.qemu;

import static io.strata.hypervisor.qemu.TestGuests.READY;
import static io.strata.hypervisor.qemu.TestGuests.awaitConsole;
import static io.strata.hypervisor.qemu.TestGuests.count;
import static io.strata.hypervisor.qemu.TestGuests.lastCounter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.compute.PowerState;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmInfo;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * One real guest (kernel + initramfs under TCG here) taken through every action in turn. The
 * checks share the guest because each boot costs seconds on a 2-core host; every step leaves it
 * RUNNING for the next, and the order is fixed.
 */
@Tag("qemu")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QemuGuestLifecycleTest {
    private static final Duration BOOT = Duration.ofSeconds(60);
    private static final String USER_DATA = "#!/bin/sh\necho strata-user-data-ok\n";
    /** What the guest kernel prints when it powers off (pr_emerg, so shown under "quiet" too). */
    private static final String POWER_DOWN = "reboot: Power down";
    /** The grace periods a guest gets for the ACPI power button: short, so the timeout paths are quick to test. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(12);
    private static final Duration REBOOT_TIMEOUT = Duration.ofSeconds(12);

    private final String vmId = UUID.randomUUID().toString();
    private QemuConfig config;
    private QemuHypervisor hypervisor;
    private int sshPort;

    @BeforeAll
    void boot() throws IOException {
        QemuConfig defaults = TestGuests.config(TestGuests.SHARED_STATE);
        config = defaults.withTimeouts(STOP_TIMEOUT, REBOOT_TIMEOUT, defaults.probeTimeout());
        hypervisor = new QemuHypervisor(config);
        try (ServerSocket socket = new ServerSocket(0)) {
            sshPort = socket.getLocalPort();
        }
        hypervisor.create(TestGuests.spec(vmId, TestGuests.kernelBoot(), USER_DATA.getBytes(StandardCharsets.UTF_8), sshPort, 192));
    }

    @AfterAll
    void cleanUp() {
        if (hypervisor != null) {
            hypervisor.destroy(vmId);
            hypervisor.close();
        }
        TestGuests.deleteTree(config.runRoot().getParent());
        TestGuests.deleteTree(config.ramRoot());
    }

    @Test
    @Order(1)
    void bootsToTheReadyMarkerAndReportsItsFacts() {
        String console = awaitConsole(hypervisor, vmId, READY, 1, BOOT);
        assertThat(console).contains("eth0 fa:16:3e:12:34:56 10.20.0.15/24");

        VmInfo info = hypervisor.find(vmId).orElseThrow();
        assertThat(info.powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(info.details()).containsEntry("ssh_port", Integer.toString(sshPort))
                .containsEntry("accelerator", hypervisor.describe().accelerator()).containsKey("pid");
        Path run = config.runRoot().resolve(vmId);
        assertThat(run.resolve("vm.json")).exists();
        assertThat(run.resolve("config.iso")).exists();
        assertThat(config.ramRoot().resolve(vmId).resolve("ram")).exists();
        assertThat(TestGuests.read(Path.of("/proc", info.details().get("pid"), "cmdline")))
                .contains("memory-backend-file").contains("share=on")
                .contains("hostfwd=tcp:127.0.0.1:" + sshPort + "-:22");
        // The guest's vCPU threads run below the control plane, QEMU's main loop does not; the
        // whole process's autogroup goes low too once the guest runs (see GuestPriority).
        TestGuests.assertPriorities(Long.parseLong(info.details().get("pid")), 1, GuestPriority.VCPU_NICENESS);

        // targetMemoryMb: the balloon takes 64 of the 256 MB back once the guest's driver loads.
        await().atMost(Duration.ofSeconds(20)).until(() -> hypervisor.find(vmId).orElseThrow().details().get("balloon_mb"), "192"::equals);

        HostInfo host = hypervisor.describe();
        assertThat(host.hypervisorType()).isEqualTo("QEMU");
        assertThat(host.hypervisorVersion()).isGreaterThan(7_000_000);
        assertThat(host.accelerator()).isIn("kvm", "tcg");
        assertThat(host.vcpus()).isPositive();
        assertThat(host.memoryMb()).isPositive();
    }

    @Test
    @Order(2)
    void configDriveGivesTheGuestItsUserDataAndMetadata() {
        try (GuestAgentClient agent = agent()) {
            assertThat(agent.shell("cat /mnt/config/openstack/latest/user_data")).isEqualTo(USER_DATA);
            String meta = agent.shell("cat /mnt/config/openstack/latest/meta_data.json");
            assertThat(meta).contains("\"uuid\":\"" + vmId + "\"").contains("\"role\":\"test\"").contains("testkey");
            assertThat(agent.shell("cat /mnt/config/openstack/2015-10-15/network_data.json"))
                    .contains("fa:16:3e:12:34:56").contains("10.20.0.15");
            assertThat(agent.shell("ls /mnt/config/openstack")).contains("2012-08-10").contains("latest");
            assertThat(agent.shell("hostname").strip()).isEqualTo("host-" + vmId.substring(0, 8));
        }
    }

    @Test
    @Order(3)
    void guestAgentSetsTimeHostnameParamsAndNetwork() {
        try (GuestAgentClient agent = agent()) {
            agent.ping();
            agent.setTime(Instant.parse("2030-01-02T03:04:05Z"));
            assertThat(agent.shell("date -u +%Y").strip()).isEqualTo("2030");
            agent.setTime(Instant.now());

            agent.setHostname("renamed-guest");
            assertThat(agent.shell("hostname").strip()).isEqualTo("renamed-guest");

            agent.writeParams(Path.of("/run/strata-params"), Map.of("b", "2", "a", "one"));
            assertThat(new String(agent.readFile(Path.of("/run/strata-params")), StandardCharsets.UTF_8)).isEqualTo("a=one\nb=2\n");

            agent.reconfigureNetwork("fa:16:3e:12:34:56", "fa:16:3e:00:00:99", "10.20.0.16", 24, "10.20.0.1");
            JsonNode nics = agent.networkInterfaces();
            assertThat(nics.toString()).contains("fa:16:3e:00:00:99").contains("10.20.0.16");
        }
    }

    @Test
    @Order(4)
    void pauseStopsTheGuestAndUnpauseContinuesIt() {
        assertThat(hypervisor.act(vmId, VmAction.PAUSE).powerState()).isEqualTo(PowerState.PAUSED);
        int frozen = lastCounter(hypervisor.consoleLog(vmId, 50));
        sleep(Duration.ofMillis(2500));
        assertThat(lastCounter(hypervisor.consoleLog(vmId, 50))).isEqualTo(frozen);
        assertThatThrownBy(() -> hypervisor.act(vmId, VmAction.PAUSE)).isInstanceOf(HypervisorException.class)
                .extracting(e -> ((HypervisorException) e).code()).isEqualTo(ErrorCode.CONFLICT);

        assertThat(hypervisor.act(vmId, VmAction.UNPAUSE).powerState()).isEqualTo(PowerState.RUNNING);
        await().atMost(Duration.ofSeconds(10)).until(() -> lastCounter(hypervisor.consoleLog(vmId, 50)) > frozen);
        assertThat(lastCounter(hypervisor.consoleLog(vmId, 50))).isLessThan(frozen + 5);
    }

    @Test
    @Order(5)
    void suspendSavesTheWholeGuestAndResumeContinuesItsMemory() {
        int before = lastCounter(hypervisor.consoleLog(vmId, 50));
        long pidBefore = Long.parseLong(hypervisor.find(vmId).orElseThrow().details().get("pid"));

        VmInfo suspended = hypervisor.act(vmId, VmAction.SUSPEND);
        assertThat(suspended.powerState()).isEqualTo(PowerState.SUSPENDED);
        assertThat(suspended.details()).doesNotContainKey("pid");
        assertThat(Processes.isAlive(pidBefore)).isFalse();
        assertThat(config.runRoot().resolve(vmId).resolve("suspend.state")).exists();
        assertThat(config.ramRoot().resolve(vmId).resolve("ram")).doesNotExist();
        assertThatThrownBy(() -> hypervisor.act(vmId, VmAction.START)).isInstanceOf(HypervisorException.class);

        assertThat(hypervisor.act(vmId, VmAction.RESUME).powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(config.runRoot().resolve(vmId).resolve("suspend.state")).doesNotExist();
        await().atMost(Duration.ofSeconds(10)).until(() -> lastCounter(hypervisor.consoleLog(vmId, 50)) > before + 1);
        String console = hypervisor.consoleLog(vmId, 0);
        // The counter went on from its value in memory: the guest did not boot again.
        assertThat(count(console, READY)).isEqualTo(1);
        String afterSuspend = console.substring(console.lastIndexOf("STRATA-COUNTER " + before + "\n"));
        assertThat(afterSuspend).doesNotContain("STRATA-COUNTER 1\n");
        try (GuestAgentClient agent = agent()) {
            assertThat(agent.shell("hostname").strip()).isEqualTo("renamed-guest");
        }
    }

    @Test
    @Order(6)
    void softRebootPowersTheGuestOffThroughAcpiAndBootsItAgain() {
        long pid = pid();
        int powerDowns = count(hypervisor.consoleLog(vmId, 0), POWER_DOWN);
        assertThat(hypervisor.act(vmId, VmAction.REBOOT_SOFT).powerState()).isEqualTo(PowerState.RUNNING);
        // The guest itself powered off (its acpid ran poweroff on the power button) before the
        // reset: a reset forced after the grace period would leave no such line.
        assertThat(count(hypervisor.consoleLog(vmId, 0), POWER_DOWN)).isEqualTo(powerDowns + 1);
        awaitConsole(hypervisor, vmId, READY, 2, BOOT);
        assertThat(pid()).isEqualTo(pid); // the same QEMU process: reset, not restarted
    }

    @Test
    @Order(7)
    void hardRebootResetsTheGuest() {
        long pid = pid();
        int powerDowns = count(hypervisor.consoleLog(vmId, 0), POWER_DOWN);
        assertThat(hypervisor.act(vmId, VmAction.REBOOT_HARD).powerState()).isEqualTo(PowerState.RUNNING);
        awaitConsole(hypervisor, vmId, READY, 3, BOOT);
        // A reset: the guest was not asked, so it never powered off.
        assertThat(count(hypervisor.consoleLog(vmId, 0), POWER_DOWN)).isEqualTo(powerDowns);
        assertThat(pid()).isEqualTo(pid);
    }

    @Test
    @Order(8)
    void stopPowersOffAndEndsQemuAndStartBootsTheSameDisksAgain() {
        long pid = pid();
        int powerDowns = count(hypervisor.consoleLog(vmId, 0), POWER_DOWN);
        VmInfo stopped = hypervisor.act(vmId, VmAction.STOP);
        assertThat(stopped.powerState()).isEqualTo(PowerState.SHUTDOWN);
        // Through ACPI: the guest powered itself off before QEMU was ended.
        assertThat(count(hypervisor.consoleLog(vmId, 0), POWER_DOWN)).isEqualTo(powerDowns + 1);
        assertThat(Processes.isAlive(pid)).isFalse();
        assertThat(config.ramRoot().resolve(vmId).resolve("ram")).doesNotExist();
        for (VmAction action : List.of(VmAction.STOP, VmAction.PAUSE, VmAction.UNPAUSE, VmAction.SUSPEND, VmAction.RESUME, VmAction.REBOOT_SOFT)) {
            assertThatThrownBy(() -> hypervisor.act(vmId, action)).as(action.name())
                    .isInstanceOf(HypervisorException.class).hasMessageContaining("while it is SHUTDOWN");
        }

        assertThat(hypervisor.act(vmId, VmAction.START).powerState()).isEqualTo(PowerState.RUNNING);
        awaitConsole(hypervisor, vmId, READY, 4, BOOT);
        assertThatThrownBy(() -> hypervisor.act(vmId, VmAction.START)).isInstanceOf(HypervisorException.class);
    }

    @Test
    @Order(9)
    void aGuestIgnoringTheAcpiButtonIsResetBySoftRebootAndEndedByStopAfterTheGracePeriod() {
        long pid = pid();
        int powerDowns = count(hypervisor.consoleLog(vmId, 0), POWER_DOWN);
        ignoreAcpi();
        long started = System.nanoTime();
        assertThat(hypervisor.act(vmId, VmAction.REBOOT_SOFT).powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(REBOOT_TIMEOUT);
        awaitConsole(hypervisor, vmId, READY, 5, BOOT);
        assertThat(pid()).isEqualTo(pid);

        ignoreAcpi(); // the new boot started acpid again
        started = System.nanoTime();
        assertThat(hypervisor.act(vmId, VmAction.STOP).powerState()).isEqualTo(PowerState.SHUTDOWN);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(STOP_TIMEOUT);
        assertThat(Processes.isAlive(pid)).isFalse();
        assertThat(count(hypervisor.consoleLog(vmId, 0), POWER_DOWN)).as("the guest never powered itself off").isEqualTo(powerDowns);

        assertThat(hypervisor.act(vmId, VmAction.START).powerState()).isEqualTo(PowerState.RUNNING);
        awaitConsole(hypervisor, vmId, READY, 6, BOOT);
    }

    @Test
    @Order(10)
    void consoleLogTailsTheSerialConsole() {
        String all = hypervisor.consoleLog(vmId, 0);
        String tail = hypervisor.consoleLog(vmId, 3);
        assertThat(tail.split("\n")).hasSize(3);
        assertThat(all).endsWith(tail);
        assertThat(all).contains(READY);
        assertThatThrownBy(() -> hypervisor.consoleLog("no-such-vm", 10)).isInstanceOf(HypervisorException.class)
                .extracting(e -> ((HypervisorException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
    }

    @Test
    @Order(11)
    void destroyLeavesNothingBehindAndIsIdempotent() {
        long pid = pid();
        hypervisor.destroy(vmId);
        assertThat(Processes.isAlive(pid)).isFalse();
        assertThat(config.runRoot().resolve(vmId)).doesNotExist();
        assertThat(config.ramRoot().resolve(vmId)).doesNotExist();
        assertThat(hypervisor.find(vmId)).isEmpty();
        assertThat(hypervisor.discover()).isEmpty();
        hypervisor.destroy(vmId);
        assertThatThrownBy(() -> hypervisor.act(vmId, VmAction.START)).isInstanceOf(HypervisorException.class)
                .extracting(e -> ((HypervisorException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
    }

    /** Ends the guest's acpid: the power button then does nothing, like a hung or unconfigured guest. */
    private void ignoreAcpi() {
        try (GuestAgentClient agent = agent()) {
            agent.shell("killall acpid; sleep 0.2");
            assertThat(agent.shell("pidof acpid || echo none").strip()).isEqualTo("none");
        }
    }

    private GuestAgentClient agent() {
        return GuestAgentClient.connect(config.runRoot().resolve(vmId).resolve("qga.sock"), Duration.ofSeconds(20));
    }

    private long pid() {
        return Long.parseLong(hypervisor.find(vmId).orElseThrow().details().get("pid"));
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
