package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * One file another host needs for its own copy of a live image: {@code name} is a plain file
 * name (what the copy calls it, the same on every host) and {@code path} where it is on this host
 * (inside the live image's directory, or a boot file the image refers to elsewhere).
 */
public record LiveImageFile(String name, Path path) {
    public LiveImageFile {
        requireNonNull(name, "name is null");
        requireNonNull(path, "path is null");
        if (!isValidName(name)) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
    }

    /** Letters, digits, '.', '_', '-', not starting with a dot: never a path, never a temporary file. */
    public static boolean isValidName(String name) {
        return name != null && name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    }
}
