package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.compute.PowerState;
import io.strata.hypervisor.BootSource;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.Optional;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Live images (DESIGN, "Live images with QEMU"): bless a running VM, launch clones of it. */
final class LiveImages {
    private static final Logger log = LoggerFactory.getLogger(LiveImages.class);
    /** How long a clone's personalisation waits for its guest agent to take a connection. */
    private static final Duration PERSONALISE_DEADLINE = Duration.ofMinutes(2);
    /** Personalisation waits for launches to pause this long, but never longer than the second figure. */
    private static final Duration PERSONALISE_AFTER_QUIET = Duration.ofMillis(100);
    private static final Duration PERSONALISE_AT_THE_LATEST = Duration.ofSeconds(2);
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    /** Where a clone finds its own config-drive files (the test guest's init links the original's there). */
    static final Path CLONE_META_DATA = Path.of("/run/meta_data.json");
    static final Path CLONE_USER_DATA = Path.of("/run/user_data");

    private final QemuConfig config;
    private final String accelerator;
    private final Disks disks;
    private final ConfigDrive configDrive;
    private final VmTable vms;
    private final WarmPool pool;
    /** Clones being given their identity (see {@link #startPersonalising}). */
    private final java.util.Set<Thread> personalising = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    /** Launch turns (see {@link LaunchTurns}). */
    private final LaunchTurns turns = LaunchTurns.fromProperty();

    LiveImages(QemuConfig config, String accelerator, Disks disks, ConfigDrive configDrive, VmTable vms, WarmPool pool) {
        this.config = requireNonNull(config, "config is null");
        this.accelerator = requireNonNull(accelerator, "accelerator is null");
        this.disks = requireNonNull(disks, "disks is null");
        this.configDrive = requireNonNull(configDrive, "configDrive is null");
        this.vms = requireNonNull(vms, "vms is null");
        this.pool = requireNonNull(pool, "pool is null");
    }

    /**
     * Blesses a running VM into a live image under {@code dir} (see DESIGN, "Live images with
     * QEMU"): its device state without RAM, its RAM file and disk overlay as they are, and its
     * config drive. The source then resumes as a copy-on-write clone of its own image, so it no
     * longer writes into the image's RAM file and shares its pages with later clones. A VM that
     * already runs from a live image cannot be blessed again (as in Cobalt).
     */
    LiveImageRef bless(String vmId, Path dir) {
        QemuVm vm = vms.lookup(vmId).orElseThrow(() -> HypervisorException.noSuchVm(vmId));
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
                if (Files.isSymbolicLink(run.rootDisk())) {
                    // On shared instance storage the image takes the disk itself, not the link to
                    // it: the VM's directory there goes when the VM does.
                    Files.move(run.rootDisk().toRealPath(), LiveImageManifest.disk(image));
                    Files.delete(run.rootDisk());
                } else {
                    Files.move(run.rootDisk(), LiveImageManifest.disk(image));
                }
            }
            Files.copy(run.configDrive(), LiveImageManifest.configDrive(image));
            LiveImageManifest manifest = new LiveImageManifest(vmId, source.vcpus(), source.memoryMb(), source.targetMemoryMb(),
                    source.accelerator(), source.boot(), hasRootDisk, source.mac(), source.ipAddress(), netdevWithoutForwards(source.commandLine()),
                    QemuCommandLine.serialPortsOf(source.commandLine()));
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
            QemuVm restarted = new QemuVm(run, clone, vms::publish);
            vm.detach();
            vms.put(restarted);
            restarted.lock.lock();
            try {
                restarted.startIncoming(LiveImageManifest.state(image), true);
            } finally {
                restarted.lock.unlock();
            }
            long resumed = System.nanoTime();
            pool.keepWarm(image);
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
    VmInfo launch(LiveImageRef image, VmSpec requested) {
        requireNonNull(image, "image is null");
        requireNonNull(requested, "spec is null");
        VmSpec spec = UserNetwork.withConcreteSshPort(requested);
        if (!VmTable.isValidId(spec.id())) {
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
        if (vms.exists(spec.id())) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on this host");
        }
        long started = System.nanoTime();
        LaunchTurns.Turn turn = turns.take();
        try {
            return launch(image, spec, dir, manifest, run, started, turn);
        } finally {
            turn.close();
        }
    }

    private VmInfo launch(LiveImageRef image, VmSpec spec, Path dir, LiveImageManifest manifest, RunDir run, long started,
            LaunchTurns.Turn turn) {
        // The clone's own memory target, else the one its original had.
        int target = spec.targetMemoryMb() > 0 ? spec.targetMemoryMb() : manifest.targetMemoryMb();
        if (target > manifest.memoryMb()) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "target memory " + target + " MB is more than the live image's "
                    + manifest.memoryMb() + " MB");
        }
        QemuVm vm;
        UserNetwork network;
        boolean warm = false;
        try {
            network = UserNetwork.of(spec.network());
            VmSpec effective = new VmSpec(spec.id(), spec.name(), spec.hostname(), manifest.vcpus(), manifest.memoryMb(), 0,
                    manifest.boot(), spec.userData(), spec.metadata(), spec.publicKeys(), spec.network(), spec.guestParams(),
                    target);
            // The image's own config drive: the guest has it mounted, so its content must not change.
            QemuCommandLine.Storage storage = new QemuCommandLine.Storage(manifest.hasRootDisk() ? run.rootDisk() : null,
                    LiveImageManifest.configDrive(dir), LiveImageManifest.ram(dir), false);
            List<String> commandLine = QemuCommandLine.build(config, accelerator, effective, run, network, storage, manifest.serialPorts());
            VmDescriptor descriptor = new VmDescriptor(spec.id(), spec.name(), manifest.vcpus(), manifest.memoryMb(),
                    target, accelerator, spec.network().sshHostPort(), network.address(), spec.network().mac(),
                    manifest.boot(), dir.toString(), commandLine);
            Optional<WarmPool.Warm> ready = pool.take(dir, commandLine.get(commandLine.indexOf("-netdev") + 1));
            if (ready.isPresent()) {
                vm = takeOver(ready.get(), run, descriptor, spec.network().sshHostPort(), turn, () -> PendingIdentity.write(run, spec, target));
                warm = true;
            } else {
                // No limit on concurrent cold starts: on a host busy with running guests, each
                // starting QEMU gets the scheduler's fair share, so queueing starts behind a few
                // slots made a 50-clone batch slower, not faster (measured; see bench/RESULTS.md).
                Files.createDirectories(run.dir());
                if (manifest.hasRootDisk()) {
                    disks.copyOverlay(LiveImageManifest.disk(dir), LiveImageManifest.cloneDiskTemplate(dir), run.rootDisk());
                }
                descriptor.write(run.descriptor());
                vm = new QemuVm(run, descriptor, vms::publish);
                vms.put(vm);
                turn.end();     // a cold start waits for its process: others take their turns meanwhile
                vm.lock.lock();
                try {
                    vm.startIncoming(LiveImageManifest.state(dir), true);
                } finally {
                    vm.lock.unlock();
                }
                PendingIdentity.write(run, spec, target);
            }
        } catch (RuntimeException | IOException e) {
            try {
                vms.destroy(spec.id());
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof HypervisorException h ? h : new HypervisorException("cannot launch " + spec.id() + ": " + e.getMessage(), e);
        }
        long running = System.nanoTime();
        log.info("launched {} from live image {} ({}; {}): running after {} ms", spec.id(), image.id(),
                warm ? "warm process" : "cold start: " + vm.startPhases(), turn, (running - started) / 1_000_000);
        // The clone runs from here on; its guest agent answers once the guest has been scheduled a
        // few times, so its identity is given in the background instead of holding up the launch.
        startPersonalising(vm, spec, manifest, network, target, started);
        // Both paths end with a successful `cont`.
        return vm.infoAfter(PowerState.RUNNING);
    }

    /**
     * Gives a clone its identity in the background. What it is owed is kept in its run directory
     * until then ({@link PendingIdentity}, written by the launch while QEMU answers its `cont`),
     * and an agent that stops meanwhile leaves it there for the next. The guest agent is asked
     * only once no clone has been launching for a moment: in a burst the resumed guests answer
     * after seconds anyway, and connecting to fifty of them took CPU the later launches waited for.
     */
    private void startPersonalising(QemuVm vm, VmSpec spec, LiveImageManifest manifest, UserNetwork network, int target, long started) {
        Thread thread = Thread.ofVirtual().name("personalise-" + spec.id()).unstarted(() -> {
            try {
                turns.awaitQuiet(PERSONALISE_AFTER_QUIET, PERSONALISE_AT_THE_LATEST);
                if (personalise(vm, spec, manifest, network, target)) {
                    log.info("clone {} personalised {} ms after its launch began", spec.id(), (System.nanoTime() - started) / 1_000_000);
                }
            } finally {
                personalising.remove(Thread.currentThread());
            }
            if (!closed) {
                // Done or given up on (logged): a closing agent leaves the rest to the next one.
                PendingIdentity.clear(vm.run());
            }
        });
        personalising.add(thread);
        thread.start();
    }

    /**
     * After an agent restart: clones whose identity the last agent had not finished giving get it
     * now (it is given again from the start: each step can be repeated).
     */
    void resumePersonalising() {
        try (Stream<Path> dirs = Files.isDirectory(config.runRoot()) ? Files.list(config.runRoot()) : Stream.empty()) {
            for (Path dir : dirs.toList()) {
                if (!Files.isRegularFile(PendingIdentity.file(new RunDir(dir, config.ramRoot())))) {
                    continue;
                }
                String id = dir.getFileName().toString();
                try {
                    QemuVm vm = vms.lookup(id).orElse(null);
                    RunDir run = RunDir.of(config, id);
                    PendingIdentity pending = PendingIdentity.read(run).orElse(null);
                    if (vm == null || pending == null || vm.descriptor().liveImage() == null || !vm.isProcessAlive()) {
                        // Not running: a cold start boots from the config drive its command line names.
                        PendingIdentity.clear(run);
                        continue;
                    }
                    Path image = Path.of(vm.descriptor().liveImage());
                    LiveImageManifest manifest = LiveImageManifest.read(image);
                    log.info("clone {}: the last agent stopped before it had its identity; giving it now", id);
                    startPersonalising(vm, pending.spec(), manifest, UserNetwork.of(pending.spec().network()), pending.targetMemoryMb(),
                            System.nanoTime());
                } catch (RuntimeException e) {
                    log.warn("clone {}: cannot resume giving it its identity: {}", id, e.getMessage());
                }
            }
        } catch (IOException e) {
            log.warn("cannot look for clones still owed their identity in {}: {}", config.runRoot(), e.getMessage());
        }
    }

    /** Stops giving identities, as a crashed agent would: what is left stays owed (see {@link PendingIdentity}). */
    void close() {
        closed = true;
        personalising.forEach(Thread::interrupt);
    }

    /** Names of the boot files in a copy of a live image made on another host (see {@link #files}). */
    static final String BOOT_KERNEL = "boot-kernel";
    static final String BOOT_RAMDISK = "boot-ramdisk";
    static final String BOOT_DISK = "boot-disk";

    /**
     * What another host copies to start clones of the image in {@code dir}: the directory's files
     * and, because those refer to this host's image cache, the kernel, initramfs and the base the
     * image's disk overlay sits on. The base must be standalone (Glance images in the cache are).
     */
    List<io.strata.hypervisor.LiveImageFile> files(Path liveImageDir) {
        Path dir = liveImageDir.toAbsolutePath().normalize();
        if (!Files.isRegularFile(LiveImageManifest.file(dir)) || !Files.isRegularFile(LiveImageManifest.state(dir))) {
            throw new HypervisorException(ErrorCode.NOT_FOUND, "no live image in " + dir);
        }
        LiveImageManifest manifest = LiveImageManifest.read(dir);
        List<io.strata.hypervisor.LiveImageFile> files = new java.util.ArrayList<>();
        for (Path file : List.of(LiveImageManifest.file(dir), LiveImageManifest.state(dir), LiveImageManifest.ram(dir),
                LiveImageManifest.configDrive(dir))) {
            files.add(new io.strata.hypervisor.LiveImageFile(file.getFileName().toString(), file));
        }
        if (manifest.boot().kernel() != null) {
            files.add(new io.strata.hypervisor.LiveImageFile(BOOT_KERNEL, manifest.boot().kernel()));
        }
        if (manifest.boot().ramdisk() != null) {
            files.add(new io.strata.hypervisor.LiveImageFile(BOOT_RAMDISK, manifest.boot().ramdisk()));
        }
        if (manifest.hasRootDisk()) {
            Path disk = LiveImageManifest.disk(dir);
            files.add(new io.strata.hypervisor.LiveImageFile(disk.getFileName().toString(), disk));
            Disks.OverlayInfo overlay = disks.describe(disk);
            if (overlay.backing() != null) {
                Path base = Path.of(overlay.backing());
                if ("qcow2".equals(overlay.backingFormat()) && disks.describe(base).backing() != null) {
                    throw new HypervisorException(ErrorCode.CONFLICT, "the disk base " + base + " of live image " + dir.getFileName()
                            + " has a backing file of its own; it cannot be copied to another host");
                }
                files.add(new io.strata.hypervisor.LiveImageFile(BOOT_DISK, base));
            }
        }
        return files;
    }

    /** A clone's migration source with the disk base and boot files of this host's copy of its live image. */
    io.strata.hypervisor.MigrationSource relocate(io.strata.hypervisor.MigrationSource source, Path liveImageDir) {
        Path dir = liveImageDir.toAbsolutePath().normalize();
        LiveImageManifest manifest = LiveImageManifest.read(dir);
        Map<String, String> attributes = new java.util.HashMap<>(source.attributes());
        attributes.put(LiveMigration.LIVE_IMAGE, dir.toString());
        return new io.strata.hypervisor.MigrationSource(source.vmId(), source.vcpus(), source.memoryMb(), source.targetMemoryMb(),
                manifest.boot(), source.diskBacking() == null ? null : LiveImageManifest.disk(dir).toString(),
                source.diskBackingFormat(), source.diskVirtualSize(), attributes);
    }

    /**
     * Points a copy fetched from another host (see {@link #files}) at its own boot files: the
     * manifest names them under {@code finalDir} and the disk overlay is rebased onto the copied
     * base (metadata only: the base has the same content as on the original host).
     */
    void adopt(Path staged, Path finalDir) {
        Path target = finalDir.toAbsolutePath().normalize();
        LiveImageManifest manifest = LiveImageManifest.read(staged);
        BootSource boot = manifest.boot();
        Path disk = LiveImageManifest.disk(staged);
        String baseFormat = null;
        if (manifest.hasRootDisk() && Files.isRegularFile(staged.resolve(BOOT_DISK))) {
            baseFormat = disks.describe(disk).backingFormat();
            disks.rebase(disk, target.resolve(BOOT_DISK), baseFormat);
        }
        BootSource local = new BootSource(
                boot.disk() == null ? null : target.resolve(BOOT_DISK),
                baseFormat != null ? baseFormat : boot.diskFormat(),
                boot.kernel() == null ? null : target.resolve(BOOT_KERNEL),
                boot.ramdisk() == null ? null : target.resolve(BOOT_RAMDISK),
                boot.commandLine());
        new LiveImageManifest(manifest.blessedFrom(), manifest.vcpus(), manifest.memoryMb(), manifest.targetMemoryMb(),
                manifest.accelerator(), local, manifest.hasRootDisk(), manifest.mac(), manifest.ipAddress(), manifest.netdev(),
                manifest.serialPorts())
                .write(staged);
    }

    /**
     * Makes a warm pool's loaded, paused process the VM {@code run} names: its run and RAM
     * directories are renamed to the VM's (the process keeps its open files, and its sockets are
     * reached under the new names), the VM's descriptor (with the command line a cold start would
     * have used, for later restarts) is written, and the guest runs. The SSH forward, which the
     * warm process could not know, is added through the monitor.
     */
    private QemuVm takeOver(WarmPool.Warm warm, RunDir run, VmDescriptor descriptor, int sshPort, LaunchTurns.Turn turn, Runnable whileQemuAnswers)
            throws IOException {
        QemuVm waiting = warm.vm();
        long processId = waiting.pid();
        QmpClient monitor = waiting.handOver();
        try {
            Files.move(waiting.run().dir(), run.dir(), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Still all the pool's: end it here rather than leave a process nobody owns.
            if (monitor != null) {
                monitor.close();
            }
            waiting.kill();
            QemuFiles.deleteTree(waiting.run().dir());
            QemuFiles.deleteTree(waiting.run().ramDir());
            throw e;
        }
        Files.createDirectories(run.ramDir().getParent());
        if (Files.exists(waiting.run().ramDir())) {
            Files.move(waiting.run().ramDir(), run.ramDir(), StandardCopyOption.ATOMIC_MOVE);
        }
        Files.writeString(run.startedIn(), waiting.run().dir().toString());
        descriptor.write(run.descriptor());
        QemuVm vm = new QemuVm(run, descriptor, vms::publish);
        vms.put(vm);
        vm.lock.lock();
        try {
            try {
                // The pool's monitor connection, not a new one: with many clones launched at once
                // a reconnect waited 70-530 ms for the busy QEMUs' main loops (measured).
                vm.takeProcess(processId, monitor);
            } catch (HypervisorException e) {
                if (monitor != null) {
                    monitor.close();
                }
                waiting.kill(); // its monitor connection was lost: a process may still be there, nobody's
                throw new HypervisorException("the warm QEMU for VM " + descriptor.id() + " is gone", e);
            }
            // The guest must not run at the control plane's weight: lowered only after `cont`, a
            // burst inverted priorities (the resumed guests ran at nice 0 until the driver saw
            // `cont` answered, and the driver, starved by them, saw it late: 50 clones at once,
            // QEMU took 180-220 % of the two cores for 8 s while the controller waited 44 s in run
            // queues, summed over its threads). Where the vCPU threads are in the guests' CPU group
            // (since the process started) that cannot happen, and the process is lowered after
            // `cont`, so that QEMU answers the two commands below at the control plane's weight
            // (lowered before, they waited among the running guests: 10 ms for one clone, up to
            // 270 ms in a burst of ten); elsewhere it is lowered now.
            vm.beforeCont();
            // The forward and `cont` go out together (QEMU runs them in order), one wait for both.
            QmpClient qmp = vm.qmp();
            CompletableFuture<JsonNode> forward = sshPort > 0
                    ? qmp.submit("human-monitor-command", Map.of("command-line", "hostfwd_add net0 tcp:127.0.0.1:" + sshPort + "-:22"))
                    : null;
            CompletableFuture<JsonNode> cont = qmp.submit("cont", null);
            // Both commands are out: the next clone's launch takes its turn while QEMU answers.
            turn.end();
            // QEMU takes 10-30 ms to answer them in a burst (under 1 ms alone, measured): what the
            // launch has to write anyway is written meanwhile.
            whileQemuAnswers.run();
            qmp.await(cont, "cont");
            if (forward != null) {
                String added = qmp.await(forward, "hostfwd_add").asText();
                if (!added.isBlank()) {
                    throw new HypervisorException("cannot forward port " + sshPort + " to VM " + descriptor.id() + ": " + added.strip(), null);
                }
            }
            vm.afterCont();
        } catch (RuntimeException e) {
            vm.kill();
            throw e;
        } finally {
            vm.lock.unlock();
        }
        return vm;
    }

    /**
     * Takes the highest online memory blocks of the guest offline until what stays online is the
     * fewest whole blocks that hold {@code targetMb}. A block the guest cannot free (unmovable
     * kernel pages in it, or the last block of RAM with its holes) stays online and the next one
     * down is tried instead; the target is only partly applied, or not at all, when too few blocks
     * are movable. Guests that want targets applied give the kernel movable memory
     * ({@code movablecore=} or {@code movable_node}), as memory hot-unplug needs, and boot with
     * {@code nokaslr} (KASLR may place the kernel image in the movable zone; see the README).
     */
    static int offlineAboveTarget(GuestAgentClient agent, String vmId, int targetMb) {
        long blockBytes = agent.execute("guest-get-memory-block-info", null).path("size").asLong();
        if (blockBytes <= 0) {
            log.warn("clone {}: the guest reports no memory block size; its memory target of {} MB is not applied", vmId, targetMb);
            return 0;
        }
        List<Long> online = new java.util.ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode block : agent.execute("guest-get-memory-blocks", null)) {
            if (block.path("online").asBoolean()) {
                online.add(block.path("phys-index").asLong());
            }
        }
        online.sort(java.util.Comparator.reverseOrder());
        long keep = (targetMb * 1024L * 1024 + blockBytes - 1) / blockBytes;
        int offlined = 0;
        long wanted = Math.max(0, online.size() - keep);
        // Block 0 holds the kernel's early memory and never goes.
        for (long index : online) {
            if (offlined >= wanted || index == 0) {
                break;
            }
            com.fasterxml.jackson.databind.JsonNode result = agent.execute("guest-set-memory-blocks",
                    Map.of("mem-blks", List.of(Map.of("phys-index", index, "online", false))));
            String response = result.path(0).path("response").asText();
            if (response.equals("success")) {
                offlined++;
            } else {
                log.info("clone {}: memory block {} stays online ({})", vmId, index, response);
            }
        }
        log.info("clone {}: {} memory blocks of {} MB offline for its target of {} MB", vmId, offlined, blockBytes >> 20, targetMb);
        return offlined;
    }

    /** The -netdev value of a command line without its forwards (they are per VM). */
    static String netdevWithoutForwards(List<String> commandLine) {
        int at = commandLine.indexOf("-netdev");
        if (at < 0 || at + 1 >= commandLine.size()) {
            return null;
        }
        return commandLine.get(at + 1).replaceAll(",hostfwd=[^,]*", "");
    }

    /** The serial of a clone's own config-drive device, by which its guest finds it (at most 20 characters). */
    static final String CLONE_CONFIG_SERIAL = "strata-config-2";
    private static final String CLONE_CONFIG_NODE = "config-own";
    /** The device id of a clone's own config drive (its original's is config0). */
    private static final String CLONE_CONFIG_DEVICE = "config1";
    private static final Duration UNPLUG_DEADLINE = Duration.ofSeconds(60);
    private static final Duration PLUG_DEADLINE = Duration.ofSeconds(60);

    /**
     * Gives a running clone a config drive of its own in place of its original's (issue 4: each
     * clone has its own config drive): written as for a new server into its run directory; the
     * guest unmounts the original's, which is then unplugged (by its QOM path: the command line
     * gives it no id, and adding one would change the devices of every older live image); the
     * clone's is plugged into the same PCI slot and mounted at /mnt/config. The same slot lets the
     * VM's descriptor keep its command line as it was but for the file (and a serial), so a
     * suspend's saved state, a migration and a cold start all find the devices they expect, and a
     * stopped clone boots with its own config drive. Under the VM's lock: a suspend between the
     * unplug and the descriptor's update would save devices its command line no longer has.
     * Anything failing leaves the clone running (with the original's drive, or none), logged.
     */
    private void giveOwnConfigDrive(QemuVm vm, GuestAgentClient agent, VmSpec spec, UserNetwork network) {
        String id = spec.id();
        Path iso = vm.run().configDrive();
        vm.lock.lock();
        try {
            if (!vm.isProcessAlive()) {
                return;
            }
            QmpClient qmp = vm.qmp();
            String original = null;
            boolean own = false;
            for (JsonNode block : qmp.execute("query-block")) {
                if (block.path("device").asText().equals("config0")) {
                    original = block.path("qdev").asText().replaceFirst("/virtio-backend$", "");
                }
                own |= block.path("qdev").asText().contains("/" + CLONE_CONFIG_DEVICE + "/");
            }
            if (own) {
                // Plugged by an agent that stopped before it was done (given again after a restart).
                vm.replaceDescriptor(withCommandLine(vm.descriptor(),
                        QemuCommandLine.withConfigDrive(vm.descriptor().commandLine(), iso, CLONE_CONFIG_SERIAL)));
                remountConfigDrive(agent, id, ownDriveDevice());
                return;
            }
            // Written only now: the drive of a clone that has it plugged already is not rewritten under its guest.
            try {
                configDrive.write(spec, network, iso);
            } catch (RuntimeException e) {
                log.warn("clone {} keeps its original's config drive: cannot write its own: {}", id, e.getMessage());
                return;
            }
            if (original == null || original.isEmpty()) {
                log.warn("clone {} keeps its original's config drive: QEMU shows no device config0", id);
                return;
            }
            int devfn = qmp.execute("qom-get", Map.of("path", original, "property", "addr")).asInt(-1);
            if (devfn < 0) {
                log.warn("clone {} keeps its original's config drive: no PCI address for {}", id, original);
                return;
            }
            String slot = String.format("0x%x.%x", devfn >> 3, devfn & 7);
            // The guest lets go of the original's volume first (lazily if something holds it).
            agent.shell("umount /mnt/config 2>/dev/null || umount -l /mnt/config 2>/dev/null; true");
            String path = original;
            CompletableFuture<QmpEvent> deleted = qmp.nextEvent(event -> event.name().equals("DEVICE_DELETED")
                    && event.data().path("path").asText().equals(path));
            qmp.execute("device_del", Map.of("id", original));
            try {
                deleted.get(UNPLUG_DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                deleted.cancel(false);
                log.warn("clone {} keeps its original's config drive: the guest did not release it within {}", id, UNPLUG_DEADLINE);
                remountConfigDrive(agent, id, "findfs LABEL=config-2");
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                // The monitor connection ended: the VM was stopped or deleted meanwhile.
                log.warn("clone {}: its config drive was not replaced: {}", id, e.getCause() == null ? e.toString() : e.getCause().getMessage());
                return;
            }
            qmp.execute("blockdev-add", Map.of("driver", "raw", "node-name", CLONE_CONFIG_NODE, "read-only", true,
                    "file", Map.of("driver", "file", "filename", iso.toString(), "read-only", true)));
            qmp.execute("device_add", Map.of("driver", "virtio-blk-pci", "id", CLONE_CONFIG_DEVICE, "drive", CLONE_CONFIG_NODE,
                    "serial", CLONE_CONFIG_SERIAL, "addr", slot));
            // Plugged: from here on the VM's devices are those of the command line with its own drive.
            vm.replaceDescriptor(withCommandLine(vm.descriptor(),
                    QemuCommandLine.withConfigDrive(vm.descriptor().commandLine(), iso, CLONE_CONFIG_SERIAL)));
            remountConfigDrive(agent, id, ownDriveDevice());
            log.info("clone {} has its own config drive (PCI slot {})", id, slot);
        } catch (RuntimeException e) {
            log.warn("clone {} runs, but its own config drive could not replace its original's: {}", id, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            vm.lock.unlock();
        }
    }

    /** A guest command printing the device of a clone's own config drive (by its serial). */
    private static String ownDriveDevice() {
        return "for b in /sys/block/*; do [ \"$(cat $b/serial 2>/dev/null)\" = " + CLONE_CONFIG_SERIAL + " ] && echo /dev/${b##*/}; done";
    }

    /** Mounts at /mnt/config the device {@code find} prints, waiting for the guest to see it. */
    private static void remountConfigDrive(GuestAgentClient agent, String id, String find) {
        long deadline = System.nanoTime() + PLUG_DEADLINE.toNanos();
        while (true) {
            String device = agent.shell("(" + find + ") 2>/dev/null | head -n 1; true").strip();
            if (!device.isEmpty()) {
                // Already mounted when a restarted agent gives the identity again.
                agent.shell("grep -q '^" + device + " /mnt/config ' /proc/mounts || mount -t iso9660 -o ro " + device + " /mnt/config");
                return;
            }
            if (System.nanoTime() > deadline) {
                log.warn("clone {}: its guest shows no config drive to mount after {}", id, PLUG_DEADLINE);
                return;
            }
            Processes.sleep(Duration.ofMillis(500));
        }
    }

    private static VmDescriptor withCommandLine(VmDescriptor d, List<String> commandLine) {
        return new VmDescriptor(d.id(), d.name(), d.vcpus(), d.memoryMb(), d.targetMemoryMb(), d.accelerator(), d.sshPort(),
                d.ipAddress(), d.mac(), d.boot(), d.liveImage(), commandLine);
    }

    /**
     * The guest agent serves one connection at a time: while someone else holds it (an operator's
     * tool, a test, a diagnostics call), our connection waits in the socket's backlog and its sync
     * times out. Connecting is therefore retried until {@link #PERSONALISE_DEADLINE}; the steps after
     * it are not, because renaming the NIC cannot be repeated.
     */
    private static GuestAgentClient connectForPersonalisation(QemuVm vm, String id) {
        long deadline = System.nanoTime() + PERSONALISE_DEADLINE.toNanos();
        while (true) {
            try {
                return GuestAgentClient.connect(vm.run().agentSocket(), Duration.ofSeconds(15));
            } catch (HypervisorException e) {
                if (System.nanoTime() > deadline || !vm.isProcessAlive() || Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                log.info("clone {}: guest agent not answering yet ({}), trying again", id, e.getMessage());
                Processes.sleep(Duration.ofMillis(500));
            }
        }
    }

    /**
     * Tells a fresh clone who it is (in the background, after launch returned), through the guest
     * agent: the clone's own meta_data.json and user_data replace the original's in /run, where the
     * image's init links them, and its original's config drive is swapped for its own (see
     * {@link #giveOwnConfigDrive}). A failure leaves it running as a copy of the original.
     *
     * <p>Its memory target is applied by the guest taking whole memory blocks offline, not by the
     * balloon: the clone's RAM is a private mapping of the live image's RAM file, and QEMU (7.2
     * here) discards a ballooned page of file-backed RAM by punching a hole into the file, which
     * would zero that page of the live image under its other clones and its source (see
     * WarmLiveImageTest). Offlining gives the guest less memory without QEMU discarding anything;
     * the host keeps what the clone already copied, and blocks are coarse (128 MB on x86-64).
     */
    /** Whether the clone got its identity (a failure is logged). */
    private boolean personalise(QemuVm vm, VmSpec spec, LiveImageManifest manifest, UserNetwork network, int targetMemoryMb) {
        try (GuestAgentClient agent = connectForPersonalisation(vm, spec.id())) {
            agent.setTime(java.time.Instant.now());
            agent.setHostname(spec.hostname());
            if (manifest.mac() != null) {
                agent.reconfigureNetwork(manifest.mac(), spec.network().mac(), network.address(), network.prefixLength(), network.gateway());
            }
            if (!spec.guestParams().isEmpty()) {
                agent.writeParams(QemuHypervisor.GUEST_PARAMS, spec.guestParams());
            }
            agent.shell("rm -f " + CLONE_META_DATA + " " + CLONE_USER_DATA);
            agent.writeFile(CLONE_META_DATA, JSON.writeValueAsBytes(ConfigDrive.metaData(spec)));
            if (spec.userData() != null) {
                agent.writeFile(CLONE_USER_DATA, spec.userData());
            }
            giveOwnConfigDrive(vm, agent, spec, network);
            if (targetMemoryMb > 0 && targetMemoryMb < manifest.memoryMb()) {
                try {
                    offlineAboveTarget(agent, spec.id(), targetMemoryMb);
                } catch (RuntimeException e) {
                    log.warn("clone {} runs, but its memory target of {} MB was not applied: {}", spec.id(), targetMemoryMb, e.getMessage());
                }
            }
        } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
            log.warn("clone {} runs, but its guest agent could not give it its identity{}: {}", spec.id(),
                    closed ? " before this agent stopped" : "", e.getMessage());
            return false;
        }
        return true;
    }
}
