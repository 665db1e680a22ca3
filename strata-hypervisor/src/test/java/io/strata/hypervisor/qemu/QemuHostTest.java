package io.strata.hypervisor.qemu;

import static io.strata.hypervisor.qemu.TestGuests.READY;
import static io.strata.hypervisor.qemu.TestGuests.awaitConsole;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.compute.PowerState;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmInfo;
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

/**
 * The host side of the driver with real guests: events for processes that end on their own,
 * re-adoption after an agent restart, firmware boot, the KVM probe, and refusals.
 */
@Tag("qemu")
class QemuHostTest {
    private static final Duration BOOT = Duration.ofSeconds(60);

    private QemuConfig config;
    private QemuHypervisor hypervisor;
    private final List<VmEvent> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        config = TestGuests.config(TestGuests.SHARED_STATE);
        hypervisor = new QemuHypervisor(config);
        hypervisor.subscribe(events::add);
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
    void aKilledQemuIsReportedAsCrashedWithinSeconds() {
        String id = UUID.randomUUID().toString();
        long pid = pid(hypervisor.create(TestGuests.spec(id, TestGuests.kernelBoot(), null, 0)));

        ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // SIGKILL

        VmEvent event = await().atMost(Duration.ofSeconds(5)).until(() -> events.stream().filter(e -> e.vmId().equals(id)).findFirst(),
                found -> found.isPresent()).orElseThrow();
        assertThat(event.powerState()).isEqualTo(PowerState.CRASHED);
        assertThat(event.message()).contains(Long.toString(pid));
        assertThat(hypervisor.find(id).orElseThrow().powerState()).isEqualTo(PowerState.SHUTDOWN);
        assertThat(config.ramRoot().resolve(id).resolve("ram")).doesNotExist();
    }

    @Test
    void aGuestThatPowersItselfOffIsReportedAsShutdownAndItsQemuEnds() {
        String id = UUID.randomUUID().toString();
        long pid = pid(hypervisor.create(TestGuests.spec(id, TestGuests.kernelBoot(), null, 0)));
        awaitConsole(hypervisor, id, READY, 1, BOOT);

        try (GuestAgentClient agent = GuestAgentClient.connect(config.runRoot().resolve(id).resolve("qga.sock"), Duration.ofSeconds(20))) {
            agent.execute("guest-exec", Map.of("path", "/bin/sh", "arg", List.of("-c", "sleep 0.3; poweroff -f")));
        }

        VmEvent event = await().atMost(Duration.ofSeconds(10)).until(() -> events.stream().filter(e -> e.vmId().equals(id)).findFirst(),
                found -> found.isPresent()).orElseThrow();
        assertThat(event.powerState()).isEqualTo(PowerState.SHUTDOWN);
        await().atMost(Duration.ofSeconds(5)).until(() -> !Processes.isAlive(pid));
        assertThat(hypervisor.find(id).orElseThrow().powerState()).isEqualTo(PowerState.SHUTDOWN);
    }

    @Test
    void aNewInstanceReadoptsRunningGuestsAndReportsVanishedOnesAsCrashed() {
        String alive = UUID.randomUUID().toString();
        String vanished = UUID.randomUUID().toString();
        long alivePid = pid(hypervisor.create(TestGuests.spec(alive, TestGuests.kernelBoot(), null, 0)));
        long vanishedPid = pid(hypervisor.create(TestGuests.spec(vanished, TestGuests.kernelBoot(), null, 0)));
        awaitConsole(hypervisor, alive, READY, 1, BOOT);

        hypervisor.close(); // the agent goes away; its guests do not
        assertThat(Processes.isAlive(alivePid)).isTrue();
        ProcessHandle.of(vanishedPid).orElseThrow().destroyForcibly();
        await().atMost(Duration.ofSeconds(5)).until(() -> !Processes.isAlive(vanishedPid));

        hypervisor = new QemuHypervisor(config);
        hypervisor.subscribe(events::add);
        Map<String, VmInfo> found = new java.util.HashMap<>();
        hypervisor.discover().forEach(vm -> found.put(vm.id(), vm));
        assertThat(found).containsOnlyKeys(alive, vanished);
        assertThat(found.get(alive).powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(found.get(alive).details()).containsEntry("pid", Long.toString(alivePid));
        // Died while no agent watched: CRASHED (not a clean power-off), saying which process, and
        // its RAM file (tmpfs, host memory) is gone.
        assertThat(found.get(vanished).powerState()).isEqualTo(PowerState.CRASHED);
        assertThat(found.get(vanished).details()).doesNotContainKey("pid")
                .hasEntrySatisfying("fault", fault -> assertThat(fault).contains(Long.toString(vanishedPid)).contains("no agent watched"));
        assertThat(config.ramRoot().resolve(vanished).resolve("ram")).doesNotExist();
        assertThat(events).isEmpty(); // discover reports; it neither starts nor kills

        // A crashed VM starts again like a stopped one, and is then no longer reported crashed.
        assertThat(hypervisor.act(vanished, VmAction.START).powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(hypervisor.find(vanished).orElseThrow().details()).containsKey("pid").doesNotContainKey("fault");

        // The re-adopted guest is fully driven and watched by the new instance.
        assertThat(hypervisor.act(alive, VmAction.PAUSE).powerState()).isEqualTo(PowerState.PAUSED);
        assertThat(hypervisor.act(alive, VmAction.UNPAUSE).powerState()).isEqualTo(PowerState.RUNNING);
        ProcessHandle.of(alivePid).orElseThrow().destroyForcibly();
        await().atMost(Duration.ofSeconds(5)).until(() -> events.stream().anyMatch(e -> e.vmId().equals(alive) && e.powerState() == PowerState.CRASHED));
    }

    @Test
    void guestsOutliveASigkilledAgentAndTheNextAgentTakesThemOver() throws Exception {
        String id = UUID.randomUUID().toString();
        String javaBinary = ProcessHandle.current().info().command().orElse("java");
        Process agent = new ProcessBuilder(javaBinary, "-cp", System.getProperty("java.class.path"),
                "-Dbasedir=" + System.getProperty("basedir", "."), "-Dstrata.guestImage.dir=" + TestGuests.imageDir(),
                AgentProcessMain.class.getName(), config.runRoot().toString(), config.ramRoot().toString(),
                config.stateDir().toString(), TestGuests.imageDir().toString(), id)
                .redirectErrorStream(true).start();
        long pid;
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(agent.getInputStream())).lines()) {
            String created = lines.filter(line -> line.startsWith("CREATED ")).findFirst().orElseThrow();
            pid = Long.parseLong(created.substring("CREATED ".length()).strip());
        } finally {
            agent.destroyForcibly(); // SIGKILL: no shutdown hook, no clean close
        }
        assertThat(agent.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(agent.exitValue()).isEqualTo(137);

        Processes.sleep(Duration.ofSeconds(1));
        assertThat(Processes.isAlive(pid)).as("QEMU outlives its agent").isTrue();
        VmInfo found = hypervisor.find(id).orElseThrow();
        assertThat(found.powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(found.details()).containsEntry("pid", Long.toString(pid));
        awaitConsole(hypervisor, id, READY, 1, BOOT);
        assertThat(hypervisor.act(id, VmAction.REBOOT_HARD).powerState()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void aDiskImageBootsByFirmwareFromAGrownOverlay() throws Exception {
        String id = UUID.randomUUID().toString();
        var base = TestGuests.spec(id, TestGuests.diskBoot(), null, 0);
        var spec = new io.strata.hypervisor.VmSpec(id, base.name(), base.hostname(), 1, 256, 1, base.boot(), null,
                Map.of(), Map.of(), base.network(), Map.of(), 0);
        hypervisor.create(spec);
        awaitConsole(hypervisor, id, READY, 1, BOOT);

        Path overlay = config.runRoot().resolve(id).resolve("disk.qcow2");
        JsonNode info = new ObjectMapper().readTree(Processes.run(List.of("qemu-img", "info", "--output=json", "-U", overlay.toString()), Duration.ofSeconds(10)));
        assertThat(info.path("virtual-size").asLong()).isEqualTo(1024L * 1024 * 1024);
        assertThat(info.path("backing-filename").asText()).isEqualTo(TestGuests.imageDir().resolve("disk.qcow2").toString());
        assertThat(hypervisor.consoleLog(id, 0)).contains("config drive /dev/vdb mounted");
    }

    @Test
    void theKvmProbeFallsBackToTcgHereAndCachesItsVerdict() throws Exception {
        Path state = Files.createTempDirectory("strata-probe-state");
        try {
            QemuConfig fresh = TestGuests.config(state);
            QemuHypervisor probed = new QemuHypervisor(fresh);
            probed.close();
            // On this workplace's hosts /dev/kvm opens, but -cpu host aborts on an MSR.
            assertThat(probed.describe().accelerator()).isEqualTo("tcg");
            assertThat(probed.acceleratorReason()).isNotBlank();
            Path verdict = state.resolve("accel-verdict.json");
            assertThat(verdict).exists();
            String cached = Files.readString(verdict);

            QemuHypervisor again = new QemuHypervisor(fresh);
            again.close();
            assertThat(again.describe().accelerator()).isEqualTo("tcg");
            assertThat(Files.readString(verdict)).isEqualTo(cached); // read, not probed again

            try (QemuHypervisor configured = new QemuHypervisor(fresh.withAccel(AccelMode.TCG))) {
                assertThat(configured.describe().accelerator()).isEqualTo("tcg");
                assertThat(configured.acceleratorReason()).isEqualTo("configured");
            }
            TestGuests.deleteTree(fresh.runRoot().getParent());
            TestGuests.deleteTree(fresh.ramRoot());
        } finally {
            TestGuests.deleteTree(state);
        }
    }

    @Test
    void refusesDuplicatesAndVmsWithNothingToBootLeavingNothingBehind() {
        String id = UUID.randomUUID().toString();
        assertThatThrownBy(() -> hypervisor.create(TestGuests.spec(id, BootSource.none(), null, 0)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST));
        assertThat(config.runRoot().resolve(id)).doesNotExist();

        BootSource missing = new BootSource(Path.of("/nonexistent/disk.qcow2"), "qcow2", null, null, null);
        assertThatThrownBy(() -> hypervisor.create(TestGuests.spec(id, missing, null, 0)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST));
        assertThat(config.runRoot().resolve(id)).doesNotExist();

        hypervisor.create(TestGuests.spec(id, TestGuests.kernelBoot(), null, 0));
        assertThatThrownBy(() -> hypervisor.create(TestGuests.spec(id, TestGuests.kernelBoot(), null, 0)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThat(hypervisor.find(id).orElseThrow().powerState()).isEqualTo(PowerState.RUNNING);
    }

    private static long pid(VmInfo info) {
        return Long.parseLong(info.details().get("pid"));
    }
}
