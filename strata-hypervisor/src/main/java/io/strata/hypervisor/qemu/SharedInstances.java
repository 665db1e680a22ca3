package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * VM root disks on instance storage shared between hosts (Nova's instances directory on NFS or
 * CephFS): {@code <root>/<vm id>/disk.qcow2}, beside a file {@code host} naming the host that owns
 * the VM now. Only the owner removes a VM's directory, so a host that died and comes back cannot
 * delete the disk of a VM another host rebuilt from it meanwhile (evacuation). The storage's name
 * ({@code <root>/.strata-storage-id}, written by the first host that mounts it) tells the
 * controllers which hosts see the same disks.
 */
final class SharedInstances {
    private static final Logger log = LoggerFactory.getLogger(SharedInstances.class);
    private static final String STORAGE_ID = ".strata-storage-id";
    private static final String OWNER = "host";

    private final Path root;
    private final String hostname;
    private final String storageId;

    SharedInstances(Path root, String hostname) {
        this.root = requireNonNull(root, "root is null");
        this.hostname = requireNonNull(hostname, "hostname is null");
        try {
            Files.createDirectories(root);
            this.storageId = readOrCreateId(root);
        } catch (IOException e) {
            throw new HypervisorException("cannot use the shared instance storage " + root + ": " + e.getMessage(), e);
        }
    }

    /** The shared storage of {@code config}'s host, if it has one. */
    static Optional<SharedInstances> of(QemuConfig config) {
        return config.sharedInstanceRoot() == null ? Optional.empty()
                : Optional.of(new SharedInstances(config.sharedInstanceRoot(), config.hostname()));
    }

    /** The same for every host that mounts this directory: the first one names it (a hard link cannot be made twice). */
    private static String readOrCreateId(Path root) throws IOException {
        Path id = root.resolve(STORAGE_ID);
        if (!Files.exists(id)) {
            Path candidate = root.resolve(STORAGE_ID + "." + UUID.randomUUID());
            Files.writeString(candidate, UUID.randomUUID() + "\n");
            try {
                Files.createLink(id, candidate);
            } catch (FileAlreadyExistsException e) {
                // another host named it first: its name counts
            } finally {
                Files.deleteIfExists(candidate);
            }
        }
        return Files.readString(id).strip();
    }

    String storageId() {
        return storageId;
    }

    Path disk(String vmId) {
        return root.resolve(vmId).resolve("disk.qcow2");
    }

    /** The host that owns the VM's directory, or empty when it has none (absent, or half made). */
    Optional<String> owner(String vmId) {
        try {
            return Optional.of(Files.readString(root.resolve(vmId).resolve(OWNER), StandardCharsets.UTF_8).strip());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new HypervisorException("cannot read the owner of VM " + vmId + " on " + root + ": " + e.getMessage(), e);
        }
    }

    /** Makes this host the VM's owner (creating its directory); the write is atomic, a reader sees the old or the new owner. */
    void claim(String vmId) {
        hand(vmId, hostname);
    }

    /** Gives the VM back to {@code owner} (a rebuild here failed); none removes the owner file. */
    void handBack(String vmId, Optional<String> owner) {
        if (owner.isPresent()) {
            hand(vmId, owner.get());
        } else {
            try {
                Files.deleteIfExists(root.resolve(vmId).resolve(OWNER));
            } catch (IOException e) {
                log.warn("cannot drop the owner of VM {} on {}: {}", vmId, root, e.toString());
            }
        }
    }

    private void hand(String vmId, String host) {
        Path dir = root.resolve(vmId);
        try {
            Files.createDirectories(dir);
            Path temp = dir.resolve(OWNER + "." + UUID.randomUUID());
            Files.writeString(temp, host + "\n", StandardCharsets.UTF_8);
            Files.move(temp, dir.resolve(OWNER), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new HypervisorException("cannot record host " + host + " as the owner of VM " + vmId + " on " + root + ": " + e.getMessage(), e);
        }
    }

    /** Removes the VM's directory if this host owns it; another owner's (or an ownerless one's) is left alone. */
    void removeIfOwned(String vmId) {
        Path dir = root.resolve(vmId);
        if (!Files.isDirectory(dir)) {
            return;
        }
        Optional<String> owner = owner(vmId);
        if (owner.isEmpty() || !owner.get().equals(hostname)) {
            log.info("VM {}: leaving its disk on {} to its owner {}", vmId, root, owner.orElse("(none)"));
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
