package io.strata.server;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.strata.compute.ServerStore;
import io.strata.compute.VmState;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/** {@code strata_servers{state=...}}: live servers by vm_state, read from the store at most every few seconds. */
final class ServerStateGauges {
    private ServerStateGauges() {}

    static void register(MeterRegistry metrics, ServerStore servers) {
        AtomicReference<Map<String, Long>> snapshot = new AtomicReference<>(Map.of());
        AtomicReference<Long> takenAt = new AtomicReference<>(0L);
        for (VmState state : VmState.values()) {
            if (state == VmState.DELETED) {
                continue;
            }
            Gauge.builder("strata.servers", () -> {
                        long now = System.nanoTime();
                        // One query serves all gauges of a scrape.
                        if (now - takenAt.get() > 2_000_000_000L) {
                            snapshot.set(servers.countByState());
                            takenAt.set(now);
                        }
                        return snapshot.get().getOrDefault(state.wireName(), 0L);
                    })
                    .description("Live servers by vm_state")
                    .tag("state", state.wireName())
                    .register(metrics);
        }
    }
}
