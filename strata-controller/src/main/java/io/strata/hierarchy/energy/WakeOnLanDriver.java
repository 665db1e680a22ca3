package io.strata.hierarchy.energy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.HexFormat;
import java.util.function.Consumer;

/**
 * Wake-on-LAN: the magic packet (6 × 0xFF, then the MAC 16 times) by UDP broadcast. A packet
 * cannot power a host off, so that is done by {@code shutdown} (the local controller shuts its
 * host down, as Snooze's shutdownNode); without it, hosts are only woken.
 */
public final class WakeOnLanDriver implements WakeupDriver {
    private final InetAddress broadcast;
    private final int port;
    private final Consumer<String> shutdown;

    public WakeOnLanDriver(InetAddress broadcast, int port, Consumer<String> shutdown) {
        this.broadcast = broadcast;
        this.port = port;
        this.shutdown = shutdown;
    }

    @Override
    public String name() {
        return "WOL";
    }

    @Override
    public void powerOff(String host, String options) throws PowerException {
        if (shutdown == null) {
            throw new PowerException("Wake-on-LAN cannot power " + host + " off, and no shutdown is configured for it");
        }
        shutdown.accept(host);
    }

    @Override
    public void wakeUp(String host, String mac) throws PowerException {
        byte[] packet = magicPacket(mac);
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.setBroadcast(true);
            socket.send(new DatagramPacket(packet, packet.length, broadcast, port));
        } catch (IOException e) {
            throw new PowerException("cannot send the wake-on-LAN packet for " + host + ": " + e.getMessage());
        }
    }

    static byte[] magicPacket(String mac) throws PowerException {
        String hex = mac == null ? "" : mac.replaceAll("[:-]", "");
        if (!hex.matches("[0-9a-fA-F]{12}")) {
            throw new PowerException("'" + mac + "' is not a MAC address");
        }
        byte[] address = HexFormat.of().parseHex(hex);
        byte[] packet = new byte[6 + 16 * 6];
        for (int i = 0; i < 6; i++) {
            packet[i] = (byte) 0xff;
        }
        for (int i = 0; i < 16; i++) {
            System.arraycopy(address, 0, packet, 6 + i * 6, 6);
        }
        return packet;
    }
}
