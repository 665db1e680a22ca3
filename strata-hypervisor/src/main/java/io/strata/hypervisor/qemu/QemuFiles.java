package io.strata.hypervisor.qemu;

import io.strata.core.FileTrees;
import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.file.Path;

/** File chores of the QEMU driver, with its exception. */
final class QemuFiles {
    private QemuFiles() {
    }

    /** Removes a run, RAM or staging directory and all it holds. */
    static void deleteTree(Path dir) {
        try {
            FileTrees.deleteTree(dir);
        } catch (IOException e) {
            throw new HypervisorException("cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }
}
