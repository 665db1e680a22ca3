package io.strata.hierarchy.energy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.hierarchy.Capacity;
import io.strata.hierarchy.policy.LcState;
import io.strata.hierarchy.policy.Thresholds;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.threeten.extra.MutableClock;

class EnergySaverTest {
    private static final Capacity TOTAL = new Capacity(8, 8 * 1024 * 1024, 1000, 1000);

    private static LcState lc(String host, boolean busy, boolean on) {
        List<LcState.VmLoad> vms = busy ? List.of(new LcState.VmLoad(host + "-vm", new Capacity(1, 1024 * 1024, 0, 0))) : List.of();
        return new LcState(host, host, "gm", TOTAL, busy ? vms.get(0).demand() : Capacity.ZERO, vms, on);
    }

    @Test
    void idleHostsGoOffAfterTheThresholdKeepingTheReserveAndWakeForDemand() {
        MutableClock clock = MutableClock.of(Instant.parse("2026-11-23T00:00:00Z"), ZoneOffset.UTC);
        TestDriver driver = new TestDriver();
        EnergySaver saver = new EnergySaver(driver, Duration.ofSeconds(120), 1, clock);
        List<LcState> lcs = new ArrayList<>(List.of(lc("busy", true, true), lc("idle1", false, true), lc("idle2", false, true)));

        assertThat(saver.tick(lcs, Map.of())).isEmpty();           // idle from now on
        clock.add(Duration.ofSeconds(119));
        assertThat(saver.tick(lcs, Map.of())).isEmpty();           // not yet 120 s
        clock.add(Duration.ofSeconds(2));
        assertThat(saver.tick(lcs, Map.of())).hasSize(1);          // one of the two; the other is the reserve
        String off = saver.poweredOff().iterator().next();
        assertThat(driver.calls()).containsExactly("off " + off);

        clock.add(Duration.ofSeconds(600));
        List<LcState> now = lcs.stream().map(lc -> lc.host().equals(off) ? lc.poweredOn(false) : lc).toList();
        assertThat(saver.wakeFor(new Capacity(2, 1024 * 1024, 0, 0), now, Thresholds.DEFAULT, Map.of())).contains(off);
        assertThat(driver.calls()).containsExactly("off " + off, "on " + off);
        assertThat(saver.isOff(off)).isFalse();
        assertThat(saver.timeOff().get(off)).isEqualTo(Duration.ofSeconds(600));
        // Nothing is off any more: nothing to wake.
        assertThat(saver.wakeFor(new Capacity(2, 1024 * 1024, 0, 0), lcs, Thresholds.DEFAULT, Map.of())).isEmpty();
    }

    @Test
    void aBusyHostIsNeverPoweredOff() {
        MutableClock clock = MutableClock.of(Instant.parse("2026-11-23T00:00:00Z"), ZoneOffset.UTC);
        EnergySaver saver = new EnergySaver(new TestDriver(), Duration.ZERO, 0, clock);
        assertThat(saver.tick(List.of(lc("busy", true, true)), Map.of())).isEmpty();
        assertThat(saver.tick(List.of(lc("idle", false, true)), Map.of())).containsExactly("idle");
    }

    @Test
    void aHostIsClosedToNewWorkBeforeItGoesOffAndReopenedWhenPowerOffFails() {
        List<String> events = new ArrayList<>();
        EnergySaver.Fence fence = new EnergySaver.Fence() {
            @Override
            public void close(String host) {
                events.add("close " + host);
            }

            @Override
            public void reopen(String host) {
                events.add("reopen " + host);
            }
        };
        TestDriver driver = new TestDriver() {
            @Override
            public void powerOff(String host, String options) {
                events.add("off " + host);
                super.powerOff(host, options);
            }
        };
        assertThat(new EnergySaver(driver, Duration.ZERO, 0, MutableClock.of(Instant.parse("2026-11-23T00:00:00Z"), ZoneOffset.UTC)).tick(List.of(lc("idle", false, true)), Map.of(), fence))
                .containsExactly("idle");
        assertThat(events).containsExactly("close idle", "off idle");

        events.clear();
        EnergySaver failing = new EnergySaver(new IpmiDriver("/bin/false", 5), Duration.ZERO, 0, MutableClock.of(Instant.parse("2026-11-23T00:00:00Z"), ZoneOffset.UTC));
        assertThat(failing.tick(List.of(lc("idle", false, true)), Map.of("idle", "-H x"), fence)).isEmpty();
        assertThat(events).containsExactly("close idle", "reopen idle");
        assertThat(failing.isOff("idle")).isFalse();
    }

    @Test
    void ipmiRunsIpmitoolWithTheHostsOptions() throws Exception {
        IpmiDriver driver = new IpmiDriver("ipmitool", 5);
        assertThat(driver.command("-I lanplus -H 10.0.0.9 -U user -P pw", "off"))
                .containsExactly("ipmitool", "-I", "lanplus", "-H", "10.0.0.9", "-U", "user", "-P", "pw", "chassis", "power", "off");
        new IpmiDriver("/bin/true", 5).wakeUp("h", "-H x");      // a zero exit is success
        assertThatThrownBy(() -> new IpmiDriver("/bin/false", 5).powerOff("h", "-H x")).hasMessageContaining("exit 1");
        assertThatThrownBy(() -> new IpmiDriver("/nonexistent/ipmitool", 5).powerOff("h", "")).hasMessageContaining("cannot run");
    }

    @Test
    void wakeOnLanSendsTheMagicPacket() throws Exception {
        try (DatagramSocket listener = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(5000);
            WakeOnLanDriver driver = new WakeOnLanDriver(InetAddress.getLoopbackAddress(), listener.getLocalPort(), host -> { });
            driver.wakeUp("h", "52:54:01:84:26:2c");
            DatagramPacket packet = new DatagramPacket(new byte[200], 200);
            listener.receive(packet);
            assertThat(packet.getLength()).isEqualTo(102);
            byte[] data = packet.getData();
            for (int i = 0; i < 6; i++) {
                assertThat(data[i]).isEqualTo((byte) 0xff);
            }
            assertThat(data[6 + 15 * 6]).isEqualTo((byte) 0x52);
            assertThat(data[6 + 15 * 6 + 5]).isEqualTo((byte) 0x2c);
            assertThatThrownBy(() -> driver.wakeUp("h", "not-a-mac")).hasMessageContaining("not a MAC address");
        }
    }
}
