package io.strata.hypervisor.qemu;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * What a clone still has to be told after its launch (its spec and memory target), kept in its run
 * directory until the guest agent has given it its identity. An agent that stops before then (a
 * crash, a restart) leaves the file, and the next agent on the host finishes the job: otherwise
 * the clone would run on as a copy of its original, with the original's hostname and address.
 */
record PendingIdentity(VmSpec spec, int targetMemoryMb) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path file(RunDir run) {
        return run.dir().resolve("identity.json");
    }

    /** Written before the launch returns; the boot source is the image's and not needed again. */
    static void write(RunDir run, VmSpec spec, int targetMemoryMb) {
        VmSpec kept = new VmSpec(spec.id(), spec.name(), spec.hostname(), spec.vcpus(), spec.memoryMb(), spec.rootDiskGb(), null,
                spec.userData(), spec.metadata(), spec.publicKeys(), spec.network(), spec.guestParams(), spec.targetMemoryMb());
        Path file = file(run);
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            JSON.writeValue(temporary.toFile(), new PendingIdentity(kept, targetMemoryMb));
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new HypervisorException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The identity a clone in {@code run} is still owed, if any (an unreadable file is none, and removed). */
    static Optional<PendingIdentity> read(RunDir run) {
        Path file = file(run);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), PendingIdentity.class));
        } catch (IOException e) {
            clear(run);
            throw new HypervisorException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    static void clear(RunDir run) {
        try {
            Files.deleteIfExists(file(run));
        } catch (IOException e) {
            throw new HypervisorException("cannot remove " + file(run) + ": " + e.getMessage(), e);
        }
    }
}
