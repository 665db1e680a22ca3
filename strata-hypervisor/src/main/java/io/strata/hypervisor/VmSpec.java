package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * Everything a host needs to start one VM. Paths in {@link #boot()} are local to the host (the
 * agent has already fetched the image). {@code userData} is the raw user data (already decoded
 * from the API's base64), or null.
 *
 * @param guestParams key=value parameters handed to the guest agent (live-image clones)
 * @param targetMemoryMb memory the guest should be ballooned to, or 0 for all of {@code memoryMb}
 */
public record VmSpec(
        String id,
        String name,
        String hostname,
        int vcpus,
        int memoryMb,
        int rootDiskGb,
        BootSource boot,
        byte[] userData,
        Map<String, String> metadata,
        Map<String, String> publicKeys,
        NetworkSpec network,
        Map<String, String> guestParams,
        int targetMemoryMb) {
    public VmSpec {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(hostname, "hostname is null");
        requireNonNull(network, "network is null");
        metadata = Map.copyOf(metadata);
        publicKeys = Map.copyOf(publicKeys);
        guestParams = Map.copyOf(guestParams);
        if (vcpus < 1) {
            throw new IllegalArgumentException("vcpus must be at least 1");
        }
        if (memoryMb < 1) {
            throw new IllegalArgumentException("memoryMb must be at least 1");
        }
    }

    public VmSpec withNetwork(NetworkSpec newNetwork) {
        return new VmSpec(id, name, hostname, vcpus, memoryMb, rootDiskGb, boot, userData, metadata, publicKeys, newNetwork, guestParams,
                targetMemoryMb);
    }
}
