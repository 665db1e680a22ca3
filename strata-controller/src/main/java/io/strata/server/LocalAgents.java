package io.strata.server;

import io.strata.agent.ImageFetcher;
import io.strata.agent.LocalController;
import io.strata.agent.liveimage.LiveImageCache;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.fake.FakeHypervisor;
import io.strata.hypervisor.qemu.AccelMode;
import io.strata.hypervisor.qemu.QemuConfig;
import io.strata.hypervisor.qemu.QemuHypervisor;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The agents an all-in-one process runs for itself: one per simulated host with the fake
 * driver, or one QEMU host. Their hypervisors keep their state under the data directory so a
 * restarted process finds its VMs again.
 */
final class LocalAgents {
    private LocalAgents() {}

    /** @param agentToken what this process's hosts show remote agents when they copy those agents' live images */
    static List<LocalController> create(StrataConfig config, ImageFetcher images, String agentToken) {
        List<LocalController> agents = new ArrayList<>();
        if (config.driver() == null) {
            return agents;
        }
        Path dataDir = config.dataDir();
        switch (config.driver()) {
            case "fake" -> {
                StrataConfig.FakeHostSpec spec = config.fakeHost();
                for (int i = 1; i <= config.fakeHosts(); i++) {
                    String name = config.fakeHosts() == 1 ? machineHostname() : String.format(Locale.ROOT, "compute-%04d", i);
                    Hypervisor hypervisor = new FakeHypervisor(FakeHypervisor.hostInfo(name, spec.vcpus(), spec.memoryMb(), spec.diskGb()),
                            spec.actionDelay(), dataDir.resolve("fake").resolve(name + ".json"));
                    agents.add(new LocalController(name, hypervisor, images, dataDir.resolve("live-images")));
                }
            }
            case "qemu" -> {
                // Several QEMU hosts on one machine (live migration between them): each its own
                // run and RAM directories, since a migrating VM has the same id on both.
                for (int i = 1; i <= config.qemuHosts(); i++) {
                    String name = i == 1 ? machineHostname() : machineHostname() + "-" + i;
                    QemuConfig qemu = QemuConfig.defaults(dataDir, name, machineAddress())
                            .withAccel(AccelMode.valueOf(config.accel().toUpperCase(Locale.ROOT)))
                            .withProbeImageDir(config.kvmProbeImage());
                    if (i > 1) {
                        qemu = qemu.withRunRoot(dataDir.resolve("qemu-" + i)).withRamRoot(Path.of("/dev/shm/strata-" + i));
                    }
                    QemuHypervisor hypervisor = new QemuHypervisor(qemu, config.liveImageWarm());
                    // Copies of remote agents' live images (this process's own hosts share theirs);
                    // one directory per host, since each host fetches on its own.
                    LiveImageCache copies = new LiveImageCache(dataDir.resolve(i == 1 ? "live-image-copies" : "live-image-copies-" + i),
                            hypervisor, agentToken, () -> null);
                    copies.removeUnfinished();
                    LocalController agent = new LocalController(name, hypervisor, images, dataDir.resolve("live-images"), copies);
                    // Live images blessed before this start get their warm processes again.
                    agent.warmUpLiveImages();
                    agents.add(agent);
                }
            }
            default -> throw new IllegalArgumentException("unknown driver " + config.driver());
        }
        return agents;
    }

    /** The address other hosts would reach this one at, for os-hypervisors' host_ip. */
    static String machineAddress() {
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException e) {
            return "127.0.0.1";
        }
    }

    static String machineHostname() {
        try {
            String name = InetAddress.getLocalHost().getHostName();
            int dot = name.indexOf('.');
            return dot > 0 ? name.substring(0, dot) : name;
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
