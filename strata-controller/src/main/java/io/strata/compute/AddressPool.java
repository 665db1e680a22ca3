package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Hands out fixed IPv4 addresses of the one flat network every server joins until the network
 * service exists. The database's primary key on the address is the real guard against two
 * servers sharing one (several controllers may allocate at once); this class only proposes
 * candidates, round-robin, skipping those it knows are taken.
 */
public final class AddressPool {
    private final int network;
    private final int prefixLength;
    private final int firstHost;
    private final int lastHost;
    private final Set<Integer> taken = new HashSet<>();
    private int cursor;

    public AddressPool(String cidr, Set<String> alreadyTaken) {
        String[] parts = requireNonNull(cidr, "cidr is null").split("/");
        this.prefixLength = Integer.parseInt(parts[1]);
        if (prefixLength < 8 || prefixLength > 29) {
            throw new IllegalArgumentException("network prefix must be within /8../29, not /" + prefixLength);
        }
        int mask = -1 << (32 - prefixLength);
        this.network = toInt(parts[0]) & mask;
        this.firstHost = network + 2;              // .1 is the gateway
        this.lastHost = (network | ~mask) - 1;     // the last address is broadcast
        this.cursor = firstHost;
        alreadyTaken.forEach(a -> taken.add(toInt(a)));
    }

    public int prefixLength() {
        return prefixLength;
    }

    public String gateway() {
        return toText(network + 1);
    }

    public String cidr() {
        return toText(network) + "/" + prefixLength;
    }

    /** Proposes {@code count} free addresses and marks them taken here. */
    public synchronized List<String> allocate(int count) {
        List<String> addresses = new ArrayList<>(count);
        int size = lastHost - firstHost + 1;
        int tried = 0;
        while (addresses.size() < count) {
            if (tried++ >= size) {
                addresses.forEach(this::release);
                throw new CloudException(ErrorCode.CONFLICT, "No more fixed IP addresses are available on network " + cidr() + ".");
            }
            int candidate = cursor;
            cursor = cursor >= lastHost ? firstHost : cursor + 1;
            if (taken.add(candidate)) {
                addresses.add(toText(candidate));
            }
        }
        return addresses;
    }

    public synchronized void release(String address) {
        taken.remove(toInt(address));
    }

    /** Another controller took it: remember, so the next proposal skips it. */
    public synchronized void markTaken(String address) {
        taken.add(toInt(address));
    }

    /** A MAC unique as long as the address is: Nova's fa:16:3e prefix and the address's low 24 bits. */
    public static String macFor(String address) {
        int ip = toInt(address);
        return String.format(Locale.ROOT, "fa:16:3e:%02x:%02x:%02x", (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    }

    private static int toInt(String address) {
        String[] octets = address.split("\\.");
        if (octets.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + address);
        }
        int value = 0;
        for (String octet : octets) {
            int part = Integer.parseInt(octet);
            if (part < 0 || part > 255) {
                throw new IllegalArgumentException("not an IPv4 address: " + address);
            }
            value = (value << 8) | part;
        }
        return value;
    }

    private static String toText(int ip) {
        return ((ip >>> 24) & 0xff) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }
}
