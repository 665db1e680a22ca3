package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two hosts mounting one instance directory: one storage name, and only a disk's owner removes it. */
class SharedInstancesTest {
    private static final String VM = "0b6f1bb8-3b0e-4d6e-9d1e-8a7c5f2e4a10";

    @TempDir
    Path root;

    @Test
    void hostsOnTheSameDirectoryReportTheSameStorageAndAnotherDirectoryAnother(@TempDir Path other) {
        SharedInstances a = new SharedInstances(root, "host-a");
        SharedInstances b = new SharedInstances(root, "host-b");
        assertThat(a.storageId()).isNotBlank().isEqualTo(b.storageId());
        assertThat(new SharedInstances(other, "host-c").storageId()).isNotEqualTo(a.storageId());
        // No candidate files are left behind by the naming.
        assertThat(root.toFile().list()).containsExactly(".strata-storage-id");
    }

    @Test
    void onlyTheOwnerRemovesAVmsDirectory() throws Exception {
        SharedInstances a = new SharedInstances(root, "host-a");
        SharedInstances b = new SharedInstances(root, "host-b");
        a.claim(VM);
        Files.writeString(a.disk(VM), "disk");
        assertThat(b.owner(VM)).contains("host-a");

        // B takes the VM over (evacuation): A, back from the dead, cannot remove the disk.
        b.claim(VM);
        a.removeIfOwned(VM);
        assertThat(a.disk(VM)).exists();

        // A failed rebuild hands the VM back to whoever owned it before.
        a.claim(VM);
        a.handBack(VM, Optional.of("host-b"));
        a.removeIfOwned(VM);
        assertThat(a.disk(VM)).exists();

        b.removeIfOwned(VM);
        assertThat(root.resolve(VM)).doesNotExist();
        assertThat(a.owner(VM)).isEmpty();
    }
}
