package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.compute.PowerState;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.ColdDisk;
import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmDiagnostics;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs VMs as qemu-system-x86_64 processes, one per VM, each with a run directory under
 * {@link QemuConfig#runRoot()} that holds everything needed to find it again: the processes
 * daemonise and outlive the agent, and a new instance on the same directories re-adopts them
 * (see the module's README for the layout and what each action does in QEMU terms).
 */
public final class QemuHypervisor implements Hypervisor {
    private static final Logger log = LoggerFactory.getLogger(QemuHypervisor.class);
    private static final Pattern VERSION = Pattern.compile("version (\\d+)\\.(\\d+)\\.(\\d+)");
    private static final Duration LIVENESS_INTERVAL = Duration.ofMillis(500);
    /** Where a live-image clone finds its key=value guest params. */
    public static final Path GUEST_PARAMS = Path.of("/run/strata-params");

    private final QemuConfig config;
    private final String accelerator;
    private final String acceleratorReason;
    private final long version;
    private final Disks disks;
    private final ConfigDrive configDrive;
    private final VmTable vms;
    private final LiveImages liveImages;
    private final WarmPool warmPool;
    private final LiveMigration migration;
    /** Where root disks live when the instance storage is shared with other hosts; empty keeps them in the run directories. */
    private final Optional<SharedInstances> shared;
    private final Thread monitor;
    private volatile boolean closed;

    /** A host without warm processes for its live images (clones start cold). */
    public QemuHypervisor(QemuConfig config) {
        this(config, 0);
    }

    /**
     * @param liveImageWarm how many QEMU processes to keep loaded and paused per live image, so
     *                      that a clone takes one instead of starting QEMU (see {@link WarmPool})
     */
    public QemuHypervisor(QemuConfig config, int liveImageWarm) {
        this.config = requireNonNull(config, "config is null");
        String versionText = Processes.run(List.of(config.qemuBinary().toString(), "--version"), Duration.ofSeconds(10));
        this.version = parseVersion(versionText);
        KvmProbe.Verdict verdict = new KvmProbe(config, Long.toString(version)).decide();
        this.accelerator = verdict.accelerator();
        this.acceleratorReason = verdict.reason();
        this.disks = new Disks(config.qemuImgBinary());
        this.configDrive = ConfigDrive.fromPath();
        this.vms = new VmTable(config);
        // Warm processes never outlive their agent: those of a crashed one go before any new start.
        WarmPool.sweep(config);
        this.warmPool = new WarmPool(config, accelerator, disks, liveImageWarm);
        this.liveImages = new LiveImages(config, accelerator, disks, configDrive, vms, warmPool);
        this.migration = new LiveMigration(config, accelerator, disks, configDrive, vms);
        this.shared = SharedInstances.of(config);
        try {
            Files.createDirectories(config.runRoot());
            Files.createDirectories(config.ramRoot());
        } catch (IOException e) {
            throw new HypervisorException("cannot create " + config.runRoot() + " or " + config.ramRoot() + ": " + e.getMessage(), e);
        }
        // Backs up the QMP end-of-stream signal, and watches VMs whose monitor we could not reach.
        this.monitor = Thread.ofVirtual().name("qemu-liveness").start(this::watchLiveness);
        liveImages.resumePersonalising();
    }

    /** Nova's integer form of a QEMU version: 7.2.22 is 7002022. */
    static long parseVersion(String versionText) {
        Matcher m = VERSION.matcher(versionText);
        if (!m.find()) {
            throw new HypervisorException("cannot read the QEMU version from: " + versionText.strip(), null);
        }
        return Long.parseLong(m.group(1)) * 1_000_000 + Long.parseLong(m.group(2)) * 1_000 + Long.parseLong(m.group(3));
    }

    /** Why this host runs guests under {@link HostInfo#accelerator()} (the KVM probe's verdict). */
    public String acceleratorReason() {
        return acceleratorReason;
    }

    @Override
    public HostInfo describe() {
        int vcpus = config.vcpus() > 0 ? config.vcpus() : Runtime.getRuntime().availableProcessors();
        long memoryMb = config.memoryMb() > 0 ? config.memoryMb() : hostMemoryMb();
        long diskGb = config.diskGb();
        if (diskGb == 0) {
            try {
                diskGb = Files.getFileStore(config.runRoot()).getTotalSpace() / (1024L * 1024 * 1024);
            } catch (IOException e) {
                throw new HypervisorException("cannot size " + config.runRoot() + ": " + e.getMessage(), e);
            }
        }
        return new HostInfo(config.hostname(), "QEMU", version, accelerator, config.hostIp(), vcpus, memoryMb, diskGb,
                shared.map(SharedInstances::storageId).orElse(null));
    }

    /** On shared instance storage the new VM's disk goes there (this host its owner), so that another host can take the VM over. */
    @Override
    public VmInfo create(VmSpec requested) {
        requireNonNull(requested, "spec is null");
        return create(requested, (boot, run, spec, disk) -> disks.createOverlay(boot.disk(), boot.diskFormat(), disk, spec.rootDiskGb()),
                true, shared.isPresent() ? DiskPlace.SHARED_NEW : DiskPlace.LOCAL);
    }

    /**
     * Nova's evacuate on shared storage: the VM's disk, left on the shared storage by a host that
     * died, is rebased onto this host's copy of its image (the same content under another path)
     * and booted here; the guest restarts with what it had written. This host owns the disk from
     * the start, so that the dead host, should it come back meanwhile, leaves it alone; if the
     * VM cannot start here, the disk goes back to its previous owner.
     */
    @Override
    public VmInfo rebuildFromSharedDisk(VmSpec requested) {
        requireNonNull(requested, "spec is null");
        SharedInstances storage = shared.orElseThrow(() -> new HypervisorException(ErrorCode.CONFLICT,
                "host " + config.hostname() + " has no shared instance storage"));
        BootSource boot = requested.boot() == null ? BootSource.none() : requested.boot();
        if (boot.disk() != null && !Files.isRegularFile(storage.disk(requested.id()))) {
            throw new HypervisorException(ErrorCode.NOT_FOUND, "VM " + requested.id() + " has no disk on the shared instance storage "
                    + config.sharedInstanceRoot());
        }
        Optional<String> previousOwner = storage.owner(requested.id());
        storage.claim(requested.id());
        try {
            VmInfo vm = create(requested, (b, run, spec, disk) -> {
                disks.rebase(disk, b.disk(), b.diskFormat());
                disks.growTo(disk, spec.rootDiskGb());
            }, true, DiskPlace.SHARED_EXISTING);
            log.info("VM {} rebuilt from its disk on the shared instance storage (previous owner {})", requested.id(),
                    previousOwner.orElse("none"));
            return vm;
        } catch (RuntimeException e) {
            storage.handBack(requested.id(), previousOwner);
            throw e;
        }
    }

    /** How a new VM's root disk comes to be at {@code disk}: a fresh overlay on its image, a copy of another host's, or the one already there. */
    private interface RootDiskMaker {
        void make(BootSource boot, RunDir run, VmSpec spec, Path disk) throws IOException;
    }

    /** Where a new VM's root disk is: in its run directory, or on the shared instance storage (new, or left there by another host). */
    private enum DiskPlace { LOCAL, SHARED_NEW, SHARED_EXISTING }

    private VmInfo create(VmSpec requested, RootDiskMaker rootDisk, boolean start, DiskPlace place) {
        VmSpec spec = UserNetwork.withConcreteSshPort(requested);
        if (!VmTable.isValidId(spec.id())) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "unusable VM id " + spec.id());
        }
        RunDir run = RunDir.of(config, spec.id());
        if (vms.exists(spec.id())) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on this host");
        }
        BootSource boot = spec.boot() == null ? BootSource.none() : spec.boot();
        if (boot.disk() == null && boot.kernel() == null) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "VM " + spec.id() + " has neither a disk nor a kernel to boot");
        }
        try {
            Files.createDirectories(run.dir());
            UserNetwork network = UserNetwork.of(spec.network());
            if (boot.disk() != null) {
                Path disk = run.rootDisk();
                if (place != DiskPlace.LOCAL) {
                    SharedInstances storage = shared.orElseThrow();
                    if (place == DiskPlace.SHARED_NEW) {
                        storage.claim(spec.id());
                    }
                    disk = storage.disk(spec.id());
                    // The run directory names the disk where it always does; QEMU follows the link.
                    Files.createSymbolicLink(run.rootDisk(), disk);
                }
                rootDisk.make(boot, run, spec, disk);
            }
            configDrive.write(spec, network, run.configDrive());
            List<String> commandLine = QemuCommandLine.build(config, accelerator, spec, run, network, boot.disk() != null, true);
            VmDescriptor descriptor = new VmDescriptor(spec.id(), spec.name(), spec.vcpus(), spec.memoryMb(), spec.targetMemoryMb(), accelerator,
                    spec.network().sshHostPort(), network.address(), spec.network().mac(), boot, null, commandLine);
            descriptor.write(run.descriptor());
            QemuVm vm = new QemuVm(run, descriptor, vms::publish);
            vms.put(vm);
            vm.lock.lock();
            try {
                if (start) {
                    vm.start(false);
                }
                return vm.info();
            } finally {
                vm.lock.unlock();
            }
        } catch (RuntimeException | IOException e) {
            try {
                vms.destroy(spec.id());
                if (place == DiskPlace.SHARED_NEW) {
                    shared.orElseThrow().removeIfOwned(spec.id());
                }
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof HypervisorException h ? h : new HypervisorException("cannot create VM " + spec.id() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public VmInfo act(String vmId, VmAction action) {
        requireNonNull(action, "action is null");
        QemuVm vm = lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        vm.lock.lock();
        try {
            PowerState state = vm.powerState();
            boolean alive = vm.isProcessAlive();
            switch (action) {
                case STOP -> {
                    if (!alive) {
                        throw HypervisorException.wrongState(vmId, state, action);
                    }
                    // A paused guest cannot see the power button; one that is off needs no asking.
                    if (state == PowerState.RUNNING && !vm.powerDownAndWait(config.stopTimeout())) {
                        log.info("VM {} did not power off within {}; stopping QEMU", vmId, config.stopTimeout());
                    }
                    vm.quit();
                    vm.deleteRamFile();
                }
                case START -> {
                    if (state != PowerState.SHUTDOWN && !(state == PowerState.CRASHED && !alive)) {
                        throw HypervisorException.wrongState(vmId, state, action);
                    }
                    if (alive) {
                        // Powered off but QEMU still there (the agent died before ending it).
                        resetAndRun(vm);
                    } else {
                        vm.start(false);
                    }
                }
                case REBOOT_SOFT -> {
                    if (state != PowerState.RUNNING) {
                        throw HypervisorException.wrongState(vmId, state, action);
                    }
                    // Nova's soft reboot: ask the guest to power off, then boot it again; a guest
                    // that ignores ACPI is reset once the grace period is over.
                    if (!vm.powerDownAndWait(config.rebootTimeout())) {
                        log.info("VM {} ignored the ACPI power button for {}; resetting it", vmId, config.rebootTimeout());
                    }
                    resetAndRun(vm);
                }
                case REBOOT_HARD -> {
                    if (alive) {
                        resetAndRun(vm);
                    } else {
                        // Like Nova's hard reboot of a stopped or suspended server: a fresh boot.
                        Files.deleteIfExists(vm.run().savedState());
                        vm.start(false);
                    }
                }
                case PAUSE -> {
                    if (state != PowerState.RUNNING) {
                        throw HypervisorException.wrongState(vmId, state, action);
                    }
                    vm.pause();
                }
                case UNPAUSE -> {
                    if (state != PowerState.PAUSED) {
                        throw HypervisorException.wrongState(vmId, state, action);
                    }
                    vm.resumeCpus();
                }
                case SUSPEND -> {
                    if (state != PowerState.RUNNING) {
                        throw HypervisorException.wrongState(vmId, state, action);
                    }
                    vm.saveAndQuit();
                }
                case RESUME -> {
                    if (state != PowerState.SUSPENDED || alive) {
                        throw HypervisorException.wrongState(vmId, state, action);
                    }
                    vm.restoreSaved();
                }
            }
            return vm.info();
        } catch (IOException e) {
            throw new HypervisorException("cannot " + action + " VM " + vmId + ": " + e.getMessage(), e);
        } finally {
            vm.lock.unlock();
        }
    }

    /** system_reset, then cont: a reset from the powered-off state leaves the CPUs stopped. */
    private static void resetAndRun(QemuVm vm) {
        vm.reset();
        if (vm.powerState() != PowerState.RUNNING) {
            vm.resumeCpus();
        }
    }

    /** On shared instance storage the VM's disk goes too, but only if this host owns it (see {@link SharedInstances}). */
    @Override
    public void destroy(String vmId) {
        vms.destroy(vmId);
        if (VmTable.isValidId(vmId)) {
            shared.ifPresent(storage -> storage.removeIfOwned(vmId));
        }
    }

    @Override
    public Optional<VmInfo> find(String vmId) {
        return lookup(vmId).map(QemuVm::info);
    }

    @Override
    public String consoleLog(String vmId, int lines) {
        QemuVm vm = lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        try {
            return ConsoleLog.tail(vm.run().serialLog(), lines);
        } catch (IOException e) {
            throw new HypervisorException("cannot read the console of VM " + vmId + ": " + e.getMessage(), e);
        }
    }

    @Override
    public LiveImageRef bless(String vmId, Path dir) {
        return liveImages.bless(vmId, dir);
    }

    @Override
    public VmInfo launch(LiveImageRef image, VmSpec spec) {
        return liveImages.launch(image, spec);
    }

    @Override
    public void keepWarm(Path liveImageDir) {
        if (Files.isRegularFile(LiveImageManifest.file(liveImageDir.toAbsolutePath().normalize()))) {
            warmPool.keepWarm(liveImageDir);
        }
    }

    @Override
    public void forgetLiveImage(Path liveImageDir) {
        warmPool.forget(liveImageDir);
    }

    @Override
    public List<io.strata.hypervisor.LiveImageFile> liveImageFiles(Path liveImageDir) {
        return liveImages.files(liveImageDir);
    }

    @Override
    public io.strata.hypervisor.MigrationSource withLiveImageAt(io.strata.hypervisor.MigrationSource source, Path liveImageDir) {
        return liveImages.relocate(source, liveImageDir);
    }

    @Override
    public void adoptLiveImage(Path staged, Path finalDir) {
        liveImages.adopt(staged, finalDir);
    }

    /** How many warm processes wait for the live image in {@code liveImageDir} (for tests and status). */
    public int warmProcesses(Path liveImageDir) {
        return warmPool.readyCount(liveImageDir);
    }

    /**
     * Pauses a running guest for the copy, so the snapshot is one point in time (what Nova's cold
     * snapshot does), and merges overlay and image into one standalone qcow2.
     */
    @Override
    public String snapshotDisk(String vmId, Path target) {
        requireNonNull(target, "target is null");
        QemuVm vm = lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        vm.lock.lock();
        try {
            if (!Files.isRegularFile(vm.run().rootDisk())) {
                throw new HypervisorException(ErrorCode.CONFLICT, "VM " + vmId + " boots its kernel directly and has no root disk to snapshot");
            }
            boolean pausedHere = vm.isProcessAlive() && vm.powerState() == PowerState.RUNNING;
            if (pausedHere) {
                vm.pause();
            }
            try {
                disks.convert(vm.run().rootDisk(), target);
            } finally {
                if (pausedHere) {
                    vm.resumeCpus();
                }
            }
            return "qcow2";
        } finally {
            vm.lock.unlock();
        }
    }

    @Override
    public ColdDisk coldDisk(String vmId) {
        QemuVm vm = lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        vm.lock.lock();
        try {
            // A running guest would go on writing under the copy; the controller powers it off first.
            if (vm.isProcessAlive()) {
                throw new HypervisorException(ErrorCode.CONFLICT, "VM " + vmId + " must be powered off before its disk can move");
            }
            Path disk = vm.run().rootDisk();
            return new ColdDisk(vmId, Files.isRegularFile(disk) ? disk : null, Map.of());
        } finally {
            vm.lock.unlock();
        }
    }

    /**
     * The source's overlay is copied into this host's run directory and rebased (unsafely: the
     * content is the same image) onto this host's copy of the image, so the two hosts need not
     * share a cache path; then grown for a larger flavor. The copy stays in the run directory even
     * on shared instance storage: the source's disk may be in the same shared directory, and is
     * kept until the move is confirmed.
     */
    @Override
    public VmInfo createFrom(VmSpec spec, ColdDisk disk, boolean start) {
        requireNonNull(disk, "disk is null");
        return create(spec, (boot, run, s, target) -> {
            if (disk.rootDisk() == null) {
                disks.createOverlay(boot.disk(), boot.diskFormat(), target, s.rootDiskGb());
                return;
            }
            Path partial = target.resolveSibling("disk.qcow2.part");
            Files.copy(disk.rootDisk(), partial, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            disks.rebase(partial, boot.disk(), boot.diskFormat());
            disks.growTo(partial, s.rootDiskGb());
            Files.move(partial, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }, start, DiskPlace.LOCAL);
    }

    @Override
    public VmDiagnostics diagnostics(String vmId) {
        QemuVm vm = lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        vm.lock.lock();
        try {
            return QemuDiagnostics.of(vm, vm.powerState());
        } finally {
            vm.lock.unlock();
        }
    }

    @Override
    public MigrationSource migrationSource(String vmId) {
        return migration.source(vmId);
    }

    @Override
    public MigrationTarget prepareIncoming(VmSpec spec, MigrationSource source) {
        return migration.prepareIncoming(spec, source);
    }

    /** The VM runs on the destination afterwards, on a disk of the destination's own: its disk on shared storage goes too. */
    @Override
    public void migrateOut(String vmId, MigrationTarget target) {
        migration.migrateOut(vmId, target);
        shared.ifPresent(storage -> storage.removeIfOwned(vmId));
    }

    @Override
    public VmInfo completeIncoming(String vmId) {
        return migration.completeIncoming(vmId);
    }

    @Override
    public List<VmInfo> discover() {
        List<VmInfo> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(config.runRoot())) {
            for (Path dir : dirs.sorted(Comparator.naturalOrder()).toList()) {
                if (Files.isRegularFile(dir.resolve("vm.json"))) {
                    try {
                        lookup(dir.getFileName().toString()).map(QemuVm::info).ifPresent(found::add);
                    } catch (HypervisorException e) {
                        // One unreadable run directory must not hide the host's other VMs.
                        log.warn("skipping {} in discover: {}", dir, e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot list " + config.runRoot() + ": " + e.getMessage(), e);
        }
        return found;
    }

    @Override
    public void subscribe(Consumer<VmEvent> listener) {
        vms.subscribe(listener);
    }

    /**
     * Lets go of the VMs without stopping them: they outlive the agent and are re-adopted later.
     * Warm processes are ended: they are nobody's VM, and the next agent starts its own.
     */
    @Override
    public void close() {
        closed = true;
        monitor.interrupt();
        liveImages.close();
        warmPool.close();
        vms.detachAll();
    }

    private Optional<QemuVm> lookup(String vmId) {
        return vms.lookup(vmId);
    }

    private void watchLiveness() {
        while (!closed) {
            try {
                Thread.sleep(LIVENESS_INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            for (QemuVm vm : vms.all()) {
                try {
                    vm.checkLiveness();
                } catch (RuntimeException e) {
                    log.warn("liveness check of VM {} failed", vm.id(), e);
                }
            }
        }
    }

    private static long hostMemoryMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            log.warn("cannot read /proc/meminfo: {}", e.toString());
        }
        return 0;
    }

}
