package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * {@code live-image.json} in a live image's directory: what a clone's QEMU must match exactly (RAM
 * size, vCPUs, accelerator, boot files, whether there is a disk) and what the blessed guest
 * believes about itself (MAC, address), which a clone's guest agent then changes.
 *
 * <p>The directory also holds {@code state} (device state, migrated with x-ignore-shared so it
 * carries no RAM), {@code ram} (the guest's memory, mapped copy-on-write by every clone),
 * {@code config.iso} and, for disk-backed VMs, {@code disk.qcow2} (a read-only base for the
 * clones' overlays).
 *
 * <p>{@code netdev} is the blessed VM's {@code -netdev} value without its forwards: what a warm
 * process (see {@link WarmPool}) starts with; null in images blessed before warm processes.
 * {@code serialPorts} is the blessed VM's virtio-serial ports (see {@link QemuCommandLine#SERIAL_PORTS}),
 * which its clones must have too; null for QEMU's default (and in images blessed before it was kept).
 */
record LiveImageManifest(
        String blessedFrom,
        int vcpus,
        int memoryMb,
        int targetMemoryMb,
        String accelerator,
        BootSource boot,
        boolean hasRootDisk,
        String mac,
        String ipAddress,
        String netdev,
        Integer serialPorts) {
    /** Unknown fields are skipped: files written by a newer driver (or derived getters) still read. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    LiveImageManifest {
        requireNonNull(blessedFrom, "blessedFrom is null");
        requireNonNull(accelerator, "accelerator is null");
    }

    static Path file(Path dir) {
        return dir.resolve("live-image.json");
    }

    static Path state(Path dir) {
        return dir.resolve("state");
    }

    static Path ram(Path dir) {
        return dir.resolve("ram");
    }

    static Path disk(Path dir) {
        return dir.resolve("disk.qcow2");
    }

    /** An empty overlay of {@link #disk}, made once, of which each clone gets a copy (see Disks.copyOverlay). */
    static Path cloneDiskTemplate(Path dir) {
        return dir.resolve("clone-disk.qcow2");
    }

    static Path configDrive(Path dir) {
        return dir.resolve("config.iso");
    }

    void write(Path dir) {
        try {
            Path temporary = dir.resolve("live-image.json.tmp");
            JSON.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), this);
            Files.move(temporary, file(dir), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new HypervisorException("cannot write the live image manifest in " + dir + ": " + e.getMessage(), e);
        }
    }

    static LiveImageManifest read(Path dir) {
        Path file = file(dir);
        try {
            // Every clone's launch reads its image's manifest: parsed once per version of the file
            // (it is replaced, never changed in place, so a new version is a new inode).
            java.nio.file.attribute.BasicFileAttributes attributes = Files.readAttributes(file,
                    java.nio.file.attribute.BasicFileAttributes.class);
            Version version = new Version(attributes.fileKey(), attributes.lastModifiedTime(), attributes.size());
            synchronized (READ) {
                Read known = READ.get(file);
                if (known != null && known.version().equals(version)) {
                    return known.manifest();
                }
            }
            LiveImageManifest manifest = JSON.readValue(file.toFile(), LiveImageManifest.class);
            synchronized (READ) {
                READ.put(file, new Read(version, manifest));
            }
            return manifest;
        } catch (IOException e) {
            throw new HypervisorException("cannot read the live image in " + dir + ": " + e.getMessage(), e);
        }
    }

    private record Version(Object fileKey, java.nio.file.attribute.FileTime modified, long size) {}

    private record Read(Version version, LiveImageManifest manifest) {}

    /** The manifests read lately, by file (a host launches from a few live images at a time). */
    private static final java.util.Map<Path, Read> READ = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Path, Read> eldest) {
            return size() > 64;
        }
    };
}
