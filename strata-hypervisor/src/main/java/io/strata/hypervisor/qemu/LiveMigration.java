package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.compute.PowerState;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live migration between two hosts (README, "Live migration"): the destination starts the same
 * devices with {@code -incoming defer} and exports its fresh disk overlay over NBD; the source
 * mirrors its overlay's top layer into that export and migrates its memory while the guest runs,
 * as libvirt's non-shared-storage migration does. Only the image (the overlay's backing file) has
 * to be readable on both hosts.
 */
final class LiveMigration {
    private static final Logger log = LoggerFactory.getLogger(LiveMigration.class);
    /** The root disk's drive id in every VM's command line (QemuCommandLine), and its NBD export name. */
    private static final String DISK = "disk0";
    private static final String MIRROR_JOB = "migration-mirror";
    private static final String EXPORT_ID = "migration-export";
    private static final Duration MIRROR_READY_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration MIGRATION_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration JOB_END_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(50);
    /** Attribute names in MigrationSource/MigrationTarget. */
    static final String CONFIG_DRIVE = "config_drive";
    static final String LIVE_IMAGE = "live_image";
    /** The source's virtio-serial ports (absent: QEMU's default), which the target's device must have. */
    static final String SERIAL_PORTS = "serial_ports";
    static final String ACCELERATOR = "accelerator";

    private final QemuConfig config;
    private final String accelerator;
    private final Disks disks;
    private final VmTable vms;
    private final ConfigDrive configDrive;

    LiveMigration(QemuConfig config, String accelerator, Disks disks, ConfigDrive configDrive, VmTable vms) {
        this.config = requireNonNull(config, "config is null");
        this.accelerator = requireNonNull(accelerator, "accelerator is null");
        this.disks = requireNonNull(disks, "disks is null");
        this.vms = requireNonNull(vms, "vms is null");
        this.configDrive = requireNonNull(configDrive, "configDrive is null");
    }

    /**
     * What a destination must rebuild: sizes and boot from the descriptor, the overlay's backing
     * and size from qemu-img, and the config drive file the guest has mounted (the image's, for a
     * live-image clone), which the destination copies so that the guest sees the same bytes.
     */
    MigrationSource source(String vmId) {
        QemuVm vm = vms.lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        vm.lock.lock();
        try {
            PowerState state = vm.powerState();
            if (state != PowerState.RUNNING) {
                throw new HypervisorException(ErrorCode.CONFLICT, "cannot live-migrate VM " + vmId + " while it is " + state);
            }
            VmDescriptor descriptor = vm.descriptor();
            Disks.OverlayInfo disk = Files.isRegularFile(vm.run().rootDisk()) ? disks.describe(vm.run().rootDisk()) : null;
            if (disk != null && disk.backing() == null) {
                throw new HypervisorException(ErrorCode.CONFLICT, "the root disk of VM " + vmId + " has no backing file to share");
            }
            Map<String, String> attributes = new LinkedHashMap<>();
            attributes.put(ACCELERATOR, descriptor.accelerator());
            configDriveOf(descriptor.commandLine()).ifPresent(path -> attributes.put(CONFIG_DRIVE, path));
            Integer serialPorts = QemuCommandLine.serialPortsOf(descriptor.commandLine());
            if (serialPorts != null) {
                attributes.put(SERIAL_PORTS, serialPorts.toString());
            }
            if (descriptor.liveImage() != null) {
                attributes.put(LIVE_IMAGE, descriptor.liveImage());
            }
            return new MigrationSource(vmId, descriptor.vcpus(), descriptor.memoryMb(), descriptor.targetMemoryMb(), descriptor.boot(),
                    disk == null ? null : disk.backing(), disk == null ? null : disk.backingFormat(), disk == null ? 0 : disk.virtualSize(),
                    attributes);
        } finally {
            vm.lock.unlock();
        }
    }

    /**
     * Starts the receiving QEMU: the source's devices in the same order (same vCPUs, memory, disk,
     * config drive, kernel), fresh shared RAM here, a new overlay on the same backing, waiting
     * with {@code -incoming defer}; then exports the overlay writable over NBD for the mirror and
     * listens for the migration stream. Its vm.json is written first, so it is adoptable (and
     * destroyable) like any VM of this host.
     */
    MigrationTarget prepareIncoming(VmSpec requested, MigrationSource source) {
        requireNonNull(requested, "spec is null");
        requireNonNull(source, "source is null");
        VmSpec spec = UserNetwork.withConcreteSshPort(requested);
        if (!VmTable.isValidId(spec.id()) || !spec.id().equals(source.vmId())) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "unusable VM id " + spec.id() + " for a migration of " + source.vmId());
        }
        String sourceAccelerator = source.attributes().get(ACCELERATOR);
        if (sourceAccelerator != null && !sourceAccelerator.equals(accelerator)) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " runs under " + sourceAccelerator
                    + "; this host runs " + accelerator);
        }
        if (vms.exists(spec.id())) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on this host");
        }
        RunDir run = RunDir.of(config, spec.id());
        String host = config.hostIp();
        try {
            Files.createDirectories(run.dir());
            boolean hasRootDisk = source.diskBacking() != null;
            if (hasRootDisk) {
                disks.createOverlayOfSize(Path.of(source.diskBacking()), source.diskBackingFormat(), run.rootDisk(), source.diskVirtualSize());
            }
            UserNetwork network = UserNetwork.of(spec.network());
            String configDrive = source.attributes().get(CONFIG_DRIVE);
            if (configDrive != null) {
                if (Files.isReadable(Path.of(configDrive))) {
                    // The guest has it mounted: the same bytes, not a rewrite.
                    Files.copy(Path.of(configDrive), run.configDrive());
                } else {
                    // Another machine: the same device, with this spec's content (for a clone, its own
                    // identity rather than its image's; the guest only sees it if it reads the disk again).
                    log.warn("config drive {} of VM {} is not readable here; writing one from its spec", configDrive, spec.id());
                    this.configDrive.write(spec, network, run.configDrive());
                }
            }
            BootSource boot = source.boot() == null ? BootSource.none() : source.boot();
            VmSpec effective = new VmSpec(spec.id(), spec.name(), spec.hostname(), source.vcpus(), source.memoryMb(), 0, boot,
                    spec.userData(), spec.metadata(), spec.publicKeys(), spec.network(), spec.guestParams(), source.targetMemoryMb());
            QemuCommandLine.Storage storage = new QemuCommandLine.Storage(hasRootDisk ? run.rootDisk() : null,
                    configDrive != null ? run.configDrive() : null, run.ramFile(), true);
            String serialPorts = source.attributes().get(SERIAL_PORTS);
            List<String> commandLine = QemuCommandLine.build(config, accelerator, effective, run, network, storage,
                    serialPorts == null ? null : Integer.valueOf(serialPorts));
            VmDescriptor descriptor = new VmDescriptor(spec.id(), spec.name(), source.vcpus(), source.memoryMb(), source.targetMemoryMb(),
                    accelerator, spec.network().sshHostPort(), network.address(), spec.network().mac(), boot,
                    source.attributes().get(LIVE_IMAGE), commandLine);
            descriptor.write(run.descriptor());
            QemuVm vm = new QemuVm(run, descriptor, vms::publish);
            vms.put(vm);
            vm.lock.lock();
            try {
                vm.start(true);
                String diskExport = null;
                if (hasRootDisk) {
                    int nbdPort = freePort();
                    vm.qmp().execute("nbd-server-start", Map.of("addr", Map.of("type", "inet",
                            "data", Map.of("host", host, "port", Integer.toString(nbdPort)))));
                    // Exporting also activates the overlay, which -incoming leaves inactive until the switch-over.
                    vm.qmp().execute("block-export-add", Map.of("type", "nbd", "id", EXPORT_ID, "node-name", nodeName(vm),
                            "name", DISK, "writable", true));
                    diskExport = "nbd://" + host + ":" + nbdPort + "/" + DISK;
                }
                // The return path lets this side tell the source that loading failed, so the source
                // fails its migration and resumes the guest rather than retiring it.
                vm.qmp().execute("migrate-set-capabilities", Map.of("capabilities",
                        List.of(Map.of("capability", "return-path", "state", true))));
                String uri = "tcp:" + host + ":" + freePort();
                vm.qmp().execute("migrate-incoming", Map.of("uri", uri));
                log.info("VM {} waits for its migration on {} (disk export {})", spec.id(), uri, diskExport);
                return new MigrationTarget(spec.id(), uri, diskExport, Map.of());
            } finally {
                vm.lock.unlock();
            }
        } catch (RuntimeException | IOException e) {
            try {
                vms.destroy(spec.id());
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof HypervisorException h ? h
                    : new HypervisorException("cannot prepare VM " + spec.id() + " for its migration: " + e.getMessage(), e);
        }
    }

    /**
     * The source's half: mirrors the overlay into the destination's export (write-blocking once
     * in sync, so every later guest write is on both sides before it completes), migrates all of
     * the RAM while the guest runs, then ends the mirror and the process and removes the VM from
     * this host. Any failure cancels both and leaves the guest running here.
     */
    void migrateOut(String vmId, MigrationTarget target) {
        requireNonNull(target, "target is null");
        QemuVm vm = vms.lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        boolean hasRootDisk = Files.isRegularFile(vm.run().rootDisk());
        vm.lock.lock();
        long started = System.nanoTime();
        try {
            PowerState state = vm.powerState();
            if (state != PowerState.RUNNING) {
                throw new HypervisorException(ErrorCode.CONFLICT, "cannot live-migrate VM " + vmId + " while it is " + state);
            }
            if (hasRootDisk && target.diskExportUri() == null) {
                throw new HypervisorException(ErrorCode.BAD_REQUEST, "VM " + vmId + " has a root disk but its target exports none");
            }
            QmpClient qmp = vm.qmp();
            try {
                if (hasRootDisk) {
                    qmp.execute("drive-mirror", Map.of("job-id", MIRROR_JOB, "device", DISK, "target", target.diskExportUri(),
                            "format", "raw", "sync", "top", "mode", "existing", "copy-mode", "write-blocking"));
                    awaitMirrorReady(vm);
                }
                // A live-image clone was loaded with x-ignore-shared on; its RAM (a private mapping of
                // the image's file) must travel in full, the destination has no such file.
                // return-path: the migration completes only once the destination has loaded the state.
                qmp.execute("migrate-set-capabilities", Map.of("capabilities", List.of(
                        Map.of("capability", "x-ignore-shared", "state", false),
                        Map.of("capability", "return-path", "state", true))));
                // QEMU 7.2 throttles migration to 32 MiB/s by default.
                qmp.execute("migrate-set-parameters", Map.of("max-bandwidth", 64L * 1024 * 1024 * 1024));
                qmp.execute("migrate", Map.of("uri", target.migrationUri()));
                awaitMigration(vm);
            } catch (RuntimeException e) {
                abort(vm, hasRootDisk, e);
                throw e instanceof HypervisorException h ? h
                        : new HypervisorException("live migration of VM " + vmId + " failed: " + e.getMessage(), e);
            }
            // From here on the guest runs on the destination: nothing may resume it here, so what
            // fails now is logged, not thrown (a throw would make the controller destroy the destination).
            if (hasRootDisk) {
                try {
                    // The guest is paused and every write of it was mirrored: ending the job now leaves
                    // the destination's overlay complete (cancel of a ready mirror = done, no pivot).
                    qmp.execute("block-job-cancel", Map.of("device", MIRROR_JOB));
                    awaitJobGone(vm);
                } catch (RuntimeException e) {
                    log.warn("VM {} runs on its destination, but its disk mirror did not end cleanly here: {}", vmId, e.getMessage());
                }
            }
            vm.retireAfterMigration();
        } finally {
            vm.lock.unlock();
        }
        vms.destroy(vmId);
        log.info("VM {} migrated out to {} in {} ms", vmId, target.migrationUri(), (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * The destination after migrateOut: waits for the guest to run here (QEMU resumes it by itself
     * at the end of an incoming migration), ends the disk export, applies the balloon target.
     */
    VmInfo completeIncoming(String vmId) {
        QemuVm vm = vms.lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        vm.lock.lock();
        try {
            long deadline = System.nanoTime() + MIGRATION_TIMEOUT.toNanos();
            while (true) {
                if (!vm.isProcessAlive()) {
                    throw new HypervisorException("QEMU of incoming VM " + vmId + " has exited: " + QemuVm.tail(vm.run().qemuLog(), 3), null);
                }
                String status = vm.qmp().execute("query-status").path("status").asText();
                String migration = vm.qmp().execute("query-migrate").path("status").asText();
                if (migration.equals("failed")) {
                    throw new HypervisorException("incoming migration of VM " + vmId + " failed: " + QemuVm.tail(vm.run().qemuLog(), 3), null);
                }
                if (status.equals("running")) {
                    break;
                }
                if (!status.equals("inmigrate") && migration.equals("completed")) {
                    // Loaded but not running (the source had been paused at the switch-over).
                    vm.resumeCpus();
                    continue;
                }
                if (System.nanoTime() > deadline) {
                    throw new HypervisorException("VM " + vmId + " was not running here " + MIGRATION_TIMEOUT + " after its migration began", null);
                }
                Processes.sleep(POLL);
            }
            if (Files.isRegularFile(vm.run().rootDisk())) {
                try {
                    // Stopping the server also removes its exports; the source closed its connection already.
                    vm.qmp().execute("nbd-server-stop");
                } catch (QmpException e) {
                    log.debug("VM {}: no NBD server to stop ({})", vmId, e.getMessage()); // completed before
                }
            }
            int target = vm.descriptor().targetMemoryMb();
            // Not for a live image's clone: it may map the image's RAM file, into which QEMU would
            // punch the ballooned pages (see LiveImages.personalise).
            if (vm.descriptor().liveImage() == null && target > 0 && target < vm.descriptor().memoryMb()) {
                vm.qmp().execute("balloon", Map.of("value", target * 1024L * 1024));
            }
            vm.guestRuns();
            return vm.info();
        } finally {
            vm.lock.unlock();
        }
    }

    private static void awaitMirrorReady(QemuVm vm) {
        long deadline = System.nanoTime() + MIRROR_READY_TIMEOUT.toNanos();
        while (true) {
            JsonNode job = mirrorJob(vm);
            if (job == null) {
                throw new HypervisorException("the disk mirror of VM " + vm.id() + " ended before it was in sync: "
                        + QemuVm.tail(vm.run().qemuLog(), 2), null);
            }
            if (job.path("ready").asBoolean()) {
                return;
            }
            if (job.path("status").asText().equals("concluded") || job.hasNonNull("error")) {
                throw new HypervisorException("the disk mirror of VM " + vm.id() + " failed: " + job.path("error").asText(job.toString()), null);
            }
            if (System.nanoTime() > deadline) {
                throw new HypervisorException("the disk mirror of VM " + vm.id() + " was not in sync within " + MIRROR_READY_TIMEOUT, null);
            }
            Processes.sleep(POLL);
        }
    }

    private static void awaitMigration(QemuVm vm) {
        long deadline = System.nanoTime() + MIGRATION_TIMEOUT.toNanos();
        while (true) {
            JsonNode migration = vm.qmp().execute("query-migrate");
            switch (migration.path("status").asText()) {
                case "completed" -> {
                    return;
                }
                // Without error-desc the destination refused the state over the return path; its QEMU log says why.
                case "failed", "cancelled" -> throw new HypervisorException("live migration of VM " + vm.id() + " failed: "
                        + migration.path("error-desc").asText("the destination did not load the state"), null);
                default -> {
                }
            }
            if (System.nanoTime() > deadline) {
                throw new HypervisorException("live migration of VM " + vm.id() + " did not complete within " + MIGRATION_TIMEOUT, null);
            }
            Processes.sleep(POLL);
        }
    }

    /** Cancels whatever of the migration runs and makes sure the guest runs on here as before. */
    private static void abort(QemuVm vm, boolean hasRootDisk, RuntimeException failure) {
        try {
            vm.qmp().execute("migrate_cancel");
            if (hasRootDisk && mirrorJob(vm) != null) {
                vm.qmp().execute("block-job-cancel", Map.of("device", MIRROR_JOB, "force", true));
                awaitJobGone(vm);
            }
            // QEMU resumes a guest it stopped for a failed switch-over; this covers the rest.
            long deadline = System.nanoTime() + JOB_END_TIMEOUT.toNanos();
            while (!vm.powerState().equals(PowerState.RUNNING)) {
                String migration = vm.qmp().execute("query-migrate").path("status").asText();
                if (!migration.equals("cancelling") && !migration.equals("active") && !migration.equals("device")) {
                    vm.resumeCpus();
                }
                if (System.nanoTime() > deadline) {
                    throw new HypervisorException("VM " + vm.id() + " did not run again after its failed migration", null);
                }
                Processes.sleep(POLL);
            }
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    private static JsonNode mirrorJob(QemuVm vm) {
        for (JsonNode job : vm.qmp().execute("query-block-jobs")) {
            if (job.path("device").asText().equals(MIRROR_JOB)) {
                return job;
            }
        }
        return null;
    }

    private static void awaitJobGone(QemuVm vm) {
        long deadline = System.nanoTime() + JOB_END_TIMEOUT.toNanos();
        while (mirrorJob(vm) != null) {
            if (System.nanoTime() > deadline) {
                throw new HypervisorException("the disk mirror of VM " + vm.id() + " did not end within " + JOB_END_TIMEOUT, null);
            }
            Processes.sleep(POLL);
        }
    }

    /** The block node under the root disk's drive: exports name nodes, not drives. */
    private static String nodeName(QemuVm vm) {
        for (JsonNode device : vm.qmp().execute("query-block")) {
            if (device.path("device").asText().equals(DISK)) {
                String node = device.path("inserted").path("node-name").asText("");
                if (!node.isEmpty()) {
                    return node;
                }
            }
        }
        throw new HypervisorException("VM " + vm.id() + " has no block node for " + DISK, null);
    }

    /** The config drive's file, from the command line (for a live-image clone it is the image's). */
    static java.util.Optional<String> configDriveOf(List<String> commandLine) {
        for (String arg : commandLine) {
            if (arg.startsWith("file=") && arg.contains(",id=config0")) {
                return java.util.Optional.of(arg.substring("file=".length(), arg.indexOf(',')));
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * A port nobody listens on now. QEMU binds it a moment later; another process could take it
     * in between, which fails the prepare cleanly (and the controller retries).
     */
    private int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(config.hostIp()))) {
            return socket.getLocalPort();
        }
    }
}
