package io.strata.agent;

import static java.util.Objects.requireNonNull;

import io.strata.agent.liveimage.LiveImageCache;
import io.strata.agent.liveimage.LiveImageExport;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.ColdDisk;
import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmDiagnostics;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The local controller of one host: owns its VMs through a {@link Hypervisor}, turning image
 * references into local files before a boot. It keeps no state of its own beyond what the
 * hypervisor finds on the host, so a restarted agent knows exactly what a dead one knew.
 */
public final class LocalController implements AgentApi, AutoCloseable {
    private final String hostName;
    private final Hypervisor hypervisor;
    private final ImageFetcher images;
    private final Path liveImageRoot;
    /** Copies of other hosts' live images; null where hosts share storage (the hosts of one process). */
    private final LiveImageCache liveImageCache;
    private final LiveImageExport liveImageExport;

    public LocalController(String hostName, Hypervisor hypervisor, ImageFetcher images, Path liveImageRoot) {
        this(hostName, hypervisor, images, liveImageRoot, null);
    }

    public LocalController(String hostName, Hypervisor hypervisor, ImageFetcher images, Path liveImageRoot, LiveImageCache liveImageCache) {
        this.hostName = requireNonNull(hostName, "hostName is null");
        this.hypervisor = requireNonNull(hypervisor, "hypervisor is null");
        this.images = requireNonNull(images, "images is null");
        this.liveImageRoot = requireNonNull(liveImageRoot, "liveImageRoot is null");
        this.liveImageCache = liveImageCache;
        this.liveImageExport = new LiveImageExport(hypervisor, liveImageRoot);
    }

    /** This host's live images as other hosts copy them. */
    public LiveImageExport liveImageExport() {
        return liveImageExport;
    }

    /**
     * Asks the hypervisor to keep clones ready for the live images this host already has (after
     * an agent restart; new ones are kept warm from their bless on).
     */
    public void warmUpLiveImages() {
        Path root = liveImageRoot.toAbsolutePath().normalize();
        if (!java.nio.file.Files.isDirectory(root)) {
            return;
        }
        try (java.util.stream.Stream<Path> dirs = java.nio.file.Files.list(root)) {
            dirs.filter(java.nio.file.Files::isDirectory).sorted().forEach(hypervisor::keepWarm);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot list live images in " + root, e);
        }
    }

    @Override
    public String hostName() {
        return hostName;
    }

    @Override
    public HostInfo describe() {
        return hypervisor.describe();
    }

    @Override
    public VmInfo spawn(VmSpec spec, BootImages boot) {
        return hypervisor.create(withLocalImages(spec, boot));
    }

    @Override
    public VmInfo rebuildFromSharedDisk(VmSpec spec, BootImages boot) {
        return hypervisor.rebuildFromSharedDisk(withLocalImages(spec, boot));
    }

    /** The spec with its boot images fetched onto this host. */
    private VmSpec withLocalImages(VmSpec spec, BootImages boot) {
        BootSource source = new BootSource(
                boot.disk() == null ? null : images.fetch(boot.disk()),
                boot.disk() == null ? null : boot.disk().diskFormat(),
                boot.kernel() == null ? null : images.fetch(boot.kernel()),
                boot.ramdisk() == null ? null : images.fetch(boot.ramdisk()),
                boot.commandLine());
        return new VmSpec(spec.id(), spec.name(), spec.hostname(), spec.vcpus(), spec.memoryMb(), spec.rootDiskGb(),
                source, spec.userData(), spec.metadata(), spec.publicKeys(), spec.network(), spec.guestParams(), spec.targetMemoryMb());
    }

    @Override
    public VmDiagnostics diagnostics(String vmId) {
        return hypervisor.diagnostics(vmId);
    }

    @Override
    public ColdDisk coldDisk(String vmId) {
        ColdDisk disk = hypervisor.coldDisk(vmId);
        if (disk.rootDisk() == null) {
            return disk;
        }
        // Size and checksum let a host without shared storage check the copy it makes.
        try {
            Map<String, String> attributes = new java.util.HashMap<>(disk.attributes());
            attributes.put(ColdDisks.SIZE, Long.toString(java.nio.file.Files.size(disk.rootDisk())));
            attributes.put(ColdDisks.SHA256, io.strata.agent.liveimage.LiveImageExport.sha256Of(disk.rootDisk()));
            return new ColdDisk(disk.vmId(), disk.rootDisk(), attributes);
        } catch (java.io.IOException e) {
            throw new io.strata.hypervisor.HypervisorException("cannot read the disk of VM " + vmId + ": " + e.getMessage(), e);
        }
    }

    /** The file of a powered-off VM's disk, for another host copying it (see {@link #createFrom(VmSpec, BootImages, ColdDisk, boolean, LiveImageOrigin)}). */
    public Path coldDiskFile(String vmId) {
        ColdDisk disk = hypervisor.coldDisk(vmId);
        if (disk.rootDisk() == null) {
            throw new io.strata.hypervisor.HypervisorException(io.strata.core.ErrorCode.NOT_FOUND, "VM " + vmId + " has no root disk");
        }
        return disk.rootDisk();
    }

    @Override
    public VmInfo createFrom(VmSpec spec, BootImages boot, ColdDisk disk, boolean start) {
        return hypervisor.createFrom(withLocalImages(spec, boot), disk, start);
    }

    @Override
    public VmInfo createFrom(VmSpec spec, BootImages boot, ColdDisk disk, boolean start, LiveImageOrigin origin) {
        if (origin == null || origin.host().equals(hostName) || liveImageCache == null || disk.rootDisk() == null) {
            // Same host, hosts of one process (they share files), or a disk-less VM.
            return createFrom(spec, boot, disk, start);
        }
        // Hosts of their own copy the layer over HTTP even when a path of the same name exists
        // here: a file there is not known to be the same file (and copying is what makes a move
        // work without shared storage at all).
        Path copy = liveImageCache.fetchColdDisk(disk, origin);
        try {
            return createFrom(spec, boot, new ColdDisk(disk.vmId(), copy, disk.attributes()), start);
        } finally {
            liveImageCache.discardColdDisk(copy);
        }
    }

    @Override
    public MigrationSource migrationSource(String vmId) {
        return hypervisor.migrationSource(vmId);
    }

    @Override
    public MigrationTarget prepareIncoming(VmSpec spec, MigrationSource source, BootImages images) {
        if (images == null) {
            // A live-image clone: its image's files are where the source says (shared storage).
            return hypervisor.prepareIncoming(spec, source);
        }
        // The guest's kernel, initramfs and the image under its disk are Glance images: this
        // host's own copies hold the same bytes (checked by checksum), so the incoming VM uses
        // them instead of the source's paths, which need not exist here.
        VmSpec local = withLocalImages(spec, images);
        BootSource mine = local.boot();
        BootSource theirs = source.boot();
        BootSource boot = theirs == null ? null : new BootSource(
                theirs.disk() == null ? null : mine.disk(), theirs.diskFormat(),
                theirs.kernel() == null ? null : mine.kernel(),
                theirs.ramdisk() == null ? null : mine.ramdisk(), theirs.commandLine());
        String backing = source.diskBacking() == null || mine.disk() == null ? source.diskBacking() : mine.disk().toString();
        MigrationSource here = new MigrationSource(source.vmId(), source.vcpus(), source.memoryMb(), source.targetMemoryMb(), boot, backing,
                source.diskBackingFormat(), source.diskVirtualSize(), source.attributes());
        return hypervisor.prepareIncoming(local, here);
    }

    @Override
    public MigrationTarget prepareIncomingClone(VmSpec spec, MigrationSource source, String liveImageId, LiveImageOrigin origin) {
        if (origin == null || liveImageCache == null) {
            return hypervisor.prepareIncoming(spec, source);
        }
        Path dir = origin.host().equals(hostName) ? liveImageRoot.resolve(liveImageId) : liveImageCache.ensure(liveImageId, origin);
        return hypervisor.prepareIncoming(spec, hypervisor.withLiveImageAt(source, dir));
    }

    @Override
    public void migrateOut(String vmId, MigrationTarget target) {
        hypervisor.migrateOut(vmId, target);
    }

    @Override
    public VmInfo completeIncoming(String vmId) {
        return hypervisor.completeIncoming(vmId);
    }

    @Override
    public VmInfo act(String vmId, VmAction action) {
        return hypervisor.act(vmId, action);
    }

    @Override
    public void destroy(String vmId) {
        hypervisor.destroy(vmId);
    }

    @Override
    public Optional<VmInfo> find(String vmId) {
        return hypervisor.find(vmId);
    }

    @Override
    public String consoleLog(String vmId, int lines) {
        return hypervisor.consoleLog(vmId, lines);
    }

    @Override
    public String snapshotDisk(String vmId, Path target) {
        return hypervisor.snapshotDisk(vmId, target);
    }

    @Override
    public List<VmInfo> discover() {
        return hypervisor.discover();
    }

    @Override
    public LiveImageRef bless(String vmId, String liveImageId) {
        return hypervisor.bless(vmId, liveImageRoot.resolve(liveImageId));
    }

    @Override
    public VmInfo launch(LiveImageRef image, VmSpec spec, LiveImageOrigin origin) {
        if (origin == null || origin.host().equals(hostName)) {
            return hypervisor.launch(image, spec);
        }
        if (liveImageCache == null) {
            // A host that copies nothing (fake hosts of one process): the image is where its host wrote it.
            return hypervisor.launch(image, spec);
        }
        Path copy = liveImageCache.ensure(image.id(), origin);
        return hypervisor.launch(new LiveImageRef(image.id(), copy, image.vcpus(), image.memoryMb(), image.attributes()), spec);
    }

    @Override
    public Optional<LiveImageCache.FetchProgress> liveImageFetch(String liveImageId) {
        return liveImageCache == null ? Optional.empty() : liveImageCache.progress(liveImageId);
    }

    @Override
    public void discardLiveImage(String liveImageId) {
        Path root = liveImageRoot.toAbsolutePath().normalize();
        Path dir = root.resolve(liveImageId).normalize();
        // The id came over the wire: never let it name anything outside this host's live images.
        if (!dir.getParent().equals(root)) {
            throw new IllegalArgumentException("not a live image id: " + liveImageId);
        }
        if (liveImageCache != null) {
            liveImageCache.remove(liveImageId);
        }
        hypervisor.forgetLiveImage(dir);
        if (!java.nio.file.Files.exists(dir)) {
            return;
        }
        try (java.util.stream.Stream<Path> paths = java.nio.file.Files.walk(dir)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(path);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot remove live image " + dir, e);
        }
    }

    @Override
    public void subscribe(Consumer<VmEvent> listener) {
        hypervisor.subscribe(listener);
    }

    @Override
    public void close() {
        hypervisor.close();
    }
}
