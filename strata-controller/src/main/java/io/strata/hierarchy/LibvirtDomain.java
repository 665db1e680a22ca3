package io.strata.hierarchy;

import java.util.List;

/**
 * What Strata takes from a Snooze template's libvirt domain XML. {@code memoryKb} is in KiB, as
 * Snooze's capacity vectors count memory; {@code uuid} may be null (libvirt then makes one up).
 */
public record LibvirtDomain(String type, String name, String uuid, long memoryKb, int vcpus, List<Disk> disks, List<NetInterface> interfaces) {
    public LibvirtDomain {
        disks = List.copyOf(disks);
        interfaces = List.copyOf(interfaces);
    }

    /** A disk: {@code source} is the file (or block device) path, {@code format} the driver type (qcow2, raw). */
    public record Disk(String device, String source, String format, String targetDev, String bus) {}

    /** A network interface: type bridge|network|user, its MAC (may be null) and what it attaches to. */
    public record NetInterface(String type, String mac, String source, String model) {}
}
