package io.strata.hypervisor;

import java.nio.file.Path;

/**
 * Where a VM boots from, as files on the host: a disk image (booted by firmware) and/or a kernel
 * and initramfs (direct kernel boot, with {@code commandLine}). Any of them may be null; a VM
 * with a kernel and no disk boots from its initramfs alone.
 *
 * @param diskFormat the format of {@code disk} ("qcow2", "raw"), as Glance's disk_format says
 */
public record BootSource(Path disk, String diskFormat, Path kernel, Path ramdisk, String commandLine) {
    public static BootSource none() {
        return new BootSource(null, null, null, null, null);
    }

    public boolean isDirectKernelBoot() {
        return kernel != null;
    }
}
