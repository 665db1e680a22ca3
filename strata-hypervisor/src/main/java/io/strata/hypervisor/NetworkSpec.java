package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The one NIC a VM has until the network service exists: a MAC unique in the cloud, the fixed
 * address shown in the server's addresses, and optionally a host port forwarded to the guest's
 * SSH port (0 for none).
 */
public record NetworkSpec(
        String mac,
        String ipAddress,
        int prefixLength,
        String gateway,
        List<String> dnsServers,
        int sshHostPort) {
    public NetworkSpec {
        requireNonNull(mac, "mac is null");
        requireNonNull(ipAddress, "ipAddress is null");
        dnsServers = List.copyOf(dnsServers);
    }
}
