package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.compute.PowerState;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmInfo;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One VM on this host: its run directory, and while it runs, its QEMU process and QMP connection.
 * Every operation holds {@link #lock}; changes that happen on their own (the guest powers off, the
 * process dies) are noticed by {@link #checkLiveness()} and reported only when no operation of
 * ours is under way, because an operation reports its own outcome.
 */
final class QemuVm {
    private static final Logger log = LoggerFactory.getLogger(QemuVm.class);
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration MIGRATION_TIMEOUT = Duration.ofMinutes(5);

    final ReentrantLock lock = new ReentrantLock();
    private final RunDir run;
    /** Replaced only by {@link #replaceDescriptor} (a clone given its own config drive). */
    private volatile VmDescriptor descriptor;
    private final Consumer<VmEvent> events;
    private volatile long pid = -1;
    private volatile QmpClient qmp;
    private volatile boolean guestPoweredOff;
    /** Where the last start's time went (process, monitor, state load), for the driver's log. */
    private volatile String phases = "";
    private volatile boolean detached;
    private volatile PowerState lastKnown = PowerState.NOSTATE;

    QemuVm(RunDir run, VmDescriptor descriptor, Consumer<VmEvent> events) {
        this.run = requireNonNull(run, "run is null");
        this.descriptor = requireNonNull(descriptor, "descriptor is null");
        this.events = requireNonNull(events, "events is null");
    }

    String id() {
        return descriptor.id();
    }

    RunDir run() {
        return run;
    }

    VmDescriptor descriptor() {
        return descriptor;
    }

    /**
     * Makes {@code changed} (same VM) what later starts use, in memory and in the run directory's
     * vm.json: a live-image clone's command line names its own config drive once it has one.
     */
    void replaceDescriptor(VmDescriptor changed) {
        if (!changed.id().equals(descriptor.id())) {
            throw new IllegalArgumentException("descriptor of " + changed.id() + " given to VM " + descriptor.id());
        }
        changed.write(run.descriptor());
        descriptor = changed;
    }

    /**
     * Takes over a QEMU process found through the pid file, if it is alive and really this VM's
     * (its command line names the VM and its run directory). Starts and kills nothing.
     */
    void adopt() {
        OptionalLong found = Processes.readPidFile(run.pidFile());
        if (found.isEmpty() || !Processes.isAlive(found.getAsLong())) {
            if (found.isPresent()) {
                deleteRamFile(); // the dead process's RAM file is in tmpfs: it would hold host memory for nothing
            }
            return;
        }
        long candidate = found.getAsLong();
        // A clone that took a warm pool's process runs with that process's original directory in its
        // command line (the directory was renamed under it); run.startedIn() remembers which.
        String startedIn = startedIn();
        boolean ours = Processes.commandLine(candidate)
                .map(args -> (args.stream().anyMatch(arg -> arg.contains(id())) && args.stream().anyMatch(arg -> arg.contains(run.dir().toString())))
                        || (startedIn != null && args.stream().anyMatch(arg -> arg.contains(startedIn))))
                .orElse(false);
        if (!ours) {
            log.warn("pid file of VM {} names process {}, which is not its QEMU; treating the VM as crashed", id(), candidate);
            deleteRamFile();
            return;
        }
        pid = candidate;
        connect();
    }

    /** The directory the running process was started in, if not this VM's own (a warm pool's), else null. */
    private String startedIn() {
        try {
            return Files.isRegularFile(run.startedIn()) ? Files.readString(run.startedIn()).strip() : null;
        } catch (IOException e) {
            log.warn("cannot read {}: {}", run.startedIn(), e.toString());
            return null;
        }
    }

    boolean isProcessAlive() {
        return pid > 0 && Processes.isAlive(pid);
    }

    long pid() {
        return pid;
    }

    QmpClient qmp() {
        QmpClient client = qmp;
        if (client == null || !client.isOpen()) {
            throw new HypervisorException("no QMP connection to VM " + id(), null);
        }
        return client;
    }

    /**
     * The power state as QEMU reports it, or from the run directory when no process runs. Callers
     * hold {@link #lock}: the QMP connection may be replaced only by its holder.
     */
    PowerState powerState() {
        if (!lock.isHeldByCurrentThread()) {
            throw new IllegalStateException("powerState() needs the VM's lock");
        }
        lastKnown = queryPowerState();
        return lastKnown;
    }

    private PowerState queryPowerState() {
        if (!isProcessAlive()) {
            if (Files.exists(run.savedState())) {
                return PowerState.SUSPENDED;
            }
            // Every end of ours (quit, a noticed exit) removes the pid file; one left behind names a
            // process that died while no agent watched it (killed, crashed, the host's OOM killer).
            return Files.exists(run.pidFile()) ? PowerState.CRASHED : PowerState.SHUTDOWN;
        }
        if (qmp == null || !qmp.isOpen()) {
            connect();
        }
        String status = qmp().execute("query-status").path("status").asText();
        return switch (status) {
            case "running" -> PowerState.RUNNING;
            case "shutdown" -> PowerState.SHUTDOWN;
            case "suspended" -> PowerState.SUSPENDED;
            case "internal-error", "io-error", "guest-panicked" -> PowerState.CRASHED;
            default -> PowerState.PAUSED; // paused, prelaunch, inmigrate, postmigrate, debug, ...
        };
    }

    /**
     * What the VM is now. While an operation holds the lock, this reports the state last seen
     * rather than waiting (a STOP may wait a minute for the guest): the operation itself returns
     * the state it leaves behind.
     */
    VmInfo info() {
        boolean locked = lock.tryLock();
        try {
            return info(locked);
        } finally {
            if (locked) {
                lock.unlock();
            }
        }
    }

    /**
     * What the VM is right after an operation of ours left it in {@code state}, without asking QEMU:
     * a guest that TCG has just resumed answers QMP slowly (tens of ms), which a clone's launch
     * should not wait for.
     */
    VmInfo infoAfter(PowerState state) {
        lastKnown = requireNonNull(state, "state is null");
        return info(false);
    }

    private VmInfo info(boolean locked) {
        PowerState state = lastKnown;
        if (locked) {
            try {
                state = powerState();
            } catch (HypervisorException e) {
                // QEMU exited between the liveness check and the query.
                state = isProcessAlive() ? PowerState.NOSTATE : PowerState.SHUTDOWN;
            }
        }
        Map<String, String> details = new LinkedHashMap<>();
        details.put("accelerator", descriptor.accelerator());
        details.put("run_dir", run.dir().toString());
        details.put("console_log", run.serialLog().toString());
        details.put("memory_mb", Integer.toString(descriptor.memoryMb()));
        details.put("vcpus", Integer.toString(descriptor.vcpus()));
        if (descriptor.ipAddress() != null) {
            details.put("ip_address", descriptor.ipAddress());
        }
        if (descriptor.liveImage() != null) {
            details.put("live_image", descriptor.liveImage());
        }
        if (descriptor.sshPort() > 0) {
            details.put("ssh_port", Integer.toString(descriptor.sshPort()));
        }
        if (isProcessAlive()) {
            details.put("pid", Long.toString(pid));
        } else if (state == PowerState.CRASHED) {
            String gone = Processes.readPidFile(run.pidFile()).stream().mapToObj(Long::toString).findFirst().orElse("?");
            details.put("fault", ("QEMU process " + gone + " ended while no agent watched it " + tail(run.qemuLog(), 1)).strip());
        }
        if (locked && (state == PowerState.RUNNING || state == PowerState.PAUSED)) {
            try {
                long actual = qmp().execute("query-balloon").path("actual").asLong();
                details.put("balloon_mb", Long.toString(actual / (1024 * 1024)));
            } catch (HypervisorException e) {
                log.debug("no balloon figure for VM {}: {}", id(), e.getMessage());
            }
        }
        return new VmInfo(id(), state, details);
    }

    /** Where the last start's time went, e.g. "process 95 ms, monitor 3 ms, vCPU priority 2 ms, state 40 ms". */
    String startPhases() {
        return phases;
    }

    /** Starts QEMU from the descriptor's command line; {@code incoming} waits for a saved state. */
    void start(boolean incoming) {
        if (isProcessAlive()) {
            throw new HypervisorException("VM " + id() + " already has a QEMU process " + pid, null);
        }
        try {
            for (Path stale : List.of(run.qmpSocket(), run.agentSocket(), run.pidFile(), run.ramFile(), run.startedIn())) {
                Files.deleteIfExists(stale);
            }
            Files.createDirectories(run.ramDir());
        } catch (IOException e) {
            throw new HypervisorException("cannot prepare to start VM " + id() + ": " + e.getMessage(), e);
        }
        // Not under nice: QEMU's main loop does the driver's monitor work; only the vCPU threads
        // go low (see GuestPriority).
        List<String> command = new ArrayList<>(incoming ? descriptor.commandLine() : QemuCommandLine.forBoot(descriptor.commandLine()));
        if (incoming) {
            command.addAll(List.of("-incoming", "defer"));
        }
        File output = run.dir().resolve("qemu.log").toFile();
        guestPoweredOff = false;
        long began = System.nanoTime();
        try {
            // The daemonising parent exits once the child has set up its devices and sockets.
            Process parent = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(output)).start();
            parent.getOutputStream().close();
            if (!parent.waitFor(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                parent.destroyForcibly();
                throw new HypervisorException("QEMU for VM " + id() + " did not start within " + START_TIMEOUT, null);
            }
            if (parent.exitValue() != 0) {
                throw new HypervisorException("QEMU for VM " + id() + " failed to start (exit " + parent.exitValue() + "): "
                        + tail(output.toPath(), 5), null);
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot run " + descriptor.commandLine().get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted starting VM " + id(), e);
        }
        pid = Processes.readPidFile(run.pidFile())
                .orElseThrow(() -> new HypervisorException("QEMU for VM " + id() + " started but wrote no pid file", null));
        long daemonised = System.nanoTime();
        if (!incoming) {
            // The guest is already running: lowered at once (see GuestPriority).
            guestRuns();
        }
        connect();
        long connected = System.nanoTime();
        GuestPriority.lowerVcpus(pid, qmp());
        phases = "process " + (daemonised - began) / 1_000_000 + " ms, monitor " + (connected - daemonised) / 1_000_000
                + " ms, vCPU priority " + (System.nanoTime() - connected) / 1_000_000 + " ms";
        int target = descriptor.targetMemoryMb();
        // Never for a live image's clone: its RAM maps the image's file, and QEMU would discard
        // ballooned pages by punching holes into that file (see LiveImages.personalise).
        if (!incoming && descriptor.liveImage() == null && target > 0 && target < descriptor.memoryMb()) {
            // The guest's balloon driver inflates once it loads; until then QEMU keeps the target.
            qmp().execute("balloon", Map.of("value", target * 1024L * 1024));
        }
    }

    /**
     * Before the {@code cont} of a loaded process: on a host without the guests' CPU group, the
     * whole process goes below the control plane now, before its guest runs (see
     * LiveImages.takeOver for the inversion lowering it after caused). With the group, its vCPU
     * threads went into it when they were lowered (a refusal by the kernel is logged there).
     */
    void beforeCont() {
        if (!GuestCpuGroup.available()) {
            guestRuns();
        }
    }

    /**
     * After {@code cont} was answered: on a host with the guests' CPU group (the vCPU threads in
     * it since the process started), the rest of the process is lowered only now, so that QEMU
     * answered the {@code cont} at the control plane's weight rather than among the running guests.
     */
    void afterCont() {
        if (GuestCpuGroup.available()) {
            guestRuns();
        }
    }

    /**
     * The guest runs now, or is about to (its process loaded and paused): the whole process goes
     * below the control plane (see {@link GuestPriority#guestRuns}).
     */
    void guestRuns() {
        long current = pid;
        if (current > 0) {
            GuestPriority.guestRuns(current);
        }
    }

    /** After an agent restart: the priorities a process of ours gets when started (see {@link GuestPriority}). */
    void restorePriorities() {
        if (isProcessAlive() && qmp != null && qmp.isOpen()) {
            GuestPriority.lowerVcpus(pid, qmp);
            guestRuns();
        }
    }

    /** Asks QEMU to quit and waits for the process to end, killing it if it will not. */
    void quit() {
        long current = pid;
        if (current <= 0) {
            return;
        }
        try {
            if (qmp != null && qmp.isOpen()) {
                qmp.execute("quit", null, QMP_TIMEOUT);
            }
        } catch (QmpException e) {
            log.debug("quit on VM {}: {}", id(), e.getMessage()); // the process may already be ending
        }
        if (!Processes.waitForExit(current, EXIT_TIMEOUT)) {
            log.warn("QEMU {} of VM {} ignored quit; killing it", current, id());
            Processes.kill(current, EXIT_TIMEOUT);
        }
        processEnded();
    }

    /**
     * For destroy, without waiting for the lock: stops reporting on this VM and SIGKILLs its
     * process, so an operation that is waiting on the guest (a STOP's grace period) ends at once.
     */
    void abandon() {
        detached = true;
        long current = pid;
        if (current > 0) {
            ProcessHandle.of(current).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /**
     * Ends the process of a VM that now runs on another host: no event goes out for it, because
     * nothing happened to the guest.
     */
    void retireAfterMigration() {
        detached = true;
        quit();
    }

    /** SIGKILL, for destroy: nothing of the guest is worth waiting for. */
    void kill() {
        long current = pid;
        if (current > 0) {
            Processes.kill(current, EXIT_TIMEOUT);
        }
        processEnded();
    }

    /**
     * Lets go of the process and gives its open monitor connection to the caller, which passes it
     * to the VM taking the process over ({@link #takeProcess}); null when there is none.
     */
    QmpClient handOver() {
        detached = true;
        QmpClient current = qmp;
        qmp = null;
        return current;
    }

    /**
     * Makes this VM the owner of a running process that another {@code QemuVm} handed over with
     * its monitor connection ({@link #handOver}). Unlike {@link #adopt} nothing is looked up or
     * reconnected: the caller knows the process is the one it started.
     */
    void takeProcess(long processId, QmpClient client) {
        if (processId <= 0 || client == null || !client.isOpen() || !Processes.isAlive(processId)) {
            throw new HypervisorException("the QEMU process handed to VM " + id() + " is gone", null);
        }
        client.rebind(this::onEvent, () -> Thread.ofVirtual().start(this::checkLiveness));
        qmp = client;
        pid = processId;
    }

    /** Lets go of the process without touching it (the agent is closing; QEMU lives on). */
    void detach() {
        detached = true;
        QmpClient old = qmp;
        qmp = null;
        if (old != null) {
            old.close();
        }
    }

    /** ACPI power button, then up to {@code timeout} for the guest to power off. */
    boolean powerDownAndWait(Duration timeout) {
        CompletableFuture<QmpEvent> off = qmp().nextEvent(QmpEvent::isGuestShutdown);
        qmp().execute("system_powerdown");
        return await(off, timeout);
    }

    void reset() {
        guestPoweredOff = false;
        qmp().execute("system_reset");
    }

    void pause() {
        qmp().execute("stop");
    }

    void resumeCpus() {
        qmp().execute("cont");
    }

    /**
     * Nova's managed save: pauses the guest, migrates its whole state (RAM included) into a file in
     * the run directory, and ends the process. The file counts only once complete, so a failure
     * halfway leaves the VM running as it was.
     */
    void saveAndQuit() {
        Path partial = run.savedState().resolveSibling("suspend.state.partial");
        qmp().execute("stop");
        try {
            // QEMU 7.2 throttles migration to 32 MiB/s by default; this one only goes to a local file.
            qmp().execute("migrate-set-parameters", Map.of("max-bandwidth", 64L * 1024 * 1024 * 1024));
            // A full save, RAM included. A live-image clone's process still has x-ignore-shared on
            // from its launch, and the stream records it: the restoring process must not need it.
            qmp().execute("migrate-set-capabilities", Map.of("capabilities",
                    List.of(Map.of("capability", "x-ignore-shared", "state", false))));
            qmp().execute("migrate", Map.of("uri", "exec:cat > " + shellQuote(partial)));
            waitForMigration("query-migrate", Map.of("completed", true, "failed", false, "cancelled", false));
            Files.move(partial, run.savedState(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (RuntimeException | IOException e) {
            try {
                Files.deleteIfExists(partial);
                qmp().execute("cont");
            } catch (RuntimeException | IOException again) {
                e.addSuppressed(again);
            }
            throw e instanceof HypervisorException h ? h : new HypervisorException("cannot save VM " + id() + ": " + e.getMessage(), e);
        }
        quit();
        deleteRamFile();
    }

    /** Starts a new process that loads the saved state, then runs the guest and drops the file. */
    void restoreSaved() {
        startIncoming(run.savedState(), false);
        try {
            Files.deleteIfExists(run.savedState());
        } catch (IOException e) {
            log.warn("cannot remove the saved state of VM {}: {}", id(), e.toString());
        }
    }

    /**
     * Starts a new process that loads {@code state} and runs on. With {@code ignoreShared} the state
     * carries no RAM: the guest's memory is the file the command line maps (a live image's).
     */
    void startIncoming(Path state, boolean ignoreShared) {
        loadIncoming(state, ignoreShared);
        beforeCont();
        try {
            qmp().execute("cont");
        } catch (RuntimeException e) {
            kill();
            throw e;
        }
        afterCont();
    }

    /**
     * {@link #startIncoming} without the final {@code cont}: the process has loaded {@code state}
     * and waits (paused if its command line has -S, as a warm pool's processes do).
     */
    void loadIncoming(Path state, boolean ignoreShared) {
        start(true);
        try {
            if (ignoreShared) {
                qmp().execute("migrate-set-capabilities", Map.of("capabilities",
                        List.of(Map.of("capability", "x-ignore-shared", "state", true))));
            }
            long loading = System.nanoTime();
            qmp().execute("migrate-incoming", Map.of("uri", "exec:cat " + shellQuote(state)));
            long deadline = System.nanoTime() + MIGRATION_TIMEOUT.toNanos();
            while (qmp().execute("query-status").path("status").asText().equals("inmigrate")) {
                if (System.nanoTime() > deadline) {
                    throw new HypervisorException("loading VM " + id() + " took longer than " + MIGRATION_TIMEOUT, null);
                }
                Processes.sleep(Duration.ofMillis(5));
            }
            JsonNode migration = qmp().execute("query-migrate");
            if (migration.path("status").asText().equals("failed")) {
                throw new HypervisorException("loading VM " + id() + " failed: " + migration.path("error-desc").asText(), null);
            }
            phases += ", state " + (System.nanoTime() - loading) / 1_000_000 + " ms";
        } catch (RuntimeException e) {
            kill();
            String why = tail(run.qemuLog(), 3);
            throw why.isBlank() ? e : new HypervisorException("loading VM " + id() + " from " + state.getFileName() + " failed: " + why, e);
        }
    }

    /**
     * The first half of a bless: pauses the guest and writes its device state, without RAM
     * (x-ignore-shared: the RAM file itself becomes the image), to {@code state}; then ends QEMU.
     * The guest's memory is then exactly what the RAM file holds.
     */
    void freezeInto(Path state) {
        Path partial = state.resolveSibling(state.getFileName() + ".partial");
        qmp().execute("stop");
        try {
            qmp().execute("migrate-set-capabilities", Map.of("capabilities",
                    List.of(Map.of("capability", "x-ignore-shared", "state", true))));
            qmp().execute("migrate-set-parameters", Map.of("max-bandwidth", 64L * 1024 * 1024 * 1024));
            qmp().execute("migrate", Map.of("uri", "exec:cat > " + shellQuote(partial)));
            waitForMigration("query-migrate", Map.of("completed", true, "failed", false, "cancelled", false));
            Files.move(partial, state, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (RuntimeException | IOException e) {
            try {
                Files.deleteIfExists(partial);
                qmp().execute("migrate-set-capabilities", Map.of("capabilities",
                        List.of(Map.of("capability", "x-ignore-shared", "state", false))));
                qmp().execute("cont");
            } catch (RuntimeException | IOException again) {
                e.addSuppressed(again);
            }
            throw e instanceof HypervisorException h ? h : new HypervisorException("cannot bless VM " + id() + ": " + e.getMessage(), e);
        }
        quit();
    }

    private void waitForMigration(String query, Map<String, Boolean> endStates) {
        long deadline = System.nanoTime() + MIGRATION_TIMEOUT.toNanos();
        while (true) {
            JsonNode status = qmp().execute(query);
            Boolean success = endStates.get(status.path("status").asText());
            if (success != null) {
                if (!success) {
                    throw new HypervisorException("saving VM " + id() + " failed: " + status.path("error-desc").asText(status.toString()), null);
                }
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new HypervisorException("saving VM " + id() + " took longer than " + MIGRATION_TIMEOUT, null);
            }
            Processes.sleep(Duration.ofMillis(20));
        }
    }

    void deleteRamFile() {
        try {
            Files.deleteIfExists(run.ramFile());
        } catch (IOException e) {
            log.warn("cannot remove the RAM file of VM {}: {}", id(), e.toString());
        }
    }

    /**
     * Notices a process that ended on its own, and reports it: SHUTDOWN after the guest powered
     * off, CRASHED otherwise. Skips the check while an operation holds the lock.
     */
    void checkLiveness() {
        if (detached || pid <= 0 || !lock.tryLock()) {
            return;
        }
        try {
            if (pid > 0 && !Processes.isAlive(pid)) {
                long gone = pid;
                boolean poweredOff = guestPoweredOff;
                processEnded();
                deleteRamFile();
                events.accept(poweredOff
                        ? new VmEvent(id(), PowerState.SHUTDOWN, "guest powered off")
                        : new VmEvent(id(), PowerState.CRASHED, ("QEMU process " + gone + " exited unexpectedly " + tail(run.qemuLog(), 1)).strip()));
            }
        } finally {
            lock.unlock();
        }
    }

    /** QMP events that no operation of ours caused. */
    private void onEvent(QmpEvent event) {
        if (detached) {
            return;
        }
        if (event.isGuestShutdown()) {
            guestPoweredOff = true;
            if (!lock.isLocked()) {
                // -no-shutdown left QEMU alive; end it like libvirt does once the guest is off.
                Thread.ofVirtual().name("vm-poweroff-" + id()).start(this::quitAfterGuestPowerOff);
            }
        } else if (event.name().equals("GUEST_PANICKED") && !lock.isLocked()) {
            events.accept(new VmEvent(id(), PowerState.CRASHED, "guest kernel panicked"));
        }
    }

    private void quitAfterGuestPowerOff() {
        lock.lock();
        try {
            if (!isProcessAlive() || !guestPoweredOff) {
                return;
            }
            if (powerState() != PowerState.SHUTDOWN) {
                return; // an operation of ours reset or restarted it meanwhile
            }
            quit();
            deleteRamFile();
        } catch (RuntimeException e) {
            log.warn("cannot end QEMU of VM {} after the guest powered off", id(), e);
            return;
        } finally {
            lock.unlock();
        }
        events.accept(new VmEvent(id(), PowerState.SHUTDOWN, "guest powered off"));
    }

    private void connect() {
        QmpClient old = qmp;
        if (old != null) {
            old.close();
        }
        qmp = QmpClient.connect(run.qmpSocket(), "vm-" + id(), QMP_TIMEOUT, this::onEvent,
                () -> Thread.ofVirtual().start(this::checkLiveness));
    }

    private void processEnded() {
        pid = -1;
        QmpClient old = qmp;
        qmp = null;
        if (old != null) {
            old.close();
        }
        try {
            Files.deleteIfExists(run.pidFile());
        } catch (IOException e) {
            log.debug("cannot remove pid file of VM {}: {}", id(), e.toString());
        }
    }

    private static boolean await(CompletableFuture<QmpEvent> future, Duration timeout) {
        try {
            future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            future.cancel(false);
            return false;
        } catch (ExecutionException e) {
            return false; // the connection closed: the process is gone, which is what we waited for
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted", e);
        }
    }

    private static String shellQuote(Path path) {
        String text = path.toString();
        if (text.contains("'")) {
            throw new HypervisorException("unusable path for QEMU's exec migration: " + text, null);
        }
        return "'" + text + "'";
    }

    static String tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) {
                return "";
            }
            List<String> all = Files.readAllLines(file, java.nio.charset.StandardCharsets.ISO_8859_1);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }
}
