package io.strata.hierarchy;

/**
 * One checked virtualMachineTemplate of a startVirtualCluster request: the libvirt domain when
 * one was given (else null), the demand as a capacity vector, the image to boot and an optional
 * {@code hostId} pinning the VM to a group manager or local controller.
 */
public record VmTemplate(String name, int vcpus, long memoryKb, String imageId, LibvirtDomain domain, String xml, double rxKb, double txKb,
        String hostId) {
    public Capacity demand() {
        return new Capacity(vcpus, memoryKb, rxKb, txKb);
    }

    /** Compute flavors count MB; a template's KiB round up so the VM gets at least what it asked for. */
    public int memoryMb() {
        return (int) Math.max(1, (memoryKb + 1023) / 1024);
    }
}
