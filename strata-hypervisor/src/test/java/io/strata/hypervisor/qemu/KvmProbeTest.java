package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The probe behind {@code --accel auto}, with real QEMU and the test guest. No host here boots
 * under KVM, so the probe is pointed at TCG through the same path ({@link KvmProbe.Candidate}):
 * it must see the guest's ready marker on the serial console to trust the accelerator, give up
 * after its timeout, notice a QEMU that refuses the CPU model, and cache one verdict per host.
 */
@Tag("qemu")
class KvmProbeTest {
    /** TCG in place of KVM: /dev/null stands in for the device, which the probe only checks is usable. */
    private static final KvmProbe.Candidate TCG = new KvmProbe.Candidate("tcg", Path.of("/dev/null"), "max");

    private Path state;
    private QemuConfig config;

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createTempDirectory("strata-probe-test");
        config = TestGuests.config(state);
    }

    @AfterEach
    void tearDown() {
        TestGuests.deleteTree(config.runRoot().getParent());
        TestGuests.deleteTree(config.ramRoot());
        TestGuests.deleteTree(state);
    }

    @Test
    void trustsTheAcceleratorOnlyOnceTheProbeGuestBootedAndCachesThatVerdict() {
        QemuConfig patient = config.withTimeouts(config.stopTimeout(), config.rebootTimeout(), Duration.ofSeconds(120));
        long started = System.nanoTime();
        KvmProbe.Verdict verdict = new KvmProbe(patient, "7002000", TCG).decide();
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        assertThat(verdict.reason()).isEqualTo("probe guest booted under tcg");
        assertThat(verdict.accelerator()).isEqualTo("tcg");
        assertThat(verdict.key()).contains("qemu 7002000").contains("kernel ").contains("cpu ");
        // A real boot of the test kernel to its ready marker, not a look at the device.
        assertThat(took).isGreaterThan(Duration.ofMillis(500));
        assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)).as("the probe's QEMU is gone").isEmpty();
        assertThat(state.resolve("accel-verdict.json")).exists();

        // Per host: the next start reads the verdict (same probedAt) instead of booting again ...
        assertThat(new KvmProbe(patient, "7002000", TCG).decide()).isEqualTo(verdict);
        // ... until what it depends on changes (here the QEMU version): then it probes again (with
        // a timeout too short to boot, so the new verdict is told apart quickly) and replaces it.
        QemuConfig hasty = config.withTimeouts(config.stopTimeout(), config.rebootTimeout(), Duration.ofMillis(300));
        KvmProbe.Verdict upgraded = new KvmProbe(hasty, "8000000", TCG).decide();
        assertThat(upgraded.key()).contains("qemu 8000000");
        assertThat(upgraded.reason()).startsWith("probe guest did not boot");
        assertThat(new KvmProbe(patient, "8000000", TCG).decide()).isEqualTo(upgraded);
    }

    @Test
    void fallsBackToTcgWhenTheProbeGuestDoesNotBootInTime() {
        QemuConfig hasty = config.withTimeouts(config.stopTimeout(), config.rebootTimeout(), Duration.ofMillis(300));
        KvmProbe.Verdict verdict = new KvmProbe(hasty, "7002000", TCG).decide();

        assertThat(verdict.accelerator()).isEqualTo("tcg");
        assertThat(verdict.reason()).isEqualTo("probe guest did not boot under tcg within PT0.3S");
        assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)).as("the probe's QEMU was killed").isEmpty();
    }

    @Test
    void fallsBackToTcgWhenQemuRefusesTheAcceleratorsCpuModel() {
        // Like -cpu host aborting on an MSR under a broken KVM: QEMU exits before the guest runs.
        KvmProbe.Candidate refused = new KvmProbe.Candidate("tcg", Path.of("/dev/null"), "host");
        KvmProbe.Verdict verdict = new KvmProbe(config, "7002000", refused).decide();

        assertThat(verdict.accelerator()).isEqualTo("tcg");
        assertThat(verdict.reason()).startsWith("probe guest's QEMU exited under tcg: ").contains("host");
    }

    @Test
    void fallsBackToTcgWithoutProbingWhenTheDeviceIsMissing() {
        KvmProbe.Candidate missing = new KvmProbe.Candidate("kvm", Path.of("/nonexistent/kvm"), "host");
        KvmProbe.Verdict verdict = new KvmProbe(config, "7002000", missing).decide();

        assertThat(verdict.accelerator()).isEqualTo("tcg");
        assertThat(verdict.reason()).isEqualTo("/nonexistent/kvm is missing or not accessible");
    }
}
