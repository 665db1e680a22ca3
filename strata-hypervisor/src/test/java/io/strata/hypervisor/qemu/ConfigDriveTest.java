package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigDriveTest {
    private final NetworkSpec network = new NetworkSpec("fa:16:3e:aa:bb:cc", "10.0.0.10", 24, "10.0.0.1", List.of("9.9.9.9"), 0);
    private final VmSpec spec = new VmSpec("id-1", "web", "web-1", 1, 256, 0, null, null,
            Map.of("tier", "front"), Map.of("mykey", "ssh-ed25519 AAAA me"), network, Map.of(), 0);

    @Test
    void metaDataHasWhatCloudInitReads() {
        Map<String, Object> meta = ConfigDrive.metaData(spec);
        assertThat(meta).containsEntry("uuid", "id-1").containsEntry("name", "web").containsEntry("hostname", "web-1")
                .containsEntry("launch_index", 0).containsEntry("availability_zone", "nova")
                .containsEntry("public_keys", Map.of("mykey", "ssh-ed25519 AAAA me"))
                .containsEntry("meta", Map.of("tier", "front"));
    }

    @Test
    void networkDataDescribesTheNicAddressRouteAndDns() {
        Map<String, Object> data = ConfigDrive.networkData(spec, UserNetwork.of(network));
        assertThat(data.get("links").toString()).contains("ethernet_mac_address=fa:16:3e:aa:bb:cc");
        assertThat(data.get("networks").toString()).contains("ip_address=10.0.0.10").contains("netmask=255.255.255.0")
                .contains("gateway=10.0.0.1");
        assertThat(data.get("services").toString()).contains("address=9.9.9.9");
    }
}
