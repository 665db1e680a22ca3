package io.strata.cli;

import io.strata.compute.SchedulerSettings;
import io.strata.compute.QuotaDefaults;
import io.strata.server.ControllerServer;
import io.strata.server.StrataConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code strata up}: the whole cloud in one process — controller, scheduler and a local agent. */
@Command(name = "up",
        description = "Start an all-in-one cloud: API, scheduler and a local hypervisor agent in one process.")
final class UpCommand implements Callable<Integer> {
    @Option(names = "--port", description = "API port (default ${DEFAULT-VALUE}).", defaultValue = "8774")
    int port;

    @Option(names = "--bind", description = "Address to listen on (default ${DEFAULT-VALUE}).", defaultValue = "0.0.0.0")
    String bind;

    @Option(names = "--public-url", description = "Base URL put in the service catalog (default http://127.0.0.1:PORT).")
    String publicUrl;

    @Option(names = "--data-dir", description = "Where the database, images, VMs and openrc live (default ~/.strata).")
    Path dataDir;

    @Option(names = "--driver", description = "Hypervisor driver: fake or qemu (default ${DEFAULT-VALUE}).", defaultValue = "fake")
    String driver;

    @Option(names = "--accel", description = "QEMU acceleration: auto, kvm or tcg (default ${DEFAULT-VALUE}).", defaultValue = "auto")
    String accel;

    @Option(names = "--kvm-probe-image", description = "Directory with the test guest's vmlinuz and initrd.img that --accel auto "
            + "boots once under KVM before trusting it (or STRATA_KVM_PROBE_IMAGE; bin/strata points it at tools/guest-image/out).",
            defaultValue = "${env:STRATA_KVM_PROBE_IMAGE}")
    Path kvmProbeImage;

    @Option(names = "--db", description = "JDBC URL of a PostgreSQL database (default: embedded H2 under the data dir).")
    String databaseUrl;

    @Option(names = "--db-user", description = "Database user.", defaultValue = "${env:STRATA_DB_USER}")
    String databaseUser;

    @Option(names = "--db-password", description = "Database password (or STRATA_DB_PASSWORD).", defaultValue = "${env:STRATA_DB_PASSWORD}")
    String databasePassword;

    @Option(names = "--admin-password", description = "Password of the admin user on first start (or STRATA_ADMIN_PASSWORD; "
            + "generated if neither is given).", defaultValue = "${env:STRATA_ADMIN_PASSWORD}")
    String adminPassword;

    @Option(names = "--fake-hosts", description = "Number of simulated hosts with the fake driver (default ${DEFAULT-VALUE}).",
            defaultValue = "1")
    int fakeHosts;

    @Option(names = "--quota", paramLabel = "NAME=VALUE", description = "Default quota of projects, e.g. instances=10 (repeatable; "
            + "-1 is unlimited).")
    java.util.List<String> quotas = new java.util.ArrayList<>();
    @Option(names = "--qemu-hosts", description = "Number of QEMU hosts on this machine with --driver qemu, for live migration "
            + "between them (default ${DEFAULT-VALUE}).", defaultValue = "1")
    int qemuHosts;

    @Option(names = "--live-image-warm", description = "QEMU processes kept loaded and paused per live image with --driver qemu, "
            + "so that a clone need not start one (0 turns this off; default ${DEFAULT-VALUE}).", defaultValue = "1")
    int liveImageWarm;

    @Option(names = "--cpu-allocation-ratio", description = "How many vCPUs the scheduler places per host CPU (Nova's "
            + "cpu_allocation_ratio, default ${DEFAULT-VALUE}).", defaultValue = "16.0")
    double cpuAllocationRatio;

    @Option(names = "--ram-allocation-ratio", description = "How far host RAM may be overcommitted (Nova's ram_allocation_ratio, "
            + "default ${DEFAULT-VALUE}).", defaultValue = "1.5")
    double ramAllocationRatio;

    @Override
    public Integer call() throws Exception {
        Path dir = dataDir != null ? dataDir : Path.of(System.getProperty("user.home"), ".strata");
        StrataConfig config = StrataConfig.defaults(dir.toAbsolutePath())
                .withPort(port)
                .withBindHost(bind)
                .withPublicUrl(publicUrl)
                .withDriver(driver)
                .withAccel(accel)
                .withKvmProbeImage(kvmProbeImage)
                .withQemuHosts(qemuHosts)
                .withLiveImageWarm(liveImageWarm)
                .withScheduler(new SchedulerSettings(cpuAllocationRatio, ramAllocationRatio,
                        SchedulerSettings.DEFAULT.diskAllocationRatio()))
                .withAdminPassword(blankToNull(adminPassword))
                .withDatabase(blankToNull(databaseUrl), blankToNull(databaseUser), blankToNull(databasePassword));
        config = config.withFakeHosts(fakeHosts, config.fakeHost());
        QuotaDefaults quotaDefaults = config.quotas();
        for (String quota : quotas) {
            quotaDefaults = quotaDefaults.with(quota);
        }
        config = config.withQuotas(quotaDefaults);
        ControllerServer server = ControllerServer.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "strata-shutdown"));
        System.out.printf("Strata is up at %s%n", server.baseUrl());
        System.out.printf("  credentials: source %s%n", dir.toAbsolutePath().resolve("openrc"));
        System.out.printf("  then try:    openstack server list%n");
        System.out.flush();
        stopped.await();
        return 0;
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
