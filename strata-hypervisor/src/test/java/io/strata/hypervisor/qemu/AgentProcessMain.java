package io.strata.hypervisor.qemu;

import io.strata.hypervisor.VmInfo;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A stand-in agent for {@link QemuHostTest}: creates one VM on the given directories, prints
 * "CREATED pid", and waits to be SIGKILLed, as a crashing agent would be.
 */
public final class AgentProcessMain {
    private AgentProcessMain() {
    }

    public static void main(String[] args) throws Exception {
        Path runRoot = Path.of(args[0]);
        QemuConfig config = new QemuConfig(Path.of("qemu-system-x86_64"), Path.of("qemu-img"), runRoot, Path.of(args[1]),
                Path.of(args[2]), AccelMode.AUTO, Path.of(args[3]), "test-host", "127.0.0.1", 0, 0, 0,
                Duration.ofSeconds(20), Duration.ofSeconds(20), Duration.ofSeconds(15));
        QemuHypervisor hypervisor = new QemuHypervisor(config);
        VmInfo vm = hypervisor.create(TestGuests.spec(args[4], TestGuests.kernelBoot(), null, 0));
        System.out.println("CREATED " + vm.details().get("pid"));
        System.out.flush();
        Thread.sleep(Duration.ofMinutes(5));
    }
}
