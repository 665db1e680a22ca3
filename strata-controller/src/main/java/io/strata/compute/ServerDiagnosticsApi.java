package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.hypervisor.VmDiagnostics;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.Map;
import java.util.TreeMap;

/**
 * GET /servers/{id}/diagnostics (admins): the VM's resource use as its host reads it. Below
 * microversion 2.48 (all this API serves) Nova passes the driver's own dictionary through; this
 * is the libvirt driver's shape, which tools written against Nova know: {@code cpuN_time} (ns),
 * {@code memory}, {@code memory-actual}, {@code memory-rss} (KiB), per disk
 * {@code vda_read/_read_req/_write/_write_req/_errors}, per NIC {@code vnet0_rx/_rx_packets/...};
 * -1 where the driver has no figure.
 */
public final class ServerDiagnosticsApi implements ApiArea {
    private final ServerService servers;
    private final HostRegistry hosts;
    private final Policy policy;

    public ServerDiagnosticsApi(ServerService servers, HostRegistry hosts, Policy policy) {
        this.servers = requireNonNull(servers, "servers is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> r.get(p + "/servers/{id}/diagnostics", this::show));
    }

    private void show(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:os-server-diagnostics");
        Server server = servers.get(auth, ctx.pathParam("id"));
        if (server.host() == null || server.vmState() == VmState.BUILDING || server.vmState() == VmState.BLESSED) {
            throw CloudException.conflict("Cannot 'get_diagnostics' instance %s while it is in vm_state %s", server.id(),
                    server.vmState().wireName());
        }
        VmDiagnostics d = hosts.agent(server.host()).diagnostics(server.id());
        ctx.json(view(d));
    }

    static ObjectNode view(VmDiagnostics d) {
        Map<String, Long> values = new TreeMap<>();
        for (VmDiagnostics.Cpu cpu : d.cpus()) {
            values.put("cpu" + cpu.id() + "_time", cpu.timeNanos());
        }
        values.put("memory", d.memoryMaxKb());
        values.put("memory-actual", d.memoryActualKb());
        values.put("memory-rss", d.memoryRssKb());
        for (VmDiagnostics.Disk disk : d.disks()) {
            values.put(disk.name() + "_read", disk.readBytes());
            values.put(disk.name() + "_read_req", disk.readRequests());
            values.put(disk.name() + "_write", disk.writeBytes());
            values.put(disk.name() + "_write_req", disk.writeRequests());
            values.put(disk.name() + "_errors", disk.errors());
        }
        for (VmDiagnostics.Nic nic : d.nics()) {
            values.put(nic.name() + "_rx", nic.rxOctets());
            values.put(nic.name() + "_rx_packets", nic.rxPackets());
            values.put(nic.name() + "_rx_errors", nic.rxErrors());
            values.put(nic.name() + "_rx_drop", nic.rxDrop());
            values.put(nic.name() + "_tx", nic.txOctets());
            values.put(nic.name() + "_tx_packets", nic.txPackets());
            values.put(nic.name() + "_tx_errors", nic.txErrors());
            values.put(nic.name() + "_tx_drop", nic.txDrop());
        }
        ObjectNode n = Json.object();
        values.forEach(n::put);
        return n;
    }
}
