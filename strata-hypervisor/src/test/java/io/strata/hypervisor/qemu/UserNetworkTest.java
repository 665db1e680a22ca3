package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.NetworkSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class UserNetworkTest {
    @Test
    void forwardPortsAreDistinctUnderConcurrencyAndBelowTheEphemeralRange() throws Exception {
        int ephemeralLow = Integer.parseInt(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                .get(0).strip().split("\\s+")[0]);
        java.util.Set<Integer> ports = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<Boolean>> picks = new java.util.ArrayList<>();
            for (int i = 0; i < 200; i++) {
                picks.add(threads.submit(() -> ports.add(UserNetwork.freeForwardPort("vm"))));
            }
            for (var pick : picks) {
                pick.get();
            }
        }
        assertThat(ports).hasSize(200).allSatisfy(port -> assertThat(port).isBetween(1024, ephemeralLow - 1));
    }

    @Test
    void leasesExactlyTheFixedAddressBehindTheGivenGateway() {
        UserNetwork network = UserNetwork.of(new NetworkSpec("fa:16:3e:00:00:01", "192.168.7.20", 24, "192.168.7.1", List.of(), 0));
        assertThat(network.netdevOptions()).isEqualTo("net=192.168.7.0/24,host=192.168.7.1,dhcpstart=192.168.7.20,dns=192.168.7.2");
        assertThat(network.netmask()).isEqualTo("255.255.255.0");
    }

    @Test
    void picksAGatewayInsideTheSubnetWhenTheGivenOneIsUnusable() {
        UserNetwork outside = UserNetwork.of(new NetworkSpec("fa:16:3e:00:00:01", "10.1.2.3", 16, "10.9.0.1", List.of(), 0));
        assertThat(outside.gateway()).isEqualTo("10.1.0.1");
        UserNetwork clash = UserNetwork.of(new NetworkSpec("fa:16:3e:00:00:01", "10.1.0.1", 16, "10.1.0.1", List.of(), 0));
        assertThat(clash.gateway()).isEqualTo("10.1.0.2");
        assertThat(clash.dnsProxy()).isEqualTo("10.1.0.3");
        UserNetwork defaults = UserNetwork.of(new NetworkSpec("fa:16:3e:00:00:01", "172.16.5.9", 0, null, List.of(), 0));
        assertThat(defaults.netdevOptions()).startsWith("net=172.16.5.0/24,host=172.16.5.1,");
    }

    @Test
    void refusesAddressesSlirpCannotServe() {
        assertThatThrownBy(() -> UserNetwork.of(new NetworkSpec("m", "10.0.0.0", 24, null, List.of(), 0)))
                .isInstanceOf(HypervisorException.class);
        assertThatThrownBy(() -> UserNetwork.of(new NetworkSpec("m", "10.0.0.5", 31, null, List.of(), 0)))
                .isInstanceOf(HypervisorException.class);
        assertThatThrownBy(() -> UserNetwork.of(new NetworkSpec("m", "10.0.0.300", 24, null, List.of(), 0)))
                .isInstanceOf(HypervisorException.class);
    }
}
