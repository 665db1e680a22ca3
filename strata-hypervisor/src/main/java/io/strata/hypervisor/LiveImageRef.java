package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Map;

/**
 * A blessed VM's frozen state on a host: the directory holding its memory file, device state and
 * disk base, plus what a clone needs to match it ({@code memoryMb}, {@code vcpus}, driver facts).
 */
public record LiveImageRef(String id, Path dir, int vcpus, int memoryMb, Map<String, String> attributes) {
    public LiveImageRef {
        requireNonNull(id, "id is null");
        requireNonNull(dir, "dir is null");
        attributes = Map.copyOf(attributes);
    }
}
