package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.compute.PowerState;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmEvent;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
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
    private static final Pattern VM_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,39}");
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
    private final Map<String, QemuVm> vms = new ConcurrentHashMap<>();
    private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Thread monitor;
    private volatile boolean closed;

    public QemuHypervisor(QemuConfig config) {
        this.config = requireNonNull(config, "config is null");
        String versionText = Processes.run(List.of(config.qemuBinary().toString(), "--version"), Duration.ofSeconds(10));
        this.version = parseVersion(versionText);
        KvmProbe.Verdict verdict = new KvmProbe(config, Long.toString(version)).decide();
        this.accelerator = verdict.accelerator();
        this.acceleratorReason = verdict.reason();
        this.disks = new Disks(config.qemuImgBinary());
        this.configDrive = ConfigDrive.fromPath();
        try {
            Files.createDirectories(config.runRoot());
            Files.createDirectories(config.ramRoot());
        } catch (IOException e) {
            throw new HypervisorException("cannot create " + config.runRoot() + " or " + config.ramRoot() + ": " + e.getMessage(), e);
        }
        // Backs up the QMP end-of-stream signal, and watches VMs whose monitor we could not reach.
        this.monitor = Thread.ofVirtual().name("qemu-liveness").start(this::watchLiveness);
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
        return new HostInfo(config.hostname(), "QEMU", version, accelerator, config.hostIp(), vcpus, memoryMb, diskGb);
    }

    @Override
    public VmInfo create(VmSpec spec) {
        requireNonNull(spec, "spec is null");
        if (!VM_ID.matcher(spec.id()).matches()) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "unusable VM id " + spec.id());
        }
        RunDir run = RunDir.of(config, spec.id());
        if (vms.containsKey(spec.id()) || Files.exists(run.dir())) {
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
                disks.createOverlay(boot.disk(), boot.diskFormat(), run.rootDisk(), spec.rootDiskGb());
            }
            configDrive.write(spec, network, run.configDrive());
            List<String> commandLine = QemuCommandLine.build(config, accelerator, spec, run, network, boot.disk() != null, true);
            VmDescriptor descriptor = new VmDescriptor(spec.id(), spec.name(), spec.vcpus(), spec.memoryMb(), spec.targetMemoryMb(), accelerator,
                    spec.network().sshHostPort(), network.address(), spec.network().mac(), boot, null, commandLine);
            descriptor.write(run.descriptor());
            QemuVm vm = new QemuVm(run, descriptor, this::publish);
            vms.put(spec.id(), vm);
            vm.lock.lock();
            try {
                vm.start(false);
                return vm.info();
            } finally {
                vm.lock.unlock();
            }
        } catch (RuntimeException | IOException e) {
            try {
                destroy(spec.id());
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
                    if (state != PowerState.SHUTDOWN) {
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

    @Override
    public void destroy(String vmId) {
        Optional<QemuVm> found = lookup(vmId);
        RunDir run = found.map(QemuVm::run).orElse(RunDir.of(config, vmId));
        if (found.isPresent()) {
            QemuVm vm = found.get();
            vm.abandon();
            vm.lock.lock();
            try {
                vm.kill();
                deleteTree(run.dir());
                deleteTree(run.ramDir());
                vms.remove(vmId);
            } finally {
                vm.lock.unlock();
            }
        } else if (VM_ID.matcher(vmId).matches()) {
            // A half-created VM (no descriptor yet) may still have left files.
            deleteTree(run.dir());
            deleteTree(run.ramDir());
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

    /**
     * Blesses a running VM into a live image under {@code dir} (see DESIGN, "Live images with
     * QEMU"): its device state without RAM, its RAM file and disk overlay as they are, and its
     * config drive. The source then resumes as a copy-on-write clone of its own image, so it no
     * longer writes into the image's RAM file and shares its pages with later clones. A VM that
     * already runs from a live image cannot be blessed again (as in Cobalt).
     */
    @Override
    public LiveImageRef bless(String vmId, Path dir) {
        QemuVm vm = lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
        Path image = dir.toAbsolutePath().normalize();
        vm.lock.lock();
        try {
            VmDescriptor source = vm.descriptor();
            if (source.liveImage() != null) {
                throw new HypervisorException(ErrorCode.CONFLICT, "VM " + vmId + " runs from live image " + source.liveImage()
                        + " and cannot be blessed again");
            }
            PowerState state = vm.powerState();
            if (state != PowerState.RUNNING) {
                throw new HypervisorException(ErrorCode.CONFLICT, "cannot bless VM " + vmId + " while it is " + state);
            }
            if (image.toString().contains(",") || image.toString().contains("'")) {
                throw new HypervisorException(ErrorCode.BAD_REQUEST, "unusable live image directory " + image);
            }
            try (Stream<Path> existing = Files.exists(image) ? Files.list(image) : Stream.empty()) {
                if (existing.findAny().isPresent()) {
                    throw new HypervisorException(ErrorCode.CONFLICT, "live image directory " + image + " is not empty");
                }
            }
            Files.createDirectories(image);
            long started = System.nanoTime();
            vm.freezeInto(LiveImageManifest.state(image));
            long frozen = System.nanoTime();
            RunDir run = vm.run();
            boolean hasRootDisk = Files.exists(run.rootDisk());
            Files.move(run.ramFile(), LiveImageManifest.ram(image));
            if (hasRootDisk) {
                Files.move(run.rootDisk(), LiveImageManifest.disk(image));
            }
            Files.copy(run.configDrive(), LiveImageManifest.configDrive(image));
            LiveImageManifest manifest = new LiveImageManifest(vmId, source.vcpus(), source.memoryMb(), source.targetMemoryMb(),
                    source.accelerator(), source.boot(), hasRootDisk, source.mac(), source.ipAddress());
            manifest.write(image);

            // The source comes back as a clone of its image: same identity, so nothing to fix in it.
            String sharedRam = "mem-path=" + run.ramFile() + ",share=on";
            String privateRam = "mem-path=" + LiveImageManifest.ram(image) + ",share=off";
            List<String> commandLine = source.commandLine().stream().map(arg -> arg.replace(sharedRam, privateRam)).toList();
            if (hasRootDisk) {
                disks.createOverlay(LiveImageManifest.disk(image), "qcow2", run.rootDisk(), 0);
            }
            VmDescriptor clone = new VmDescriptor(source.id(), source.name(), source.vcpus(), source.memoryMb(), source.targetMemoryMb(),
                    source.accelerator(), source.sshPort(), source.ipAddress(), source.mac(), source.boot(), image.toString(), commandLine);
            clone.write(run.descriptor());
            QemuVm restarted = new QemuVm(run, clone, this::publish);
            vm.detach();
            vms.put(vmId, restarted);
            restarted.lock.lock();
            try {
                restarted.startIncoming(LiveImageManifest.state(image), true);
            } finally {
                restarted.lock.unlock();
            }
            long resumed = System.nanoTime();
            log.info("blessed VM {} into {}: frozen in {} ms, source running again after {} ms", vmId, image,
                    (frozen - started) / 1_000_000, (resumed - started) / 1_000_000);
            return new LiveImageRef(image.getFileName().toString(), image, source.vcpus(), source.memoryMb(), Map.of(
                    "blessed_from", vmId,
                    "accelerator", source.accelerator(),
                    "state_bytes", Long.toString(Files.size(LiveImageManifest.state(image))),
                    "freeze_ms", Long.toString((frozen - started) / 1_000_000)));
        } catch (IOException e) {
            throw new HypervisorException("cannot bless VM " + vmId + " into " + image + ": " + e.getMessage(), e);
        } finally {
            vm.lock.unlock();
        }
    }

    /**
     * Starts a clone of a live image: a new QEMU that maps the image's RAM copy-on-write, loads its
     * device state and continues where the blessed VM was, on a fresh overlay of the image's disk.
     * The clone's own identity (clock, hostname, MAC and address, guest params) is then given to
     * it through the guest agent; vCPUs and memory are the image's whatever the spec says.
     */
    @Override
    public VmInfo launch(LiveImageRef image, VmSpec spec) {
        requireNonNull(image, "image is null");
        requireNonNull(spec, "spec is null");
        if (!VM_ID.matcher(spec.id()).matches()) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "unusable VM id " + spec.id());
        }
        Path dir = image.dir().toAbsolutePath().normalize();
        if (!Files.isRegularFile(LiveImageManifest.file(dir)) || !Files.isRegularFile(LiveImageManifest.state(dir))) {
            throw new HypervisorException(ErrorCode.NOT_FOUND, "no live image in " + dir);
        }
        LiveImageManifest manifest = LiveImageManifest.read(dir);
        if (!manifest.accelerator().equals(accelerator)) {
            throw new HypervisorException(ErrorCode.CONFLICT, "live image " + image.id() + " was blessed under "
                    + manifest.accelerator() + "; this host runs " + accelerator);
        }
        RunDir run = RunDir.of(config, spec.id());
        if (vms.containsKey(spec.id()) || Files.exists(run.dir())) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on this host");
        }
        long started = System.nanoTime();
        QemuVm vm;
        UserNetwork network;
        try {
            Files.createDirectories(run.dir());
            network = UserNetwork.of(spec.network());
            VmSpec effective = new VmSpec(spec.id(), spec.name(), spec.hostname(), manifest.vcpus(), manifest.memoryMb(), 0,
                    manifest.boot(), spec.userData(), spec.metadata(), spec.publicKeys(), spec.network(), spec.guestParams(),
                    manifest.targetMemoryMb());
            if (manifest.hasRootDisk()) {
                disks.createOverlay(LiveImageManifest.disk(dir), "qcow2", run.rootDisk(), 0);
            }
            // The image's own config drive: the guest has it mounted, so its content must not change.
            QemuCommandLine.Storage storage = new QemuCommandLine.Storage(manifest.hasRootDisk() ? run.rootDisk() : null,
                    LiveImageManifest.configDrive(dir), LiveImageManifest.ram(dir), false);
            List<String> commandLine = QemuCommandLine.build(config, accelerator, effective, run, network, storage);
            VmDescriptor descriptor = new VmDescriptor(spec.id(), spec.name(), manifest.vcpus(), manifest.memoryMb(),
                    manifest.targetMemoryMb(), accelerator, spec.network().sshHostPort(), network.address(), spec.network().mac(),
                    manifest.boot(), dir.toString(), commandLine);
            descriptor.write(run.descriptor());
            vm = new QemuVm(run, descriptor, this::publish);
            vms.put(spec.id(), vm);
            vm.lock.lock();
            try {
                vm.startIncoming(LiveImageManifest.state(dir), true);
            } finally {
                vm.lock.unlock();
            }
        } catch (RuntimeException | IOException e) {
            try {
                destroy(spec.id());
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof HypervisorException h ? h : new HypervisorException("cannot launch " + spec.id() + ": " + e.getMessage(), e);
        }
        long running = System.nanoTime();
        personalise(vm, spec, manifest, network);
        log.info("launched {} from live image {}: running after {} ms, personalised after {} ms", spec.id(), image.id(),
                (running - started) / 1_000_000, (System.nanoTime() - started) / 1_000_000);
        return vm.info();
    }

    /** Tells a fresh clone who it is. A failure leaves it running as a copy of the original. */
    private static void personalise(QemuVm vm, VmSpec spec, LiveImageManifest manifest, UserNetwork network) {
        try (GuestAgentClient agent = GuestAgentClient.connect(vm.run().agentSocket(), Duration.ofSeconds(15))) {
            agent.setTime(java.time.Instant.now());
            agent.setHostname(spec.hostname());
            if (manifest.mac() != null) {
                agent.reconfigureNetwork(manifest.mac(), spec.network().mac(), network.address(), network.prefixLength(), network.gateway());
            }
            if (!spec.guestParams().isEmpty()) {
                agent.writeParams(GUEST_PARAMS, spec.guestParams());
            }
        } catch (RuntimeException e) {
            log.warn("clone {} runs, but its guest agent could not give it its identity: {}", spec.id(), e.getMessage());
        }
    }

    @Override
    public List<VmInfo> discover() {
        List<VmInfo> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(config.runRoot())) {
            for (Path dir : dirs.sorted(Comparator.naturalOrder()).toList()) {
                if (Files.isRegularFile(dir.resolve("vm.json"))) {
                    lookup(dir.getFileName().toString()).map(QemuVm::info).ifPresent(found::add);
                }
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot list " + config.runRoot() + ": " + e.getMessage(), e);
        }
        return found;
    }

    @Override
    public void subscribe(Consumer<VmEvent> listener) {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    /** Lets go of the VMs without stopping them: they outlive the agent and are re-adopted later. */
    @Override
    public void close() {
        closed = true;
        monitor.interrupt();
        for (QemuVm vm : vms.values()) {
            vm.detach();
        }
        vms.clear();
    }

    /** The VM from memory, or re-adopted from its run directory (after an agent restart). */
    private Optional<QemuVm> lookup(String vmId) {
        requireNonNull(vmId, "vmId is null");
        QemuVm known = vms.get(vmId);
        if (known != null || !VM_ID.matcher(vmId).matches()) {
            return Optional.ofNullable(known);
        }
        RunDir run = RunDir.of(config, vmId);
        if (!Files.isRegularFile(run.descriptor())) {
            return Optional.empty();
        }
        QemuVm loaded = new QemuVm(run, VmDescriptor.read(run.descriptor()), this::publish);
        QemuVm raced = vms.putIfAbsent(vmId, loaded);
        if (raced != null) {
            return Optional.of(raced);
        }
        loaded.lock.lock();
        try {
            loaded.adopt();
        } catch (RuntimeException e) {
            log.warn("cannot re-adopt VM {}: {}", vmId, e.getMessage());
        } finally {
            loaded.lock.unlock();
        }
        return Optional.of(loaded);
    }

    private void publish(VmEvent event) {
        log.info("VM {} is {} on its own: {}", event.vmId(), event.powerState(), event.message());
        for (Consumer<VmEvent> listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                log.warn("VM event listener failed on {}", event, e);
            }
        }
    }

    private void watchLiveness() {
        while (!closed) {
            try {
                Thread.sleep(LIVENESS_INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            for (QemuVm vm : vms.values()) {
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

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }
}
