package io.strata.agent.liveimage;

import static java.util.Objects.requireNonNull;

import io.strata.core.ErrorCode;
import io.strata.hypervisor.Hypervisor;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The live images blessed on this host, offered to other hosts that start clones of them (see
 * {@link LiveImageCache}): which files, their sizes and checksums, and the files themselves.
 * A live image's files do not change after its bless, so each checksum is computed once (per
 * file size and modification time) and kept in memory.
 */
public final class LiveImageExport {
    private final Hypervisor hypervisor;
    private final Path liveImageRoot;
    private final Map<Path, Checksum> checksums = new ConcurrentHashMap<>();

    private record Checksum(long size, FileTime modified, String sha256) {}

    public LiveImageExport(Hypervisor hypervisor, Path liveImageRoot) {
        this.hypervisor = requireNonNull(hypervisor, "hypervisor is null");
        this.liveImageRoot = requireNonNull(liveImageRoot, "liveImageRoot is null").toAbsolutePath().normalize();
    }

    /** The files of live image {@code liveImageId}; NOT_FOUND when this host has no such image. */
    public List<ExportedFile> list(String liveImageId) {
        List<ExportedFile> listed = new ArrayList<>();
        for (LiveImageFile file : hypervisor.liveImageFiles(dirOf(liveImageId))) {
            try {
                listed.add(new ExportedFile(file.name(), Files.size(file.path()), checksum(file.path())));
            } catch (IOException e) {
                throw new HypervisorException("cannot read " + file.path() + " of live image " + liveImageId + ": " + e.getMessage(), e);
            }
        }
        return listed;
    }

    /** Where the file {@code name} of the image is on this host; NOT_FOUND for a name the image does not have. */
    public Path file(String liveImageId, String name) {
        return hypervisor.liveImageFiles(dirOf(liveImageId)).stream()
                .filter(file -> file.name().equals(name))
                .map(LiveImageFile::path)
                .findFirst()
                .orElseThrow(() -> new HypervisorException(ErrorCode.NOT_FOUND, "live image " + liveImageId + " has no file " + name));
    }

    private Path dirOf(String liveImageId) {
        Path dir = liveImageRoot.resolve(liveImageId).normalize();
        // The id came over the wire: never let it name anything outside this host's live images.
        if (!LiveImageFile.isValidName(liveImageId) || !liveImageRoot.equals(dir.getParent())) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "not a live image id: " + liveImageId);
        }
        // Whether the image is there is the driver's to say: the fake's images have no files at all.
        return dir;
    }

    private String checksum(Path path) throws IOException {
        long size = Files.size(path);
        FileTime modified = Files.getLastModifiedTime(path);
        Checksum known = checksums.get(path);
        if (known != null && known.size() == size && known.modified().equals(modified)) {
            return known.sha256();
        }
        String sha256 = sha256(path);
        checksums.put(path, new Checksum(size, modified, sha256));
        return sha256;
    }

    /** The SHA-256 of a file, hex (read once, in 1 MB blocks). */
    public static String sha256Of(Path path) throws IOException {
        return sha256(path);
    }

    static String sha256(Path path) throws IOException {
        MessageDigest digest = newDigest();
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(path)) {
            for (int read; (read = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, read);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
