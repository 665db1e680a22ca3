package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The operator's view of hosts: os-hypervisors (capacity and usage), os-services (the compute
 * service of each host, enable/disable/force-down) and os-availability-zone.
 */
public final class HostsApi implements ApiArea {
    private static final String BINARY = "nova-compute";

    private final HostRegistry hosts;
    private final ServerStore servers;
    private final Policy policy;

    public HostsApi(HostRegistry hosts, ServerStore servers, Policy policy) {
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> {
            r.get(p + "/os-hypervisors", ctx -> hypervisorList(ctx, false));
            r.get(p + "/os-hypervisors/detail", ctx -> hypervisorList(ctx, true));
            r.get(p + "/os-hypervisors/statistics", this::statistics);
            r.get(p + "/os-hypervisors/{id}", ctx -> {
                admin(ctx, "os_compute_api:os-hypervisors");
                Host host = hostById(ctx.pathParam("id"));
                ctx.json(Json.object().set("hypervisor", hypervisor(host, true, servers.usageByHost(), ComputeRoutes.version(ctx))));
            });
            r.get(p + "/os-hypervisors/{id}/uptime", ctx -> {
                admin(ctx, "os_compute_api:os-hypervisors");
                Host host = hostById(ctx.pathParam("id"));
                ObjectNode h = summary(host);
                h.put("uptime", " " + java.time.LocalTime.now(java.time.ZoneOffset.UTC).withNano(0) + " up, load average: 0.00, 0.00, 0.00");
                ctx.json(Json.object().set("hypervisor", h));
            });
            r.get(p + "/os-hypervisors/{pattern}/search", ctx -> {
                admin(ctx, "os_compute_api:os-hypervisors");
                ctx.json(Json.object().set("hypervisors", matching(ctx.pathParam("pattern"), false)));
            });
            r.get(p + "/os-hypervisors/{pattern}/servers", ctx -> {
                admin(ctx, "os_compute_api:os-hypervisors");
                ctx.json(Json.object().set("hypervisors", matching(ctx.pathParam("pattern"), true)));
            });

            r.get(p + "/os-services", this::serviceList);
            r.put(p + "/os-services/enable", ctx -> setStatus(ctx, true, false));
            r.put(p + "/os-services/disable", ctx -> setStatus(ctx, false, false));
            r.put(p + "/os-services/disable-log-reason", ctx -> setStatus(ctx, false, true));
            r.put(p + "/os-services/force-down", this::forceDown);

            r.get(p + "/os-availability-zone", ctx -> zones(ctx, false));
            r.get(p + "/os-availability-zone/detail", ctx -> zones(ctx, true));
        });
    }

    // ------------------------------------------------------------------ hypervisors

    private void hypervisorList(Context ctx, boolean detail) {
        admin(ctx, "os_compute_api:os-hypervisors");
        Map<String, ServerStore.HostUsage> usage = servers.usageByHost();
        ArrayNode list = Json.array();
        for (Host host : hosts.refresh()) {
            list.add(hypervisor(host, detail, usage, ComputeRoutes.version(ctx)));
        }
        ctx.json(Json.object().set("hypervisors", list));
    }

    private ArrayNode matching(String pattern, boolean withServers) {
        ArrayNode list = Json.array();
        for (Host host : hosts.refresh()) {
            if (!host.name().contains(pattern)) {
                continue;
            }
            ObjectNode h = summary(host);
            if (withServers) {
                ArrayNode items = h.putArray("servers");
                for (Server s : servers.onHost(host.name())) {
                    items.addObject().put("name", ServerView.instanceName(s)).put("uuid", s.id());
                }
            }
            list.add(h);
        }
        if (list.isEmpty()) {
            throw CloudException.notFound("No hypervisor matching '%s' could be found.", pattern);
        }
        return list;
    }

    private ObjectNode summary(Host host) {
        ObjectNode h = Json.object();
        h.put("id", host.id());
        h.put("hypervisor_hostname", host.name());
        h.put("state", hosts.isUp(host) ? "up" : "down");
        h.put("status", host.serviceEnabled() ? "enabled" : "disabled");
        return h;
    }

    private ObjectNode hypervisor(Host host, boolean detail, Map<String, ServerStore.HostUsage> usageByHost, ApiVersion v) {
        ObjectNode h = summary(host);
        if (!detail) {
            return h;
        }
        ServerStore.HostUsage used = usageByHost.getOrDefault(host.name(), ServerStore.HostUsage.none(host.name()));
        // The accelerator guests really run with (kvm or tcg) goes in cpu_info, the one free-form field.
        ObjectNode cpu = Json.object();
        cpu.put("arch", "x86_64");
        cpu.put("model", host.accelerator().equals("kvm") ? "host" : "qemu64");
        cpu.put("vendor", "QEMU");
        cpu.putArray("features");
        cpu.putObject("topology").put("cells", 1).put("sockets", 1).put("cores", host.vcpus()).put("threads", 1);
        cpu.put("accelerator", host.accelerator());
        if (v.atLeast(2, 28)) {
            h.set("cpu_info", cpu);
        } else {
            h.put("cpu_info", cpu.toString());
        }
        h.put("current_workload", 0);
        h.put("disk_available_least", host.localGb() - used.diskGb());
        h.put("free_disk_gb", host.localGb() - used.diskGb());
        h.put("free_ram_mb", host.memoryMb() - used.ramMb());
        h.put("host_ip", host.hostIp());
        h.put("hypervisor_type", host.hypervisorType());
        h.put("hypervisor_version", host.hypervisorVersion());
        h.put("local_gb", host.localGb());
        h.put("local_gb_used", used.diskGb());
        h.put("memory_mb", host.memoryMb());
        h.put("memory_mb_used", used.ramMb());
        h.put("running_vms", used.servers());
        h.putObject("service").put("host", host.name()).put("id", host.id()).put("disabled_reason", host.disabledReason());
        h.put("vcpus", host.vcpus());
        h.put("vcpus_used", used.vcpus());
        return h;
    }

    private void statistics(Context ctx) {
        admin(ctx, "os_compute_api:os-hypervisors");
        Map<String, ServerStore.HostUsage> usage = servers.usageByHost();
        long count = 0;
        long vcpus = 0;
        long vcpusUsed = 0;
        long memory = 0;
        long memoryUsed = 0;
        long disk = 0;
        long diskUsed = 0;
        long running = 0;
        for (Host host : hosts.refresh()) {
            ServerStore.HostUsage used = usage.getOrDefault(host.name(), ServerStore.HostUsage.none(host.name()));
            count++;
            vcpus += host.vcpus();
            vcpusUsed += used.vcpus();
            memory += host.memoryMb();
            memoryUsed += used.ramMb();
            disk += host.localGb();
            diskUsed += used.diskGb();
            running += used.servers();
        }
        ObjectNode stats = Json.object();
        stats.put("count", count);
        stats.put("vcpus", vcpus);
        stats.put("vcpus_used", vcpusUsed);
        stats.put("memory_mb", memory);
        stats.put("memory_mb_used", memoryUsed);
        stats.put("free_ram_mb", memory - memoryUsed);
        stats.put("local_gb", disk);
        stats.put("local_gb_used", diskUsed);
        stats.put("free_disk_gb", disk - diskUsed);
        stats.put("disk_available_least", disk - diskUsed);
        stats.put("current_workload", 0);
        stats.put("running_vms", running);
        ctx.json(Json.object().set("hypervisor_statistics", stats));
    }

    private Host hostById(String id) {
        try {
            return hosts.findById(Integer.parseInt(id))
                    .orElseThrow(() -> CloudException.notFound("Hypervisor with ID '%s' could not be found.", id));
        } catch (NumberFormatException e) {
            throw CloudException.notFound("Hypervisor with ID '%s' could not be found.", id);
        }
    }

    // ------------------------------------------------------------------ services

    private void serviceList(Context ctx) {
        admin(ctx, "os_compute_api:os-services");
        String hostFilter = ctx.queryParam("host");
        String binaryFilter = ctx.queryParam("binary");
        ArrayNode list = Json.array();
        for (Host host : hosts.refresh()) {
            if ((hostFilter != null && !hostFilter.equals(host.name())) || (binaryFilter != null && !binaryFilter.equals(BINARY))) {
                continue;
            }
            ObjectNode s = list.addObject();
            s.put("id", host.id());
            s.put("binary", BINARY);
            s.put("disabled_reason", host.disabledReason());
            s.put("host", host.name());
            s.put("state", hosts.isUp(host) ? "up" : "down");
            s.put("status", host.serviceEnabled() ? "enabled" : "disabled");
            s.put("updated_at", Json.isoMicrosNoZone(host.lastHeartbeat()));
            s.put("zone", host.zone());
            if (ComputeRoutes.version(ctx).atLeast(2, 11)) {
                s.put("forced_down", host.forcedDown());
            }
        }
        ctx.json(Json.object().set("services", list));
    }

    private void setStatus(Context ctx, boolean enabled, boolean withReason) {
        admin(ctx, "os_compute_api:os-services");
        ObjectNode body = RequestBody.parse(ctx);
        String hostName = RequestBody.requiredString(body, "host", 1, 255);
        String binary = RequestBody.requiredString(body, "binary", 1, 255);
        String reason = withReason ? RequestBody.requiredString(body, "disabled_reason", 1, 255) : null;
        Host host = serviceHost(hostName, binary);
        hosts.setEnabled(host.name(), enabled, reason);
        ObjectNode service = Json.object();
        service.put("host", host.name());
        service.put("binary", binary);
        service.put("status", enabled ? "enabled" : "disabled");
        if (withReason) {
            service.put("disabled_reason", reason);
        }
        ctx.json(Json.object().set("service", service));
    }

    private void forceDown(Context ctx) {
        admin(ctx, "os_compute_api:os-services");
        if (!ComputeRoutes.version(ctx).atLeast(2, 11)) {
            throw CloudException.notFound("The resource could not be found.");
        }
        ObjectNode body = RequestBody.parse(ctx);
        Host host = serviceHost(RequestBody.requiredString(body, "host", 1, 255), RequestBody.requiredString(body, "binary", 1, 255));
        Boolean forced = RequestBody.optionalBoolean(body, "forced_down");
        if (forced == null) {
            throw CloudException.badRequest("Invalid input for field/attribute forced_down. Value: None. 'forced_down' is a required property");
        }
        hosts.setForcedDown(host.name(), forced);
        ctx.json(Json.object().set("service", Json.object().put("host", host.name()).put("binary", BINARY).put("forced_down", forced)));
    }

    private Host serviceHost(String hostName, String binary) {
        if (!binary.equals(BINARY)) {
            throw CloudException.notFound("Service %s on host %s could not be found.", binary, hostName);
        }
        return hosts.find(hostName).orElseThrow(() -> CloudException.notFound("Host '%s' could not be found.", hostName));
    }

    // ------------------------------------------------------------------ availability zones

    private void zones(Context ctx, boolean detail) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, detail ? "os_compute_api:os-availability-zone:detail" : "os_compute_api:os-availability-zone:list");
        Map<String, List<Host>> byZone = new TreeMap<>();
        for (Host host : hosts.refresh()) {
            if (host.serviceEnabled()) {
                byZone.computeIfAbsent(host.zone(), z -> new java.util.ArrayList<>()).add(host);
            }
        }
        ArrayNode info = Json.array();
        byZone.forEach((zone, members) -> {
            ObjectNode z = info.addObject();
            z.put("zoneName", zone);
            z.putObject("zoneState").put("available", members.stream().anyMatch(hosts::isUp));
            if (detail) {
                ObjectNode hostsNode = z.putObject("hosts");
                for (Host host : members) {
                    hostsNode.putObject(host.name()).putObject(BINARY)
                            .put("available", hosts.isUp(host))
                            .put("active", host.serviceEnabled())
                            .put("updated_at", Json.isoMicrosNoZone(host.lastHeartbeat()));
                }
            } else {
                z.putNull("hosts");
            }
        });
        ctx.json(Json.object().set("availabilityZoneInfo", info));
    }

    private void admin(Context ctx, String operation) {
        policy.enforce(Requests.auth(ctx), operation);
    }

}
