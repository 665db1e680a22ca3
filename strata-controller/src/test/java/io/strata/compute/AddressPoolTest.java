package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every server's NIC gets a MAC of its own: derived from its fixed address, unique with it. */
class AddressPoolTest {
    @Test
    void everyAddressOfTheNetworkHasItsOwnNovaStyleMac() {
        AddressPool pool = new AddressPool("10.8.0.0/20", Set.of());
        int hosts = (1 << 12) - 3;   // without the network, the gateway and the broadcast address
        List<String> addresses = pool.allocate(hosts);

        Set<String> macs = new HashSet<>();
        for (String address : addresses) {
            String mac = AddressPool.macFor(address);
            assertThat(mac).matches("fa:16:3e(:[0-9a-f]{2}){3}");
            assertThat(macs.add(mac)).as("MAC of %s is unique", address).isTrue();
        }
        assertThat(macs).hasSize(hosts);
        assertThat(AddressPool.macFor("10.8.1.2")).isEqualTo("fa:16:3e:08:01:02");
    }
}
