package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** qemu-img: per-VM copy-on-write overlays on the (shared, never written) image files. */
final class Disks {
    private static final Logger log = LoggerFactory.getLogger(Disks.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final Path qemuImg;

    Disks(Path qemuImg) {
        this.qemuImg = requireNonNull(qemuImg, "qemuImg is null");
    }

    /**
     * A qcow2 overlay at {@code overlay} backed by {@code base}, grown to {@code sizeGb} when that
     * is larger than the image (0 keeps the image's size). A flavor disk smaller than the image is
     * refused, as Nova refuses it.
     */
    void createOverlay(Path base, String baseFormat, Path overlay, int sizeGb) {
        if (!Files.isRegularFile(base)) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "image file " + base + " does not exist");
        }
        String format = baseFormat == null || baseFormat.isBlank() ? "raw" : baseFormat;
        long virtualSize = virtualSize(base, format);
        long wanted = sizeGb * 1024L * 1024 * 1024;
        if (sizeGb > 0 && wanted < virtualSize) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "flavor disk of " + sizeGb + " GB is smaller than the image ("
                    + virtualSize + " bytes)");
        }
        Processes.run(List.of(qemuImg.toString(), "create", "-q", "-f", "qcow2",
                "-b", base.toAbsolutePath().toString(), "-F", format, overlay.toString()), TIMEOUT);
        if (wanted > virtualSize) {
            Processes.run(List.of(qemuImg.toString(), "resize", "-q", overlay.toString(), Long.toString(wanted)), TIMEOUT);
        }
    }

    /**
     * A standalone qcow2 copy of {@code overlay} and its backing chain. {@code -U} because the
     * running QEMU holds the image lock; the caller keeps the guest from writing meanwhile.
     */
    void convert(Path overlay, Path target) {
        Processes.run(List.of(qemuImg.toString(), "convert", "-q", "-U", "-O", "qcow2", overlay.toString(), target.toString()),
                Duration.ofMinutes(30));
    }

    /** What an overlay in use sits on: its backing file and format (null without one) and its virtual size. */
    record OverlayInfo(String backing, String backingFormat, long virtualSize) {
    }

    /** {@code -U}: the overlay usually belongs to a running QEMU, which holds its lock. */
    OverlayInfo describe(Path overlay) {
        String json = Processes.run(List.of(qemuImg.toString(), "info", "-U", "--output=json", "-f", "qcow2", overlay.toString()), TIMEOUT);
        try {
            JsonNode info = JSON.readTree(json);
            String backing = info.hasNonNull("full-backing-filename") ? info.get("full-backing-filename").asText()
                    : info.hasNonNull("backing-filename") ? info.get("backing-filename").asText() : null;
            String format = info.hasNonNull("backing-filename-format") ? info.get("backing-filename-format").asText() : null;
            return new OverlayInfo(backing, format, info.path("virtual-size").asLong());
        } catch (IOException e) {
            throw new HypervisorException("cannot read qemu-img info of " + overlay + ": " + e.getMessage(), e);
        }
    }

    /**
     * A fresh overlay of {@code base} at {@code overlay}, copied from {@code template}, which is
     * made with qemu-img the first time. An empty overlay's bytes do not depend on where it lives
     * (it names its base by absolute path), and a file copy costs clones of a live image no
     * qemu-img processes (two, ~150 ms of CPU on a busy TCG host, for each cold clone).
     */
    void copyOverlay(Path base, Path template, Path overlay) {
        if (!Files.isRegularFile(template)) {
            Path fresh = template.resolveSibling(template.getFileName() + "." + ProcessHandle.current().pid() + "-"
                    + Thread.currentThread().threadId() + ".tmp");
            try {
                createOverlay(base, "qcow2", fresh, 0);
                // Racing launches each made a complete template; whichever lands last is as good.
                Files.move(fresh, template, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new HypervisorException("cannot keep the overlay template " + template + ": " + e.getMessage(), e);
            } finally {
                try {
                    Files.deleteIfExists(fresh);
                } catch (IOException e) {
                    log.debug("cannot remove {}: {}", fresh, e.getMessage());
                }
            }
        }
        try {
            Files.copy(template, overlay);
        } catch (IOException e) {
            throw new HypervisorException("cannot create the overlay " + overlay + ": " + e.getMessage(), e);
        }
    }

    /** A qcow2 overlay on {@code base} of exactly {@code virtualSize} bytes (a migration target's must match its source's). */
    void createOverlayOfSize(Path base, String baseFormat, Path overlay, long virtualSize) {
        if (!Files.isRegularFile(base)) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "backing file " + base + " does not exist on this host");
        }
        Processes.run(List.of(qemuImg.toString(), "create", "-q", "-f", "qcow2", "-b", base.toAbsolutePath().toString(),
                "-F", baseFormat == null || baseFormat.isBlank() ? "raw" : baseFormat, overlay.toString(), Long.toString(virtualSize)), TIMEOUT);
    }

    /** Points {@code overlay} at {@code base} without copying data: only for a base with the same content (the same image elsewhere). */
    void rebase(Path overlay, Path base, String baseFormat) {
        Processes.run(List.of(qemuImg.toString(), "rebase", "-q", "-u", "-f", "qcow2", "-b", base.toAbsolutePath().toString(),
                "-F", baseFormat == null || baseFormat.isBlank() ? "raw" : baseFormat, overlay.toString()), TIMEOUT);
    }

    /** Grows a qcow2 file to {@code sizeGb} if it is smaller; never shrinks (Nova refuses smaller disks on resize). */
    void growTo(Path qcow2, int sizeGb) {
        long wanted = sizeGb * 1024L * 1024 * 1024;
        if (sizeGb > 0 && wanted > virtualSize(qcow2, "qcow2")) {
            Processes.run(List.of(qemuImg.toString(), "resize", "-q", "-f", "qcow2", qcow2.toString(), Long.toString(wanted)), TIMEOUT);
        }
    }

    long virtualSize(Path file, String format) {
        String json = Processes.run(List.of(qemuImg.toString(), "info", "--output=json", "-f", format, file.toString()), TIMEOUT);
        try {
            JsonNode info = JSON.readTree(json);
            return info.path("virtual-size").asLong();
        } catch (IOException e) {
            throw new HypervisorException("cannot read qemu-img info of " + file + ": " + e.getMessage(), e);
        }
    }
}
