package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The {@code vm.json} in a VM's run directory: enough to start the VM again (its QEMU command
 * line) and to describe it after an agent restart, without the controller's help.
 *
 * @param targetMemoryMb what the balloon should leave the guest (0: all of memoryMb)
 * @param boot           what the VM was created from (a live image's clones need the same)
 * @param liveImage      the live image directory this VM runs from, or null
 */
record VmDescriptor(
        String id,
        String name,
        int vcpus,
        int memoryMb,
        int targetMemoryMb,
        String accelerator,
        int sshPort,
        String ipAddress,
        String mac,
        BootSource boot,
        String liveImage,
        List<String> commandLine) {
    /** Unknown fields are skipped: files written by a newer driver (or derived getters) still read. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    VmDescriptor {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(accelerator, "accelerator is null");
        commandLine = List.copyOf(commandLine);
    }

    void write(Path file) {
        try {
            Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
            JSON.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), this);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new HypervisorException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static VmDescriptor read(Path file) {
        try {
            return JSON.readValue(file.toFile(), VmDescriptor.class);
        } catch (IOException e) {
            throw new HypervisorException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
