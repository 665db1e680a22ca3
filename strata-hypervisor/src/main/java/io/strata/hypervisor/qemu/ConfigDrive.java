package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an OpenStack config drive: an ISO9660 volume labelled {@code config-2} holding
 * {@code openstack/<version>/meta_data.json}, {@code user_data} and {@code network_data.json}, the
 * layout cloud-init's ConfigDrive datasource reads. Made with genisoimage, or xorriso's mkisofs
 * emulation where genisoimage is missing.
 */
final class ConfigDrive {
    /** Dated versions cloud-init knows, plus "latest"; network_data.json appeared in 2015-10-15. */
    private static final List<String> VERSIONS = List.of("2012-08-10", "2015-10-15", "latest");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path isoTool;

    ConfigDrive(Path isoTool) {
        this.isoTool = requireNonNull(isoTool, "isoTool is null");
    }

    /** The first of genisoimage, xorriso found on PATH. */
    static ConfigDrive fromPath() {
        for (String name : List.of("genisoimage", "mkisofs", "xorriso")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return new ConfigDrive(candidate);
                }
            }
        }
        throw new HypervisorException("no ISO tool for config drives: apt-get install genisoimage", null);
    }

    void write(VmSpec spec, UserNetwork network, Path iso) {
        Path staging = iso.resolveSibling("config-drive");
        try {
            QemuFiles.deleteTree(staging);
            for (String version : VERSIONS) {
                Path dir = Files.createDirectories(staging.resolve("openstack").resolve(version));
                JSON.writeValue(dir.resolve("meta_data.json").toFile(), metaData(spec));
                if (!version.equals("2012-08-10")) {
                    JSON.writeValue(dir.resolve("network_data.json").toFile(), networkData(spec, network));
                }
                if (spec.userData() != null) {
                    Files.write(dir.resolve("user_data"), spec.userData());
                }
            }
            List<String> command = new ArrayList<>(List.of(isoTool.toString()));
            if (isoTool.getFileName().toString().equals("xorriso")) {
                command.addAll(List.of("-as", "mkisofs"));
            }
            command.addAll(List.of("-quiet", "-o", iso.toString(), "-V", "config-2", "-r", "-J",
                    "-input-charset", "utf-8", staging.toString()));
            Processes.run(command, Duration.ofSeconds(30));
        } catch (IOException e) {
            throw new HypervisorException("cannot write the config drive of " + spec.id() + ": " + e.getMessage(), e);
        } finally {
            QemuFiles.deleteTree(staging);
        }
    }

    static Map<String, Object> metaData(VmSpec spec) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("uuid", spec.id());
        meta.put("name", spec.name());
        meta.put("hostname", spec.hostname());
        meta.put("launch_index", 0);
        meta.put("availability_zone", spec.metadata().getOrDefault("availability_zone", "nova"));
        meta.put("public_keys", spec.publicKeys());
        List<Map<String, String>> keys = new ArrayList<>();
        spec.publicKeys().forEach((name, key) -> keys.add(Map.of("name", name, "type", "ssh", "data", key)));
        meta.put("keys", keys);
        meta.put("meta", spec.metadata());
        meta.put("devices", List.of());
        return meta;
    }

    static Map<String, Object> networkData(VmSpec spec, UserNetwork network) {
        Map<String, Object> link = new LinkedHashMap<>();
        link.put("id", "tap0");
        link.put("type", "phy");
        link.put("ethernet_mac_address", spec.network().mac());
        link.put("mtu", 1500);
        link.put("vif_id", spec.id() + "-0");
        Map<String, Object> net = new LinkedHashMap<>();
        net.put("id", "network0");
        net.put("type", "ipv4");
        net.put("link", "tap0");
        net.put("ip_address", network.address());
        net.put("netmask", network.netmask());
        net.put("routes", List.of(Map.of("network", "0.0.0.0", "netmask", "0.0.0.0", "gateway", network.gateway())));
        net.put("network_id", "strata-user-network");
        List<String> dns = spec.network().dnsServers().isEmpty() ? List.of(network.dnsProxy()) : spec.network().dnsServers();
        List<Map<String, String>> services = dns.stream().map(address -> Map.of("type", "dns", "address", address)).toList();
        net.put("services", services);
        return Map.of("links", List.of(link), "networks", List.of(net), "services", services);
    }

}
