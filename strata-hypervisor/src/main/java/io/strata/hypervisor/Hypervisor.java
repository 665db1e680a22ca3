package io.strata.hypervisor;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One hypervisor host as the local controller sees it. Implementations: {@code QemuHypervisor}
 * (real guests) and {@code FakeHypervisor} (simulation). Every VM is named by the id of the
 * server it backs, so that after a restart {@link #discover()} can be matched against the store.
 *
 * <p>Calls block until the hypervisor has done what was asked (the agent calls them from virtual
 * threads). Implementations must be safe for concurrent calls on different VMs.
 */
public interface Hypervisor extends AutoCloseable {
    /** Capacity and identity of this host. */
    HostInfo describe();

    /** Defines and starts a VM (cold boot); returns once its process runs. */
    VmInfo create(VmSpec spec);

    /**
     * Evacuation on shared instance storage: defines and starts the VM {@code spec} describes on
     * this host from the root disk a dead host left on the storage both share, keeping what the
     * guest wrote; this host owns the disk from then on. Hosts without shared instance storage
     * refuse (409).
     */
    default VmInfo rebuildFromSharedDisk(VmSpec spec) {
        throw new HypervisorException(io.strata.core.ErrorCode.CONFLICT, "this host has no shared instance storage");
    }

    /** Applies a power action; returns the VM's state afterwards. */
    VmInfo act(String vmId, VmAction action);

    /** Stops the VM if it runs and removes everything it had on this host. Absent VMs are fine. */
    void destroy(String vmId);

    /** The VM's current state, or empty if this host has no such VM. */
    Optional<VmInfo> find(String vmId);

    /** The last {@code lines} lines of the VM's serial console (all of it when lines <= 0). */
    String consoleLog(String vmId, int lines);

    /**
     * Freezes a running VM into a live image under {@code dir}: its memory, device state and a
     * read-only disk base from which clones start with the same loaded memory.
     */
    LiveImageRef bless(String vmId, Path dir);

    /** Starts a clone of a live image that resumes where the blessed VM was. */
    VmInfo launch(LiveImageRef image, VmSpec spec);

    /**
     * Keeps clones of the live image in {@code liveImageDir} ready to start (e.g. processes started
     * ahead of demand); called after a bless and, for existing live images, when the agent starts.
     * Drivers without such a thing ignore it.
     */
    default void keepWarm(Path liveImageDir) {
    }

    /**
     * The live image in {@code liveImageDir} is being discarded: ends whatever this driver keeps
     * ready for it, before the caller removes its files.
     */
    default void forgetLiveImage(Path liveImageDir) {
    }

    /**
     * A live-image clone's migration source as this host receives it from its own copy of the
     * live image in {@code liveImageDir}: the disk base and boot files of the copy instead of the
     * source host's. The driver that needs no files returns {@code source} as it is.
     */
    default MigrationSource withLiveImageAt(MigrationSource source, Path liveImageDir) {
        return source;
    }

    /**
     * What another host must copy to start clones of the live image in {@code liveImageDir}
     * without sharing this host's storage: the image's own files and the boot files its clones
     * read, each under a plain name. Empty when the driver's clones need no files (the fake).
     */
    default List<LiveImageFile> liveImageFiles(Path liveImageDir) {
        return List.of();
    }

    /**
     * Makes a copy of a live image usable on this host: {@code staged} holds the files another
     * host's {@link #liveImageFiles} named, already verified, and is moved to {@code finalDir}
     * (same file system) right after this returns; whatever the copy refers to must point into
     * {@code finalDir}, never to the other host's paths.
     */
    default void adoptLiveImage(Path staged, Path finalDir) {
    }

    /**
     * Writes a standalone copy of the VM's root disk (its image base merged with what the guest
     * wrote) to {@code target}, for snapshots; returns the disk format written ("qcow2", "raw").
     */
    String snapshotDisk(String vmId, Path target);

    // ------------------------------------------------------------------ live migration
    // The controller drives it: migrationSource on the source, prepareIncoming on the destination,
    // migrateOut on the source (returns once the VM runs on the destination and is gone here),
    // then completeIncoming on the destination. On failure the source VM keeps running and the
    // controller destroys the destination's half.

    /** What a destination needs to receive this running VM. */
    MigrationSource migrationSource(String vmId);

    /** Starts a VM on this host that waits for {@code source}'s state; {@code spec} is its identity (same id, MAC, address). */
    MigrationTarget prepareIncoming(VmSpec spec, MigrationSource source);

    /** Streams the running VM's disk top layer and memory to {@code target}; the guest keeps running meanwhile. */
    void migrateOut(String vmId, MigrationTarget target);

    /** On the destination after migrateOut: the VM runs here; ends the disk export. */
    VmInfo completeIncoming(String vmId);

    // ------------------------------------------------------------------ cold migration and resize
    // The controller powers the VM off on the source, asks the source for its ColdDisk, then has
    // the destination create the VM from it (with the new flavor for a resize). The source VM is
    // kept, powered off, until the move is confirmed (destroyed) or reverted (started again).

    /** The root disk top layer of a powered-off VM, for another host to take over. */
    ColdDisk coldDisk(String vmId);

    /**
     * Creates the VM on this host from {@code disk} (copied: the source keeps its own), booting
     * the image {@code spec.boot()} names underneath it, the disk grown to {@code spec.rootDiskGb()}
     * if larger; starts it when {@code start}, else leaves it powered off.
     */
    VmInfo createFrom(VmSpec spec, ColdDisk disk, boolean start);

    /** The VM's resource use now (Nova's diagnostics); zero counters when it does not run. */
    VmDiagnostics diagnostics(String vmId);

    /** Every VM this host has, running or not, as found on the host itself (for reconciliation). */
    List<VmInfo> discover();

    /** Registers a listener for changes that happen on their own (a guest powers off, a process dies). */
    void subscribe(Consumer<VmEvent> listener);

    @Override
    void close();
}
