package io.strata.cli;

import io.strata.server.ClusterSettings;
import io.strata.server.ControllerServer;
import io.strata.server.StrataConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code strata up}: the whole cloud in one process — controller, scheduler and a local agent. */
@Command(name = "up",
        description = "Start an all-in-one cloud: API, scheduler and a local hypervisor agent in one process.")
final class UpCommand implements Callable<Integer> {
    @Mixin
    ServerOptions server;

    @Option(names = "--driver", description = "Hypervisor driver: fake or qemu (default ${DEFAULT-VALUE}).", defaultValue = "fake")
    String driver;

    @Option(names = "--accel", description = "QEMU acceleration: auto, kvm or tcg (default ${DEFAULT-VALUE}).", defaultValue = "auto")
    String accel;

    @Option(names = "--kvm-probe-image", description = "Directory with the test guest's vmlinuz and initrd.img that --accel auto "
            + "boots once under KVM before trusting it (or STRATA_KVM_PROBE_IMAGE; bin/strata points it at tools/guest-image/out).",
            defaultValue = "${env:STRATA_KVM_PROBE_IMAGE}")
    Path kvmProbeImage;

    @Option(names = "--fake-hosts", description = "Number of simulated hosts with the fake driver (default ${DEFAULT-VALUE}).",
            defaultValue = "1")
    int fakeHosts;

    @Option(names = "--fake-action-delay", paramLabel = "SECONDS", converter = ServerOptions.DurationConverter.class,
            description = "How long each simulated VM transition takes, to watch the transitional states (default none).")
    Duration fakeActionDelay;

    @Option(names = "--qemu-hosts", description = "Number of QEMU hosts on this machine with --driver qemu, for live migration "
            + "between them (default ${DEFAULT-VALUE}).", defaultValue = "1")
    int qemuHosts;

    @Option(names = "--live-image-warm", description = "QEMU processes kept loaded and paused per live image with --driver qemu, "
            + "so that a clone need not start one (0 turns this off; default ${DEFAULT-VALUE}).", defaultValue = "1")
    int liveImageWarm;

    @Override
    public Integer call() throws Exception {
        StrataConfig config = server.config(ClusterSettings.ALL_IN_ONE)
                .withDriver(driver)
                .withAccel(accel)
                .withKvmProbeImage(kvmProbeImage)
                .withQemuHosts(qemuHosts)
                .withLiveImageWarm(liveImageWarm);
        StrataConfig.FakeHostSpec fake = config.fakeHost();
        if (fakeActionDelay != null) {
            fake = new StrataConfig.FakeHostSpec(fake.vcpus(), fake.memoryMb(), fake.diskGb(), fakeActionDelay);
        }
        config = config.withFakeHosts(fakeHosts, fake);
        return serve(config);
    }

    /** Starts the controller and blocks until the process is told to stop. */
    static int serve(StrataConfig config) throws InterruptedException, java.io.IOException {
        LogFiles.useFormat(System.getenv(LogFiles.FORMAT_VARIABLE));
        Path logFile = LogFiles.writeTo(config.dataDir().resolve("logs"));
        ControllerServer server = ControllerServer.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "strata-shutdown"));
        System.out.printf("Strata is up at %s%n", server.baseUrl());
        System.out.printf("  credentials: source %s%n", config.dataDir().resolve("openrc"));
        System.out.printf("  log file:    %s%n", logFile);
        System.out.printf("  then try:    openstack server list%n");
        System.out.flush();
        stopped.await();
        return 0;
    }
}
