package io.strata.agent;

import io.strata.hypervisor.ColdDisk;
import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmDiagnostics;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What the controller asks of the local controller (agent) of one host. In the all-in-one
 * process it is a {@link LocalController} called directly; for agents on other hosts the same
 * interface is served over HTTP. Calls block until done, so callers use virtual threads.
 */
public interface AgentApi {
    String hostName();

    HostInfo describe();

    /** Fetches the boot images onto the host if needed and starts the VM. */
    VmInfo spawn(VmSpec spec, BootImages images);

    /**
     * Evacuation on shared instance storage: fetches the boot images if needed and starts the VM
     * from the root disk a dead host left on the storage this host shares with it (see
     * {@link io.strata.hypervisor.Hypervisor#rebuildFromSharedDisk}).
     */
    VmInfo rebuildFromSharedDisk(VmSpec spec, BootImages images);

    VmInfo act(String vmId, VmAction action);

    void destroy(String vmId);

    Optional<VmInfo> find(String vmId);

    String consoleLog(String vmId, int lines);

    /** Writes a copy of the VM's root disk to a file on this host; returns its disk format. */
    String snapshotDisk(String vmId, java.nio.file.Path target);

    /** Every VM the host has, for reconciliation against the store. */
    List<VmInfo> discover();

    /** Freezes a running VM into a live image kept on this host. */
    LiveImageRef bless(String vmId, String liveImageId);

    /** Starts a clone of a live image whose files are on this host (or on storage it shares with the blessing host). */
    default VmInfo launch(LiveImageRef image, VmSpec spec) {
        return launch(image, spec, null);
    }

    /**
     * Starts a clone of a live image blessed on {@code origin}'s host: when that is another host,
     * this host first makes its own copy of the image's files (fetched once, then kept until the
     * image is discarded). A null origin means the files are where {@code image} says.
     */
    VmInfo launch(LiveImageRef image, VmSpec spec, LiveImageOrigin origin);

    /** The copy of another host's live image this host is fetching now, if any (a clone's progress while it waits). */
    default Optional<io.strata.agent.liveimage.LiveImageCache.FetchProgress> liveImageFetch(String liveImageId) {
        return Optional.empty();
    }

    /** The base URL of this agent's HTTP API, for other hosts to fetch from; null for one inside a controller process. */
    default String agentUrl() {
        return null;
    }

    /** Removes the files of the live image blessed as {@code liveImageId} (no VM may run from it any more). Absent is fine. */
    void discardLiveImage(String liveImageId);

    /** The VM's resource use now (server diagnostics). */
    VmDiagnostics diagnostics(String vmId);

    /** Cold migration / resize, source side: the powered-off VM's disk to carry over (see {@link io.strata.hypervisor.Hypervisor}). */
    ColdDisk coldDisk(String vmId);

    /** Cold migration / resize, destination side: fetches the boot images if needed and creates the VM from {@code disk}. */
    VmInfo createFrom(VmSpec spec, BootImages images, ColdDisk disk, boolean start);

    /**
     * As above, for a disk that is on {@code origin}'s host: when this host does not see the
     * disk's file (no shared storage), it copies it from there first (checked against the size and
     * SHA-256 the source listed in the disk's attributes). A null origin means the file is where
     * the disk says.
     */
    default VmInfo createFrom(VmSpec spec, BootImages images, ColdDisk disk, boolean start, LiveImageOrigin origin) {
        return createFrom(spec, images, disk, start);
    }

    /** Live migration, source side: what the destination needs (see {@link io.strata.hypervisor.Hypervisor}). */
    MigrationSource migrationSource(String vmId);

    /** Live migration, destination side: fetches the boot images if needed and waits for the VM. */
    MigrationTarget prepareIncoming(VmSpec spec, MigrationSource source, BootImages images);

    /**
     * Live migration of a live-image clone, destination side: when the live image was blessed on
     * another host ({@code origin}), this host first makes its own copy of it (as for a launch)
     * and receives the clone on that copy's disk base and boot files. A null origin means the
     * image's files are where the source says (hosts of one process).
     */
    default MigrationTarget prepareIncomingClone(VmSpec spec, MigrationSource source, String liveImageId, LiveImageOrigin origin) {
        return prepareIncoming(spec, source, null);
    }

    /** Live migration, source side: streams the VM out; returns once it runs on the destination. */
    void migrateOut(String vmId, MigrationTarget target);

    /** Live migration, destination side: the VM runs here now. */
    VmInfo completeIncoming(String vmId);

    /** Receives changes that happen on their own (guest powered off, process died). */
    void subscribe(Consumer<VmEvent> listener);
}
