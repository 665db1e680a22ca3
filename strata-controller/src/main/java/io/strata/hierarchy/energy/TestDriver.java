package io.strata.hierarchy.energy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Snooze's "test" driver: powers nothing, records what it was asked (for simulations with the
 * fake hypervisor, where a powered-off host is one the scheduler may not use).
 */
public class TestDriver implements WakeupDriver {
    private final List<String> calls = new CopyOnWriteArrayList<>();

    @Override
    public String name() {
        return "test";
    }

    @Override
    public void powerOff(String host, String options) {
        calls.add("off " + host);
    }

    @Override
    public void wakeUp(String host, String options) {
        calls.add("on " + host);
    }

    public List<String> calls() {
        return List.copyOf(calls);
    }
}
