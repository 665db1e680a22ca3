package io.strata.agent.liveimage;

import static java.util.Objects.requireNonNull;

/** One file of a live image as its host offers it to others: plain name, size in bytes, SHA-256 (hex). */
public record ExportedFile(String name, long size, String sha256) {
    public ExportedFile {
        requireNonNull(name, "name is null");
        requireNonNull(sha256, "sha256 is null");
        if (!io.strata.hypervisor.LiveImageFile.isValidName(name)) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size of " + name);
        }
    }
}
