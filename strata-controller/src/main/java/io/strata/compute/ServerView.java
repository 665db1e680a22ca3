package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.api.Json;
import io.strata.identity.AuthContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A server as Nova's API shows it, key for key, for a given microversion and caller. Nova's
 * published response schemas forbid extra keys, so Strata-only facts stay out of here.
 */
public final class ServerView {
    /** Statuses for which Nova shows the {@code progress} key. */
    private static final Set<String> PROGRESS_STATUSES = Set.of("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING");

    private final String computeUrl;
    private final String bookmarkUrl;
    private final HostRegistry hosts;
    /** Group names by server id for a set of servers (one query for a whole list). */
    private final Function<Collection<String>, Map<String, List<String>>> securityGroupNames;
    /** The name of the network every server joins: Nova keys a server's addresses by network name. */
    private final String networkName;

    /** @param baseUrl the public base URL of this cloud (e.g. http://127.0.0.1:8774) */
    public ServerView(String baseUrl, HostRegistry hosts) {
        this(baseUrl, hosts, serverIds -> Map.of(), io.strata.network.Network.DEFAULT_NAME);
    }

    /**
     * @param securityGroupNames the names of the security groups of the servers whose ids it is
     *        given, by server id (servers without groups may be left out)
     */
    public ServerView(String baseUrl, HostRegistry hosts, Function<Collection<String>, Map<String, List<String>>> securityGroupNames,
            String networkName) {
        this.networkName = requireNonNull(networkName, "networkName is null");
        this.computeUrl = requireNonNull(baseUrl, "baseUrl is null") + "/compute/v2.1";
        this.bookmarkUrl = baseUrl + "/compute";
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.securityGroupNames = requireNonNull(securityGroupNames, "securityGroupNames is null");
    }

    public String networkName() {
        return networkName;
    }

    public ObjectNode summary(Server s) {
        ObjectNode n = Json.object();
        n.put("id", s.id());
        n.put("name", s.name());
        n.set("links", links("servers", s.id()));
        return n;
    }

    public ObjectNode detail(Server s, ApiVersion v, AuthContext auth) {
        return detail(s, v, auth, securityGroupNames.apply(List.of(s.id())).getOrDefault(s.id(), List.of()));
    }

    /** The detail of each server, their security groups read in one query rather than one per server. */
    public List<ObjectNode> details(List<Server> servers, ApiVersion v, AuthContext auth) {
        Map<String, List<String>> groups = servers.isEmpty() ? Map.of() : securityGroupNames.apply(servers.stream().map(Server::id).toList());
        return servers.stream().map(s -> detail(s, v, auth, groups.getOrDefault(s.id(), List.of()))).toList();
    }

    private ObjectNode detail(Server s, ApiVersion v, AuthContext auth, List<String> names) {
        boolean admin = auth.isAdmin();
        String status = s.status();
        ObjectNode n = Json.object();
        n.put("id", s.id());
        n.put("name", s.name());
        n.put("status", status);
        n.put("tenant_id", s.projectId());
        n.put("user_id", s.userId());
        ObjectNode metadata = n.putObject("metadata");
        s.metadata().forEach(metadata::put);
        // Nova's server object has no field for it, and users look for it where cloud-init
        // users look for such things: the host port forwarded to the guest's SSH (user-mode NIC).
        if (s.sshPort() > 0 && !s.metadata().containsKey("ssh_port")) {
            metadata.put("ssh_port", Integer.toString(s.sshPort()));
        }
        n.put("hostId", s.host() == null ? "" : sha224(s.projectId() + s.host()));
        if (s.imageId() == null) {
            n.put("image", "");
        } else {
            ObjectNode image = n.putObject("image");
            image.put("id", s.imageId());
            image.putArray("links").addObject().put("rel", "bookmark").put("href", bookmarkUrl + "/images/" + s.imageId());
        }
        n.set("flavor", flavor(s, v));
        n.put("created", Json.isoSeconds(s.createdAt()));
        n.put("updated", Json.isoSeconds(s.updatedAt()));
        ObjectNode addresses = n.putObject("addresses");
        if (s.ipAddress() != null) {
            addresses.putArray(networkName).addObject()
                    .put("version", 4)
                    .put("addr", s.ipAddress())
                    .put("OS-EXT-IPS:type", "fixed")
                    .put("OS-EXT-IPS-MAC:mac_addr", s.macAddress());
        }
        n.put("accessIPv4", s.accessIpv4());
        n.put("accessIPv6", s.accessIpv6());
        n.set("links", links("servers", s.id()));
        n.put("OS-DCF:diskConfig", "MANUAL");
        if (PROGRESS_STATUSES.contains(status)) {
            n.put("progress", s.progress());
        }
        n.put("OS-EXT-AZ:availability_zone", s.availabilityZone() == null ? "" : s.availabilityZone());
        n.put("config_drive", s.configDrive());
        n.put("key_name", s.keyName());
        n.put("OS-SRV-USG:launched_at", Json.isoMicrosNoZone(s.launchedAt()));
        n.put("OS-SRV-USG:terminated_at", Json.isoMicrosNoZone(s.terminatedAt()));
        if (admin) {
            n.put("OS-EXT-SRV-ATTR:host", s.host());
            n.put("OS-EXT-SRV-ATTR:instance_name", instanceName(s));
            n.put("OS-EXT-SRV-ATTR:hypervisor_hostname", s.host());
            if (v.atLeast(2, 3)) {
                n.put("OS-EXT-SRV-ATTR:reservation_id", s.reservationId());
                n.put("OS-EXT-SRV-ATTR:launch_index", s.launchIndex());
                n.put("OS-EXT-SRV-ATTR:hostname", s.hostname());
                n.put("OS-EXT-SRV-ATTR:kernel_id", "");
                n.put("OS-EXT-SRV-ATTR:ramdisk_id", "");
                n.put("OS-EXT-SRV-ATTR:root_device_name", "/dev/vda");
                n.put("OS-EXT-SRV-ATTR:user_data", s.userData());
            }
        }
        n.put("OS-EXT-STS:task_state", s.taskState() == null ? null : s.taskState().wireName());
        n.put("OS-EXT-STS:vm_state", s.vmState().wireName());
        n.put("OS-EXT-STS:power_state", s.powerState().code());
        n.putArray("os-extended-volumes:volumes_attached");
        ArrayNode groups = n.putArray("security_groups");
        // Rows made without groups (live images, and clones launched before clones joined their groups) show the project's default.
        (names.isEmpty() ? List.of(SecurityGroup.DEFAULT) : names).forEach(name -> groups.addObject().put("name", name));
        if (s.fault() != null && (status.equals("ERROR") || status.equals("DELETED") || status.equals("SHUTOFF"))) {
            ObjectNode fault = n.putObject("fault");
            fault.put("code", s.fault().code());
            fault.put("created", Json.isoSeconds(s.fault().created()));
            fault.put("message", s.fault().message());
            if (admin && s.fault().details() != null) {
                fault.put("details", s.fault().details());
            }
        }
        if (v.atLeast(2, 9)) {
            n.put("locked", s.locked());
        }
        if (v.atLeast(2, 16) && admin) {
            n.put("host_status", hostStatus(s));
        }
        if (v.atLeast(2, 19)) {
            n.put("description", s.description());
        }
        if (v.atLeast(2, 26)) {
            ArrayNode tags = n.putArray("tags");
            s.tags().forEach(tags::add);
        }
        return n;
    }

    private ObjectNode flavor(Server s, ApiVersion v) {
        ObjectNode flavor = Json.object();
        Flavor f = s.flavor();
        if (v.atLeast(2, 47)) {
            flavor.put("vcpus", f.vcpus());
            flavor.put("ram", f.ramMb());
            flavor.put("disk", f.diskGb());
            flavor.put("ephemeral", f.ephemeralGb());
            flavor.put("swap", f.swapMb());
            flavor.put("original_name", f.name());
            ObjectNode specs = flavor.putObject("extra_specs");
            f.extraSpecs().forEach(specs::put);
        } else {
            flavor.put("id", f.id());
            flavor.putArray("links").addObject().put("rel", "bookmark").put("href", bookmarkUrl + "/flavors/" + f.id());
        }
        return flavor;
    }

    /** Nova's host_status: UP, DOWN, MAINTENANCE (service disabled), UNKNOWN, or "" before placement. */
    private String hostStatus(Server s) {
        if (s.host() == null) {
            return "";
        }
        return hosts.find(s.host())
                .map(h -> !hosts.isUp(h) ? "DOWN" : !h.serviceEnabled() ? "MAINTENANCE" : "UP")
                .orElse("UNKNOWN");
    }

    public ArrayNode links(String collection, String id) {
        ArrayNode links = Json.array();
        links.addObject().put("rel", "self").put("href", computeUrl + "/" + collection + "/" + id);
        links.addObject().put("rel", "bookmark").put("href", bookmarkUrl + "/" + collection + "/" + id);
        return links;
    }

    public String computeUrl() {
        return computeUrl;
    }

    public String bookmarkUrl() {
        return bookmarkUrl;
    }

    /** The libvirt-style name operators know from Nova ("instance-0000002a" there; the uuid here). */
    static String instanceName(Server s) {
        return "instance-" + s.id();
    }

    private static String sha224(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-224").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
