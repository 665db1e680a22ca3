package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import io.strata.core.ErrorCode;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/**
 * The user-mode (slirp) network that makes a guest see the address the cloud gave it: slirp's
 * {@code net=} is the NetworkSpec's subnet, {@code host=} its gateway and {@code dhcpstart=} its
 * fixed address, so the first (and only) DHCP lease is exactly NetworkSpec.ipAddress. slirp's DNS
 * proxy must live inside that subnet too, so it gets the first free address there; the cloud's DNS
 * servers are still written to network_data.json for images that configure themselves from it.
 */
record UserNetwork(String network, int prefixLength, String gateway, String address, String dnsProxy) {
    UserNetwork {
        requireNonNull(network, "network is null");
        requireNonNull(gateway, "gateway is null");
        requireNonNull(address, "address is null");
        requireNonNull(dnsProxy, "dnsProxy is null");
    }

    static UserNetwork of(NetworkSpec spec) {
        int prefix = spec.prefixLength() == 0 ? 24 : spec.prefixLength();
        if (prefix < 8 || prefix > 29) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "prefix length /" + prefix + " is not usable for a user-mode network");
        }
        long mask = (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
        long ip = parse(spec.ipAddress());
        long net = ip & mask;
        long broadcast = net | (~mask & 0xFFFFFFFFL);
        if (ip == net || ip == broadcast) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, spec.ipAddress() + " is not a host address in /" + prefix);
        }
        long gateway = spec.gateway() == null ? -1 : parse(spec.gateway());
        if (gateway < 0 || (gateway & mask) != net || gateway == ip || gateway == net || gateway == broadcast) {
            gateway = firstFree(net, broadcast, ip, -1);
        }
        long dns = firstFree(net, broadcast, ip, gateway);
        return new UserNetwork(format(net), prefix, format(gateway), spec.ipAddress(), format(dns));
    }

    /**
     * The spec with a concrete SSH forward: {@link NetworkSpec#ANY_PORT} becomes a port free on
     * the loopback now (QEMU binds it a moment later; a lost race fails the start loudly).
     */
    static VmSpec withConcreteSshPort(VmSpec spec) {
        if (spec.network().sshHostPort() != NetworkSpec.ANY_PORT) {
            return spec;
        }
        return spec.withNetwork(spec.network().withSshHostPort(freeForwardPort(spec.id())));
    }

    /** Ports handed out for forwards, with when: not handed out twice while QEMU may not have bound them yet. */
    private static final java.util.concurrent.ConcurrentHashMap<Integer, Long> HANDED_OUT = new java.util.concurrent.ConcurrentHashMap<>();
    private static final long HOLD_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(2);
    private static final int RANGE_SIZE = 12_000;

    /**
     * A loopback port free now, below the kernel's ephemeral range: outgoing connections (an API
     * client's thousands a second) take ephemeral ports, and one of them could take a forward's
     * port between its choice and QEMU's bind (seen with 50 clones launched at once). Each port is
     * handed out once per two minutes, so concurrent launches never get the same one.
     */
    static int freeForwardPort(String vmId) {
        int high = ephemeralLow();
        int low = Math.max(1024, high - RANGE_SIZE);
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        long now = System.nanoTime();
        HANDED_OUT.values().removeIf(at -> now - at > HOLD_NANOS);
        for (int attempt = 0; attempt < 500; attempt++) {
            int port = random.nextInt(low, high);
            if (HANDED_OUT.putIfAbsent(port, now) != null) {
                continue;
            }
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException e) {
                HANDED_OUT.remove(port);    // in use by someone else: try another
            }
        }
        throw new HypervisorException("cannot find a free port for the SSH forward of VM " + vmId + " in " + low + "-" + (high - 1), null);
    }

    /** The lowest ephemeral port (ip_local_port_range), 32768 when it cannot be read. */
    /** The ephemeral range's low end and when it was read: read once a few seconds, not per launch (it showed in burst profiles). */
    private static volatile long[] ephemeralLowRead = {0, Long.MIN_VALUE};
    private static final long EPHEMERAL_REREAD_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    private static int ephemeralLow() {
        long now = System.nanoTime();
        long[] read = ephemeralLowRead;
        if (read[1] != Long.MIN_VALUE && now - read[1] < EPHEMERAL_REREAD_NANOS) {
            return (int) read[0];
        }
        int low = readEphemeralLow();
        ephemeralLowRead = new long[] {low, now};
        return low;
    }

    private static int readEphemeralLow() {
        try {
            // Not Files.readString: it trusts the size /proc reports and returns a truncated line.
            String range = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).strip();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32768;
        }
    }

    /** The {@code -netdev user,...} options for this network (without id and forwards). */
    String netdevOptions() {
        return "net=" + network + "/" + prefixLength + ",host=" + gateway + ",dhcpstart=" + address + ",dns=" + dnsProxy;
    }

    private static long firstFree(long net, long broadcast, long taken1, long taken2) {
        for (long candidate = net + 1; candidate < broadcast; candidate++) {
            if (candidate != taken1 && candidate != taken2) {
                return candidate;
            }
        }
        throw new HypervisorException(ErrorCode.BAD_REQUEST, "no free address for the user-mode network's services");
    }

    static long parse(String dotted) {
        String[] parts = dotted.split("\\.");
        if (parts.length != 4) {
            throw new HypervisorException(ErrorCode.BAD_REQUEST, "not an IPv4 address: " + dotted);
        }
        long value = 0;
        for (String part : parts) {
            int octet;
            try {
                octet = Integer.parseInt(part);
            } catch (NumberFormatException e) {
                throw new HypervisorException(ErrorCode.BAD_REQUEST, "not an IPv4 address: " + dotted);
            }
            if (octet < 0 || octet > 255) {
                throw new HypervisorException(ErrorCode.BAD_REQUEST, "not an IPv4 address: " + dotted);
            }
            value = (value << 8) | octet;
        }
        return value;
    }

    static String format(long value) {
        return ((value >> 24) & 255) + "." + ((value >> 16) & 255) + "." + ((value >> 8) & 255) + "." + (value & 255);
    }

    /** The dotted netmask of the subnet, as network_data.json wants it. */
    String netmask() {
        return format((0xFFFFFFFFL << (32 - prefixLength)) & 0xFFFFFFFFL);
    }
}
