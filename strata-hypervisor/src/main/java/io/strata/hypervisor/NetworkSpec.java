package io.strata.hypervisor;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The one NIC a VM has until the network service exists: a MAC unique in the cloud, the fixed
 * address shown in the server's addresses, and optionally a host port forwarded to the guest's
 * SSH port (0 for none, {@link #ANY_PORT} for one the host picks).
 */
public record NetworkSpec(
        String mac,
        String ipAddress,
        int prefixLength,
        String gateway,
        List<String> dnsServers,
        int sshHostPort) {
    /** Asks the host to forward a free port of its own choosing to the guest's SSH port. */
    public static final int ANY_PORT = -1;

    public NetworkSpec {
        requireNonNull(mac, "mac is null");
        requireNonNull(ipAddress, "ipAddress is null");
        dnsServers = List.copyOf(dnsServers);
    }

    public NetworkSpec withSshHostPort(int port) {
        return new NetworkSpec(mac, ipAddress, prefixLength, gateway, dnsServers, port);
    }
}
