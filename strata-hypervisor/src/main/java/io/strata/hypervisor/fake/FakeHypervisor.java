package io.strata.hypervisor.fake;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A simulated host: VMs are entries in a map that walk the same power-state transitions as real
 * guests (with an optional delay per action, so callers see the transitional task states), and
 * the host reports fixed capacity. With a state file the VMs survive a restart of the process,
 * as QEMU guests survive a restart of their agent; without one many hosts fit in one JVM.
 */
public final class FakeHypervisor implements Hypervisor {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final ScheduledExecutorService FLUSHER = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "fake-hypervisor-flush");
        thread.setDaemon(true);
        return thread;
    });

    private final HostInfo host;
    private final Duration actionDelay;
    private final Path stateFile;
    private final Map<String, FakeVm> vms = new ConcurrentHashMap<>();
    private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean dirty = new AtomicBoolean();
    /** When each VM last started in this process, for the diagnostics' uptime and counters. */
    private final Map<String, java.time.Instant> started = new ConcurrentHashMap<>();

    /** What the fake remembers of a VM; public for JSON persistence. */
    public record FakeVm(String id, String name, PowerState powerState, int vcpus, int memoryMb, String console, String liveImage) {}

    public FakeHypervisor(HostInfo host, Duration actionDelay, Path stateFile) {
        this.host = requireNonNull(host, "host is null");
        this.actionDelay = requireNonNull(actionDelay, "actionDelay is null");
        this.stateFile = stateFile;
        if (stateFile != null) {
            load();
            // Writing the file on every change would make the simulation I/O bound at scale; a
            // second's worth of lost transitions after a crash is acceptable for a fake.
            FLUSHER.scheduleWithFixedDelay(this::flushIfDirty, 1, 1, TimeUnit.SECONDS);
        }
    }

    public static HostInfo hostInfo(String hostname, int vcpus, long memoryMb, long diskGb) {
        return new HostInfo(hostname, "fake", 1000, "fake", "127.0.0.1", vcpus, memoryMb, diskGb);
    }

    @Override
    public HostInfo describe() {
        return host;
    }

    @Override
    public VmInfo create(VmSpec spec) {
        pause();
        FakeVm vm = new FakeVm(spec.id(), spec.name(), PowerState.RUNNING, spec.vcpus(), spec.memoryMb(),
                "[    0.000000] Linux version 6.1.0-fake (strata fake hypervisor)\n" + spec.hostname() + " login: \n", null);
        if (vms.putIfAbsent(spec.id(), vm) != null) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on " + host.hostname());
        }
        changed();
        return info(vm);
    }

    @Override
    public VmInfo act(String vmId, VmAction action) {
        FakeVm vm = require(vmId);
        PowerState from = vm.powerState();
        PowerState to = switch (action) {
            case STOP -> expect(vm, action, PowerState.SHUTDOWN, PowerState.RUNNING, PowerState.PAUSED, PowerState.CRASHED);
            case START -> expect(vm, action, PowerState.RUNNING, PowerState.SHUTDOWN, PowerState.CRASHED);
            case REBOOT_SOFT -> expect(vm, action, PowerState.RUNNING, PowerState.RUNNING);
            case REBOOT_HARD -> expect(vm, action, PowerState.RUNNING, PowerState.RUNNING, PowerState.SHUTDOWN, PowerState.PAUSED,
                    PowerState.SUSPENDED, PowerState.CRASHED);
            case PAUSE -> expect(vm, action, PowerState.PAUSED, PowerState.RUNNING);
            case UNPAUSE -> expect(vm, action, PowerState.RUNNING, PowerState.PAUSED);
            case SUSPEND -> expect(vm, action, PowerState.SUSPENDED, PowerState.RUNNING, PowerState.PAUSED);
            case RESUME -> expect(vm, action, PowerState.RUNNING, PowerState.SUSPENDED);
        };
        pause();
        String console = vm.console();
        if (action == VmAction.REBOOT_SOFT || action == VmAction.REBOOT_HARD || (action == VmAction.START && from != to)) {
            console = console + "[    0.000000] Linux version 6.1.0-fake (strata fake hypervisor)\n";
        }
        FakeVm updated = new FakeVm(vm.id(), vm.name(), to, vm.vcpus(), vm.memoryMb(), console, vm.liveImage());
        vms.put(vmId, updated);
        if (to == PowerState.RUNNING && from != PowerState.RUNNING && from != PowerState.PAUSED) {
            started.put(vmId, java.time.Instant.now());
        }
        changed();
        return info(updated);
    }

    private static PowerState expect(FakeVm vm, VmAction action, PowerState to, PowerState... allowedFrom) {
        for (PowerState allowed : allowedFrom) {
            if (vm.powerState() == allowed) {
                return to;
            }
        }
        throw HypervisorException.wrongState(vm.id(), vm.powerState(), action);
    }

    @Override
    public void destroy(String vmId) {
        pause();
        started.remove(vmId);
        if (vms.remove(vmId) != null) {
            changed();
        }
    }

    @Override
    public Optional<VmInfo> find(String vmId) {
        return Optional.ofNullable(vms.get(vmId)).map(FakeHypervisor::info);
    }

    @Override
    public String consoleLog(String vmId, int lines) {
        String console = require(vmId).console();
        if (lines <= 0) {
            return console;
        }
        String[] all = console.split("\n", -1);
        int from = Math.max(0, all.length - 1 - lines);
        return String.join("\n", java.util.Arrays.copyOfRange(all, from, all.length));
    }

    @Override
    public LiveImageRef bless(String vmId, Path dir) {
        FakeVm vm = require(vmId);
        if (vm.powerState() != PowerState.RUNNING) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + vmId + " must be running to be blessed");
        }
        pause();
        return new LiveImageRef(vmId, dir, vm.vcpus(), vm.memoryMb(), Map.of("console", vm.console()));
    }

    @Override
    public VmInfo launch(LiveImageRef image, VmSpec spec) {
        pause();
        String console = image.attributes().getOrDefault("console", "") + "[strata] resumed from live image " + image.id() + "\n";
        FakeVm vm = new FakeVm(spec.id(), spec.name(), PowerState.RUNNING, image.vcpus(), image.memoryMb(), console, image.id());
        if (vms.putIfAbsent(spec.id(), vm) != null) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on " + host.hostname());
        }
        changed();
        return info(vm);
    }

    /** The fake has no disks: the "snapshot" is a small text file naming the VM, enough to move through the image service. */
    @Override
    public String snapshotDisk(String vmId, Path target) {
        FakeVm vm = require(vmId);
        pause();
        try {
            Files.writeString(target, "strata fake disk of " + vm.id() + " (" + vm.name() + ")\n");
        } catch (IOException e) {
            throw new HypervisorException("cannot write snapshot " + target, e);
        }
        return "raw";
    }

    /**
     * Synthetic figures that grow with the time the VM has been known to this process, as a
     * lightly loaded guest's would: about 2% of a CPU per vCPU, a boot's worth of disk reads, a
     * trickle of writes and network traffic. Zero counters when it does not run.
     */
    @Override
    public VmDiagnostics diagnostics(String vmId) {
        FakeVm vm = require(vmId);
        boolean running = vm.powerState() == PowerState.RUNNING || vm.powerState() == PowerState.PAUSED;
        long upMillis = running ? Duration.between(started.computeIfAbsent(vmId, id -> java.time.Instant.now()), java.time.Instant.now())
                .toMillis() : 0;
        long up = upMillis / 100;   // the counters below move every tenth of a second
        List<VmDiagnostics.Cpu> cpus = new ArrayList<>();
        for (int i = 0; i < vm.vcpus(); i++) {
            cpus.add(new VmDiagnostics.Cpu(i, running ? 300_000_000L + up * 2_000_000L : 0));
        }
        long memoryKb = vm.memoryMb() * 1024L;
        List<VmDiagnostics.Disk> disks = running
                ? List.of(new VmDiagnostics.Disk("vda", 30_000_000L + up * 1_024, 1_800 + up / 10, 4_000_000L + up * 8_192, 300 + up, 0))
                : List.of();
        String mac = String.format("fa:16:3e:%02x:%02x:%02x", vmId.hashCode() & 0xff, (vmId.hashCode() >> 8) & 0xff,
                (vmId.hashCode() >> 16) & 0xff);
        List<VmDiagnostics.Nic> nics = List.of(running
                ? new VmDiagnostics.Nic("vnet0", mac, 2_000 + up * 120, 20 + up, 0, 0, 1_500 + up * 80, 15 + up, 0, 0)
                : new VmDiagnostics.Nic("vnet0", mac, 0, 0, 0, 0, 0, 0, 0, 0));
        return new VmDiagnostics(vm.powerState(), "fake", upMillis / 1000, memoryKb, running ? memoryKb : 0, running ? memoryKb / 4 : 0, cpus, disks,
                nics);
    }

    /** The fake's "disk" is its console text: the destination's console continues the source's. */
    @Override
    public ColdDisk coldDisk(String vmId) {
        FakeVm vm = require(vmId);
        if (vm.powerState() != PowerState.SHUTDOWN && vm.powerState() != PowerState.CRASHED) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + vmId + " must be powered off before its disk can move");
        }
        return new ColdDisk(vmId, null, Map.of("console", vm.console()));
    }

    @Override
    public VmInfo createFrom(VmSpec spec, ColdDisk disk, boolean start) {
        pause();
        String console = disk.attributes().getOrDefault("console", "") + "[strata] moved to " + host.hostname() + " with "
                + spec.vcpus() + " vCPUs and " + spec.memoryMb() + " MB\n";
        FakeVm vm = new FakeVm(spec.id(), spec.name(), start ? PowerState.RUNNING : PowerState.SHUTDOWN, spec.vcpus(), spec.memoryMb(),
                console, null);
        if (vms.putIfAbsent(spec.id(), vm) != null) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on " + host.hostname());
        }
        changed();
        return info(vm);
    }

    /** The fake "streams" its console text: the destination's console continues the source's. */
    @Override
    public MigrationSource migrationSource(String vmId) {
        FakeVm vm = require(vmId);
        if (vm.powerState() != PowerState.RUNNING) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + vmId + " must be running to be migrated");
        }
        return new MigrationSource(vmId, vm.vcpus(), vm.memoryMb(), 0, BootSource.none(), null, null, 0,
                Map.of("console", vm.console(), "name", vm.name()));
    }

    @Override
    public MigrationTarget prepareIncoming(VmSpec spec, MigrationSource source) {
        pause();
        FakeVm vm = new FakeVm(spec.id(), spec.name(), PowerState.PAUSED, source.vcpus(), source.memoryMb(),
                source.attributes().getOrDefault("console", ""), null);
        if (vms.putIfAbsent(spec.id(), vm) != null) {
            throw new HypervisorException(ErrorCode.CONFLICT, "VM " + spec.id() + " already exists on " + host.hostname());
        }
        changed();
        return new MigrationTarget(spec.id(), "fake:" + host.hostname(), null, Map.of());
    }

    @Override
    public void migrateOut(String vmId, MigrationTarget target) {
        require(vmId);
        pause();
        vms.remove(vmId);
        changed();
    }

    @Override
    public VmInfo completeIncoming(String vmId) {
        FakeVm vm = require(vmId);
        FakeVm running = new FakeVm(vm.id(), vm.name(), PowerState.RUNNING, vm.vcpus(), vm.memoryMb(),
                vm.console() + "[strata] migrated to " + host.hostname() + "\n", vm.liveImage());
        vms.put(vmId, running);
        changed();
        return info(running);
    }

    @Override
    public List<VmInfo> discover() {
        return vms.values().stream().map(FakeHypervisor::info).toList();
    }

    @Override
    public void subscribe(Consumer<VmEvent> listener) {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    /** Simulates a guest powering itself off or its process dying, as the QEMU driver would report. */
    public void simulateCrash(String vmId, String message) {
        FakeVm vm = require(vmId);
        FakeVm crashed = new FakeVm(vm.id(), vm.name(), PowerState.SHUTDOWN, vm.vcpus(), vm.memoryMb(), vm.console(), vm.liveImage());
        vms.put(vmId, crashed);
        changed();
        listeners.forEach(listener -> listener.accept(new VmEvent(vmId, PowerState.SHUTDOWN, message)));
    }

    @Override
    public void close() {
        flushIfDirty();
    }

    private FakeVm require(String vmId) {
        FakeVm vm = vms.get(vmId);
        if (vm == null) {
            throw HypervisorException.noSuchVm(vmId);
        }
        return vm;
    }

    private static VmInfo info(FakeVm vm) {
        Map<String, String> details = new LinkedHashMap<>();
        details.put("accelerator", "fake");
        if (vm.liveImage() != null) {
            details.put("live_image", vm.liveImage());
        }
        return new VmInfo(vm.id(), vm.powerState(), details);
    }

    private void pause() {
        if (!actionDelay.isZero()) {
            try {
                Thread.sleep(actionDelay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HypervisorException(ErrorCode.INTERNAL, "interrupted");
            }
        }
    }

    private void changed() {
        dirty.set(true);
    }

    private void load() {
        if (!Files.exists(stateFile)) {
            return;
        }
        try {
            List<FakeVm> saved = MAPPER.readValue(stateFile.toFile(), new TypeReference<List<FakeVm>>() {});
            saved.forEach(vm -> vms.put(vm.id(), vm));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read fake hypervisor state " + stateFile, e);
        }
    }

    private synchronized void flushIfDirty() {
        if (stateFile == null || !dirty.getAndSet(false)) {
            return;
        }
        try {
            Files.createDirectories(stateFile.getParent());
            Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
            MAPPER.writeValue(tmp.toFile(), new ArrayList<>(vms.values()));
            Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            dirty.set(true);
            throw new UncheckedIOException("cannot write fake hypervisor state " + stateFile, e);
        }
    }

}
