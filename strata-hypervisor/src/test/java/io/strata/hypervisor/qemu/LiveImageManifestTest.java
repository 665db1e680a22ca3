package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.HypervisorException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LiveImageManifestTest {
    @TempDir
    Path dir;

    private static LiveImageManifest manifest(int targetMemoryMb, Integer serialPorts) {
        return new LiveImageManifest("vm-1", 1, 256, targetMemoryMb, "tcg", BootSource.none(), false, "52:54:00:00:00:01", "10.0.2.15",
                "user,id=net0", serialPorts);
    }

    /** Reads are served from memory while the file stays the same; a rewritten manifest (a new file) is read again. */
    @Test
    void readSeesEveryNewVersionOfTheFile() {
        manifest(0, 2).write(dir);
        assertThat(LiveImageManifest.read(dir)).isEqualTo(manifest(0, 2));
        assertThat(LiveImageManifest.read(dir)).isSameAs(LiveImageManifest.read(dir));
        manifest(128, null).write(dir);
        assertThat(LiveImageManifest.read(dir)).isEqualTo(manifest(128, null));
    }

    @Test
    void missingManifestIsAnError() throws Exception {
        manifest(0, 2).write(dir);
        LiveImageManifest.read(dir);
        Files.delete(LiveImageManifest.file(dir));
        assertThatThrownBy(() -> LiveImageManifest.read(dir)).isInstanceOf(HypervisorException.class);
    }
}
