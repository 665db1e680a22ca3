package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

/**
 * What a host offers. {@code hypervisorType} is what os-hypervisors shows ("QEMU", "fake"), and
 * {@code accelerator} how guests run on it ("kvm", "tcg", "fake").
 */
public record HostInfo(
        String hostname,
        String hypervisorType,
        long hypervisorVersion,
        String accelerator,
        String hostIp,
        int vcpus,
        long memoryMb,
        long diskGb) {
    public HostInfo {
        requireNonNull(hostname, "hostname is null");
        requireNonNull(hypervisorType, "hypervisorType is null");
        requireNonNull(accelerator, "accelerator is null");
        requireNonNull(hostIp, "hostIp is null");
    }
}
