package io.strata.hierarchy.energy;

import java.util.Locale;

/**
 * Powers a local controller's host off and on again (Snooze's wake-up drivers). {@code options}
 * are the host's wakeupSettings options: ipmitool arguments for IPMI, the MAC address for WOL.
 */
public interface WakeupDriver {
    String name();

    void powerOff(String host, String options) throws PowerException;

    void wakeUp(String host, String options) throws PowerException;

    final class PowerException extends Exception {
        public PowerException(String message) {
            super(message);
        }
    }

    static String normalise(String name) {
        return name.toUpperCase(Locale.ROOT);
    }
}
