package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

/**
 * What a host offers. {@code hypervisorType} is what os-hypervisors shows ("QEMU", "fake"), and
 * {@code accelerator} how guests run on it ("kvm", "tcg", "fake"). {@code sharedStorage} names the
 * instance storage this host shares with others (hosts reporting the same name see the same VM
 * disks), or is null when its VMs' disks are its own.
 */
public record HostInfo(
        String hostname,
        String hypervisorType,
        long hypervisorVersion,
        String accelerator,
        String hostIp,
        int vcpus,
        long memoryMb,
        long diskGb,
        String sharedStorage) {
    /** A host whose VMs' disks are its own. */
    public HostInfo(String hostname, String hypervisorType, long hypervisorVersion, String accelerator, String hostIp, int vcpus,
            long memoryMb, long diskGb) {
        this(hostname, hypervisorType, hypervisorVersion, accelerator, hostIp, vcpus, memoryMb, diskGb, null);
    }

    public HostInfo {
        requireNonNull(hostname, "hostname is null");
        requireNonNull(hypervisorType, "hypervisorType is null");
        requireNonNull(accelerator, "accelerator is null");
        requireNonNull(hostIp, "hostIp is null");
    }
}
