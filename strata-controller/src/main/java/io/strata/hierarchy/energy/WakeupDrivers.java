package io.strata.hierarchy.energy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/** The wake-up driver named in the configuration: IPMI, WOL or test (Snooze's names). */
public final class WakeupDrivers {
    private WakeupDrivers() {}

    public static WakeupDriver named(String name) {
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "IPMI" -> new IpmiDriver("ipmitool", 30);
            case "WOL" -> {
                try {
                    yield new WakeOnLanDriver(InetAddress.getByName("255.255.255.255"), 9, null);
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
            case "TEST" -> new TestDriver();
            default -> throw new IllegalArgumentException("unknown wake-up driver " + name + " (IPMI, WOL or test)");
        };
    }
}
