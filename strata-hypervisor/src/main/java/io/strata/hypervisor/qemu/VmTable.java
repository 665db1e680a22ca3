package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.VmEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs of this host by id: those started by this instance, and those found again in their run
 * directories after an agent restart (adopted on first use). Also where their events go out.
 */
final class VmTable {
    private static final Logger log = LoggerFactory.getLogger(VmTable.class);
    private static final Pattern VM_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,39}");

    private final QemuConfig config;
    private final Map<String, QemuVm> vms = new ConcurrentHashMap<>();
    private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();

    VmTable(QemuConfig config) {
        this.config = requireNonNull(config, "config is null");
    }

    /** Ids become directory and QEMU option values: no separators, no commas, short. */
    static boolean isValidId(String vmId) {
        return VM_ID.matcher(vmId).matches();
    }

    /** True if the id is taken, in memory or on disk. */
    boolean exists(String vmId) {
        return vms.containsKey(vmId) || Files.exists(RunDir.of(config, vmId).dir());
    }

    void put(QemuVm vm) {
        vms.put(vm.id(), vm);
    }

    Collection<QemuVm> all() {
        return vms.values();
    }

    void subscribe(Consumer<VmEvent> listener) {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    void publish(VmEvent event) {
        log.info("VM {} is {} on its own: {}", event.vmId(), event.powerState(), event.message());
        for (Consumer<VmEvent> listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                log.warn("VM event listener failed on {}", event, e);
            }
        }
    }

    /** Lets go of every VM without touching its process. */
    void detachAll() {
        for (QemuVm vm : vms.values()) {
            vm.detach();
        }
        vms.clear();
    }

    /** The VM from memory, or re-adopted from its run directory (after an agent restart). */
    Optional<QemuVm> lookup(String vmId) {
        requireNonNull(vmId, "vmId is null");
        QemuVm known = vms.get(vmId);
        if (known != null || !isValidId(vmId)) {
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
            loaded.restorePriorities();
        } catch (RuntimeException e) {
            log.warn("cannot re-adopt VM {}: {}", vmId, e.getMessage());
        } finally {
            loaded.lock.unlock();
        }
        return Optional.of(loaded);
    }

    /** Kills the VM if it runs and removes its run and RAM directories; absent VMs are fine. */
    void destroy(String vmId) {
        Optional<QemuVm> found = lookup(vmId);
        RunDir run = found.map(QemuVm::run).orElse(RunDir.of(config, vmId));
        if (found.isPresent()) {
            QemuVm vm = found.get();
            vm.abandon();
            vm.lock.lock();
            try {
                vm.kill();
                QemuFiles.deleteTree(run.dir());
                QemuFiles.deleteTree(run.ramDir());
                vms.remove(vmId);
            } finally {
                vm.lock.unlock();
            }
        } else if (isValidId(vmId)) {
            // A half-created VM (no descriptor yet) may still have left files.
            QemuFiles.deleteTree(run.dir());
            QemuFiles.deleteTree(run.ramDir());
        }
    }

}
