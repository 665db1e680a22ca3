package io.strata.agent;

/**
 * What a server boots from: a disk image, or a kernel and initramfs (direct kernel boot) with an
 * optional command line, or both. Any part may be null; with the fake driver all of them are.
 */
public record BootImages(ImageRef disk, ImageRef kernel, ImageRef ramdisk, String commandLine) {
    public static BootImages none() {
        return new BootImages(null, null, null, null);
    }
}
