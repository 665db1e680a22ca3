package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU processes started ahead of demand for this host's live images, so that a clone does not
 * wait for one (starting QEMU is most of a cold clone start: ~140 ms of ~190 ms under TCG).
 *
 * <p>Each warm process runs in a run directory {@code .warm-<random>} (never a valid VM id, so
 * {@code discover()} and adoption skip it), maps the live image's RAM copy-on-write, has loaded the
 * image's device state and waits paused ({@code -S}): a clone takes one by renaming its run and RAM
 * directories to the VM's (open files and listening sockets move with them), resuming it, and
 * the pool starts a replacement in the background. Clones are taken only when the clone's
 * user-mode network has the same subnet and gateway as the warm process (its address is set by
 * the guest agent afterwards, as for any clone).
 *
 * <p>Warm processes die with the pool: on {@link #forget} of their live image, on {@link #close}
 * (agent shutdown), and, for those a crashed agent left behind, on {@link #sweep} at the next start.
 * Refills run one at a time on one thread, and only once no process has been taken for
 * {@link #REFILL_QUIET}: QEMU starts are CPU-bound, and a burst of clones should not be slowed by
 * the refills it causes (a refill starting during a 10-clone burst took the cores the burst's
 * monitor commands waited for).
 */
final class WarmPool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WarmPool.class);
    static final String PREFIX = ".warm-";
    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration FORGET_TIMEOUT = Duration.ofSeconds(60);
    private static final SecureRandom RANDOM = new SecureRandom();
    static final Duration REFILL_QUIET = Duration.ofMillis(500);

    /**
     * A loaded, paused process for one live image, the -netdev it was started with, and the
     * image's state file as it was when loaded (size and modification time).
     */
    record Warm(QemuVm vm, String netdev, String loadedState) {
        Warm {
            requireNonNull(vm, "vm is null");
            requireNonNull(netdev, "netdev is null");
            requireNonNull(loadedState, "loadedState is null");
        }
    }

    /** Size and modification time of a live image's state file: a changed file makes warm processes stale. */
    private static String stateVersion(Path image) {
        try {
            Path state = LiveImageManifest.state(image);
            return Files.size(state) + "@" + Files.getLastModifiedTime(state).toMillis();
        } catch (IOException e) {
            return "missing: " + e.getMessage();
        }
    }

    private final QemuConfig config;
    private final String accelerator;
    private final Disks disks;
    private final int size;
    private final ExecutorService filler;
    // Guarded by this.
    private final Map<Path, Deque<Warm>> ready = new HashMap<>();
    private final Map<Path, Integer> starting = new HashMap<>();
    private final Set<Path> images = new HashSet<>();
    private boolean closed;
    private volatile long lastTake = System.nanoTime() - REFILL_QUIET.toNanos();

    WarmPool(QemuConfig config, String accelerator, Disks disks, int size) {
        this.config = requireNonNull(config, "config is null");
        this.accelerator = requireNonNull(accelerator, "accelerator is null");
        this.disks = requireNonNull(disks, "disks is null");
        if (size < 0) {
            throw new IllegalArgumentException("warm pool size must be 0 or more");
        }
        this.size = size;
        this.filler = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("warm-pool").daemon().factory());
    }

    int size() {
        return size;
    }

    /**
     * Ends every warm process that an earlier agent left behind (it crashed or was SIGKILLed before
     * {@link #close}) and removes their directories. Runs before this pool starts any of its own.
     */
    static void sweep(QemuConfig config) {
        for (Path root : List.of(config.runRoot(), config.ramRoot())) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> entries = Files.list(root)) {
                for (Path dir : entries.filter(p -> p.getFileName().toString().startsWith(PREFIX)).toList()) {
                    killIfOurs(dir);
                    QemuFiles.deleteTree(dir);
                    log.info("removed the stray warm QEMU directory {}", dir);
                }
            } catch (IOException e) {
                throw new HypervisorException("cannot list " + root + ": " + e.getMessage(), e);
            }
        }
    }

    /** Kills the process of a warm run directory if its pid file names a live QEMU started in it. */
    private static void killIfOurs(Path dir) {
        OptionalLong pid = Processes.readPidFile(dir.resolve("qemu.pid"));
        if (pid.isEmpty() || !Processes.isAlive(pid.getAsLong())) {
            return;
        }
        boolean ours = Processes.commandLine(pid.getAsLong())
                .map(args -> args.stream().anyMatch(arg -> arg.contains(dir.toString())))
                .orElse(false);
        if (ours) {
            Processes.kill(pid.getAsLong(), KILL_TIMEOUT);
        }
    }

    /** Starts keeping {@link #size} warm processes for the live image in {@code dir} (in the background). */
    void keepWarm(Path dir) {
        Path image = dir.toAbsolutePath().normalize();
        synchronized (this) {
            if (size == 0 || closed || !images.add(image)) {
                return;
            }
        }
        refillLater(image);
    }

    /**
     * A warm process for the live image whose -netdev matches {@code netdev} (the address it hands
     * out aside), or empty: the caller then starts the clone cold. A taken process is the caller's.
     */
    Optional<Warm> take(Path dir, String netdev) {
        Path image = dir.toAbsolutePath().normalize();
        Warm taken = null;
        lastTake = System.nanoTime();
        synchronized (this) {
            Deque<Warm> queue = ready.get(image);
            if (queue != null) {
                for (Warm warm : queue) {
                    if (sameNetwork(warm.netdev(), netdev)) {
                        taken = warm;
                        break;
                    }
                }
                if (taken != null) {
                    queue.remove(taken);
                }
            }
        }
        if (taken != null && !taken.vm().isProcessAlive()) {
            log.warn("warm QEMU {} for {} died while waiting; starting cold", taken.vm().id(), image);
            discard(taken);
            taken = null;
        } else if (taken != null && !taken.loadedState().equals(stateVersion(image))) {
            // The image's state was rewritten after this process loaded it: clones must see the file as it is.
            log.warn("warm QEMU {} loaded an earlier state of {}; starting cold", taken.vm().id(), image);
            discard(taken);
            taken = null;
        }
        refillLater(image);
        return Optional.ofNullable(taken);
    }

    /**
     * Same subnet and gateway. The DHCP address and the DNS proxy (the first address that is
     * neither gateway nor the VM's) may differ: a clone's guest keeps the lease and resolver its
     * original got, whichever process it runs in, and the guest agent sets its address.
     */
    static boolean sameNetwork(String a, String b) {
        return subnetAndGateway(a).equals(subnetAndGateway(b));
    }

    private static final java.util.regex.Pattern PER_CLONE_OPTIONS = java.util.regex.Pattern.compile(",(dhcpstart|dns|hostfwd)=[^,]*");

    private static String subnetAndGateway(String netdev) {
        return PER_CLONE_OPTIONS.matcher(netdev).replaceAll("");
    }

    /**
     * Ends the warm processes of a live image that is going away and stops refilling for it; waits
     * for one being started to finish (then ends it), so nothing of the image's survives the call.
     */
    void forget(Path dir) {
        Path image = dir.toAbsolutePath().normalize();
        List<Warm> doomed;
        synchronized (this) {
            images.remove(image);
            long deadline = System.nanoTime() + FORGET_TIMEOUT.toNanos();
            while (starting.getOrDefault(image, 0) > 0 && System.nanoTime() < deadline) {
                try {
                    wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            Deque<Warm> queue = ready.remove(image);
            doomed = queue == null ? List.of() : new ArrayList<>(queue);
        }
        doomed.forEach(this::discard);
    }

    /** Ends every warm process (the agent is closing; unlike VMs, warm processes do not outlive it). */
    @Override
    public void close() {
        List<Path> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(images);
            all.addAll(ready.keySet());
        }
        filler.shutdownNow();
        for (Path image : all) {
            forget(image);
        }
    }

    /** How many warm processes wait for the live image in {@code dir} now. */
    synchronized int readyCount(Path dir) {
        Deque<Warm> queue = ready.get(dir.toAbsolutePath().normalize());
        return queue == null ? 0 : queue.size();
    }

    private void refillLater(Path image) {
        try {
            filler.execute(() -> refill(image));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            log.debug("warm pool closed; no refill for {}", image);
        }
    }

    private void refill(Path image) {
        while (true) {
            awaitQuiet();
            synchronized (this) {
                Deque<Warm> queue = ready.computeIfAbsent(image, key -> new ArrayDeque<>());
                if (closed || !images.contains(image) || queue.size() + starting.getOrDefault(image, 0) >= size) {
                    return;
                }
                starting.merge(image, 1, Integer::sum);
            }
            Warm warm = null;
            try {
                warm = start(image);
            } catch (RuntimeException e) {
                log.warn("cannot start a warm QEMU for live image {}: {}", image, e.getMessage());
            }
            boolean keep;
            synchronized (this) {
                starting.merge(image, -1, Integer::sum);
                keep = warm != null && !closed && images.contains(image);
                if (keep) {
                    ready.computeIfAbsent(image, key -> new ArrayDeque<>()).add(warm);
                }
                notifyAll();
            }
            if (warm == null) {
                return; // the next take tries again; no busy loop on a broken image
            }
            if (!keep) {
                discard(warm);
                return;
            }
        }
    }

    /** Waits until no process has been taken for {@link #REFILL_QUIET}. */
    private void awaitQuiet() {
        try {
            long quietFor;
            while ((quietFor = System.nanoTime() - lastTake) < REFILL_QUIET.toNanos()) {
                Thread.sleep(Duration.ofNanos(REFILL_QUIET.toNanos() - quietFor));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts one process that has loaded the image and waits paused, in a fresh .warm- directory. */
    private Warm start(Path image) {
        LiveImageManifest manifest = LiveImageManifest.read(image);
        if (!manifest.accelerator().equals(accelerator)) {
            throw new HypervisorException("live image " + image + " was blessed under " + manifest.accelerator(), null);
        }
        if (manifest.netdev() == null) {
            throw new HypervisorException("live image " + image + " predates warm processes (no netdev in its manifest)", null);
        }
        String name = PREFIX + HexFormat.of().formatHex(randomBytes());
        RunDir run = new RunDir(config.runRoot().resolve(name), config.ramRoot().resolve(name));
        long began = System.nanoTime();
        String loadedState = stateVersion(image);
        try {
            Files.createDirectories(run.dir());
            if (manifest.hasRootDisk()) {
                disks.copyOverlay(LiveImageManifest.disk(image), LiveImageManifest.cloneDiskTemplate(image), run.rootDisk());
            }
            // The network as the blessed VM had it; a clone with the same subnet takes it over.
            NetworkSpec network = new NetworkSpec(manifest.mac(), manifest.ipAddress(), 24, null, List.of(), 0);
            VmSpec spec = new VmSpec(name, name, name, manifest.vcpus(), manifest.memoryMb(), 0, manifest.boot(), null,
                    Map.of(), Map.of(), network, Map.of(), 0);
            QemuCommandLine.Storage storage = new QemuCommandLine.Storage(manifest.hasRootDisk() ? run.rootDisk() : null,
                    LiveImageManifest.configDrive(image), LiveImageManifest.ram(image), false);
            List<String> commandLine = new ArrayList<>(QemuCommandLine.build(config, accelerator, spec, run,
                    UserNetwork.of(network), storage, manifest.serialPorts()));
            int netdevAt = commandLine.indexOf("-netdev") + 1;
            commandLine.set(netdevAt, manifest.netdev());
            // -S: once loaded, wait paused for a clone instead of running as nobody.
            commandLine.add("-S");
            VmDescriptor descriptor = new VmDescriptor(name, name, manifest.vcpus(), manifest.memoryMb(), 0, accelerator, 0,
                    manifest.ipAddress(), manifest.mac(), manifest.boot(), image.toString(), commandLine);
            descriptor.write(run.descriptor());
            QemuVm vm = new QemuVm(run, descriptor, event -> { });
            vm.lock.lock();
            try {
                vm.loadIncoming(LiveImageManifest.state(image), true);
            } finally {
                vm.lock.unlock();
            }
            log.info("warm QEMU {} for live image {} loaded in {} ms ({})", name, image.getFileName(), (System.nanoTime() - began) / 1_000_000,
                    vm.startPhases());
            return new Warm(vm, manifest.netdev(), loadedState);
        } catch (RuntimeException | IOException e) {
            killIfOurs(run.dir());
            QemuFiles.deleteTree(run.dir());
            QemuFiles.deleteTree(run.ramDir());
            throw e instanceof HypervisorException h ? h : new HypervisorException("cannot start a warm QEMU: " + e.getMessage(), e);
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[6];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    private void discard(Warm warm) {
        QemuVm vm = warm.vm();
        vm.lock.lock();
        try {
            vm.kill();
        } finally {
            vm.lock.unlock();
        }
        QemuFiles.deleteTree(vm.run().dir());
        QemuFiles.deleteTree(vm.run().ramDir());
    }
}
