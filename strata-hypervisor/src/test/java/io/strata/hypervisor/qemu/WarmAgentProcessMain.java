package io.strata.hypervisor.qemu;

import static org.awaitility.Awaitility.await;

import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A stand-in agent for {@link WarmLiveImageTest}: with one warm process per live image, boots a
 * guest, blesses it, launches one clone from the warm process, waits for the pool to refill,
 * prints "READY" and waits to be SIGKILLed, as a crashing agent would be.
 * Arguments: runRoot ramRoot stateDir guestImageDir liveImageDir sourceId cloneId.
 */
public final class WarmAgentProcessMain {
    private WarmAgentProcessMain() {
    }

    public static void main(String[] args) throws Exception {
        QemuConfig config = new QemuConfig(Path.of("qemu-system-x86_64"), Path.of("qemu-img"), Path.of(args[0]), Path.of(args[1]),
                Path.of(args[2]), AccelMode.AUTO, Path.of(args[3]), "test-host", "127.0.0.1", 0, 0, 0,
                Duration.ofSeconds(20), Duration.ofSeconds(20), Duration.ofSeconds(15));
        QemuHypervisor hypervisor = new QemuHypervisor(config, 1);
        String source = args[5];
        hypervisor.create(TestGuests.spec(source, TestGuests.kernelBoot(), null, 0));
        TestGuests.awaitConsole(hypervisor, source, TestGuests.READY, 1, Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(10)).until(() -> TestGuests.lastCounter(hypervisor.consoleLog(source, 20)) >= 2);
        LiveImageRef image = hypervisor.bless(source, Path.of(args[4]));
        await().atMost(Duration.ofSeconds(30)).until(() -> hypervisor.warmProcesses(image.dir()) == 1);
        NetworkSpec network = new NetworkSpec("fa:16:3e:00:00:78", "10.20.0.78", 24, "10.20.0.1", List.of(), 0);
        hypervisor.launch(image, new VmSpec(args[6], "clone", "warm-clone", 1, 256, 0, null, null, Map.of(), Map.of(), network, Map.of(), 0));
        await().atMost(Duration.ofSeconds(30)).until(() -> hypervisor.warmProcesses(image.dir()) == 1);
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Duration.ofMinutes(5));
    }
}
