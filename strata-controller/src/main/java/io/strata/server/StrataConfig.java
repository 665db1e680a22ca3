package io.strata.server;

import static java.util.Objects.requireNonNull;

import io.strata.compute.QuotaDefaults;
import io.strata.compute.SchedulerSettings;
import io.strata.image.ImageService;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything a controller process is configured with, parsed once from flags and environment
 * and validated here, so that nothing downstream reads configuration on its own.
 *
 * @param bindHost address the API listens on
 * @param port API port (0 picks a free one, for tests)
 * @param publicUrl base URL put in the service catalog; null derives it from host and port
 * @param dataDir where the embedded database, images, VM files and openrc live
 * @param databaseUrl JDBC URL; null means the embedded H2 database under {@code dataDir}
 * @param driver hypervisor driver of the local agent ("fake" or "qemu"); null runs no local agent
 * @param adminPassword password of the bootstrap admin; null generates one on first start
 * @param fakeHosts number of simulated hosts the fake driver provides (scale tests)
 * @param accel QEMU acceleration: auto (probe KVM, fall back to TCG), kvm or tcg
 * @param qemuHosts number of QEMU hosts the all-in-one runs (more than one for live migration on one machine)
 * @param liveImageWarm QEMU processes kept loaded and paused per live image, so that a clone need not
 *        start one (0 turns this off; default 1)
 * @param quotas the quota of projects an admin has not given their own (Nova's [quota] defaults)
 * @param cluster how this controller works with others (ZooKeeper, host monitoring, agents on other hosts)
 * @param kvmProbeImage directory with the test guest's vmlinuz and initrd.img that {@code auto}
 *        boots once under KVM to trust it; null means auto cannot probe and uses TCG
 * @param osMorphingImage directory with the vmlinuz and initrd.img the migration worker boots as its
 *        OS-morphing appliance (the test guest of tools/guest-image); null means {@code kvmProbeImage}
 * @param imageSizeCap the largest image, in bytes, the image service takes (Glance's image_size_cap,
 *        default 1 TiB)
 */
public record StrataConfig(
        String bindHost,
        int port,
        String publicUrl,
        Path dataDir,
        String databaseUrl,
        String databaseUser,
        String databasePassword,
        String driver,
        String adminPassword,
        String region,
        Duration tokenTtl,
        int passwordHashCost,
        int fakeHosts,
        FakeHostSpec fakeHost,
        SchedulerSettings scheduler,
        String accel,
        Path kvmProbeImage,
        int qemuHosts,
        int liveImageWarm,
        QuotaDefaults quotas,
        ClusterSettings cluster,
        Path osMorphingImage,
        long imageSizeCap) {
    public StrataConfig {
        requireNonNull(cluster, "cluster is null");
        requireNonNull(bindHost, "bindHost is null");
        requireNonNull(dataDir, "dataDir is null");
        requireNonNull(region, "region is null");
        requireNonNull(tokenTtl, "tokenTtl is null");
        requireNonNull(fakeHost, "fakeHost is null");
        requireNonNull(scheduler, "scheduler is null");
        requireNonNull(quotas, "quotas is null");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be within 0..65535, not " + port);
        }
        if (driver != null && !driver.equals("fake") && !driver.equals("qemu")) {
            throw new IllegalArgumentException("driver must be fake or qemu, not " + driver);
        }
        if (qemuHosts < 1) {
            throw new IllegalArgumentException("qemuHosts must be at least 1");
        }
        if (liveImageWarm < 0) {
            throw new IllegalArgumentException("liveImageWarm must be 0 or more");
        }
        if (fakeHosts < 1) {
            throw new IllegalArgumentException("fakeHosts must be at least 1");
        }
        if (imageSizeCap < 1) {
            throw new IllegalArgumentException("imageSizeCap must be at least 1 byte, not " + imageSizeCap);
        }
        if (accel == null) {
            accel = "auto";
        }
        if (!accel.equals("auto") && !accel.equals("kvm") && !accel.equals("tcg")) {
            throw new IllegalArgumentException("accel must be auto, kvm or tcg, not " + accel);
        }
    }

    /** Defaults of {@code strata up}: port 8774, data under ~/.strata, fake driver. */
    public static StrataConfig defaults(Path dataDir) {
        return new StrataConfig("0.0.0.0", 8774, null, dataDir, null, null, null, "fake", null, "RegionOne",
                Duration.ofHours(1), 10, 1, FakeHostSpec.DEFAULT, SchedulerSettings.DEFAULT, "auto", null, 1, 1, QuotaDefaults.DEFAULT,
                ClusterSettings.ALL_IN_ONE, null,
                ImageService.DEFAULT_SIZE_CAP);
    }

    public StrataConfig withPort(int newPort) {
        return new StrataConfig(bindHost, newPort, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withDatabase(String url, String user, String password) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, url, user, password, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withAdminPassword(String password) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                password, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withDriver(String newDriver) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, newDriver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withPasswordHashCost(int cost) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, cost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts, liveImageWarm,
                quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withFakeHosts(int count, FakeHostSpec spec) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, count, spec, scheduler, accel, kvmProbeImage, qemuHosts, liveImageWarm,
                quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withPublicUrl(String url) {
        return new StrataConfig(bindHost, port, url, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withBindHost(String host) {
        return new StrataConfig(host, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withAccel(String newAccel) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, newAccel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withQemuHosts(int count) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, count,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withLiveImageWarm(int count) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts, count, quotas,
                cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withKvmProbeImage(Path dir) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, dir, qemuHosts, liveImageWarm,
                quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withOsMorphingImage(Path dir) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas,
                cluster, dir, imageSizeCap);
    }

    /** The OS-morphing appliance's directory: {@code osMorphingImage}, else the KVM probe's guest image. */
    public Path effectiveOsMorphingImage() {
        return osMorphingImage != null ? osMorphingImage : kvmProbeImage;
    }

    public StrataConfig withScheduler(SchedulerSettings settings) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, settings, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withCluster(ClusterSettings settings) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas,
                settings, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withQuotas(QuotaDefaults defaults) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, defaults, cluster, osMorphingImage, imageSizeCap);
    }

    public StrataConfig withImageSizeCap(long bytes) {
        return new StrataConfig(bindHost, port, publicUrl, dataDir, databaseUrl, databaseUser, databasePassword, driver,
                adminPassword, region, tokenTtl, passwordHashCost, fakeHosts, fakeHost, scheduler, accel, kvmProbeImage, qemuHosts,
                liveImageWarm, quotas, cluster, osMorphingImage, bytes);
    }

    /**
     * Capacity and timing of each simulated host.
     *
     * @param actionDelay how long each state transition takes, to exercise the transitional states
     */
    public record FakeHostSpec(int vcpus, long memoryMb, long diskGb, Duration actionDelay) {
        public static final FakeHostSpec DEFAULT = new FakeHostSpec(16, 65_536, 1_000, Duration.ZERO);
    }
}
