package io.strata.hypervisor.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.compute.PowerState;
import io.strata.hypervisor.VmDiagnostics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A running VM's figures, read from QMP and from the QEMU process in /proc: CPU time per vCPU
 * thread ({@code query-cpus-fast} names the threads), the balloon ({@code query-balloon}), block
 * statistics ({@code query-blockstats}) and the process's resident memory. User-mode networking
 * keeps no packet counters QEMU could report, so a NIC's counters come from the guest agent
 * ({@code guest-network-get-interfaces} statistics of the interface with the NIC's MAC); without
 * an agent that answers within {@link #AGENT_TIMEOUT} they are -1, as libvirt reports unknowns.
 */
final class QemuDiagnostics {
    /** USER_HZ: the unit of the CPU times in /proc/<pid>/stat, 100 on every Linux we run on. */
    private static final long TICK_NANOS = 10_000_000L;
    static final java.time.Duration AGENT_TIMEOUT = java.time.Duration.ofSeconds(2);

    private QemuDiagnostics() {}

    private static VmDiagnostics.Nic nicFromGuest(QemuVm vm, String mac) {
        try (GuestAgentClient agent = GuestAgentClient.connect(vm.run().agentSocket(), AGENT_TIMEOUT)) {
            for (JsonNode nic : agent.networkInterfaces()) {
                if (mac.equalsIgnoreCase(nic.path("hardware-address").asText())) {
                    JsonNode st = nic.path("statistics");
                    if (st.isMissingNode()) {
                        break;
                    }
                    return new VmDiagnostics.Nic("vnet0", mac, st.path("rx-bytes").asLong(-1), st.path("rx-packets").asLong(-1),
                            st.path("rx-errs").asLong(-1), st.path("rx-dropped").asLong(-1), st.path("tx-bytes").asLong(-1),
                            st.path("tx-packets").asLong(-1), st.path("tx-errs").asLong(-1), st.path("tx-dropped").asLong(-1));
                }
            }
        } catch (RuntimeException e) {
            // no agent, or busy with someone else: counters unknown
        }
        return new VmDiagnostics.Nic("vnet0", mac, -1, -1, -1, -1, -1, -1, -1, -1);
    }

    /** The caller holds the VM's lock. */
    static VmDiagnostics of(QemuVm vm, PowerState state) {
        VmDescriptor d = vm.descriptor();
        long maxKb = d.memoryMb() * 1024L;
        List<VmDiagnostics.Nic> nics = List.of(new VmDiagnostics.Nic("vnet0", d.mac(), -1, -1, -1, -1, -1, -1, -1, -1));
        if (!vm.isProcessAlive()) {
            List<VmDiagnostics.Cpu> cpus = new ArrayList<>();
            for (int i = 0; i < d.vcpus(); i++) {
                cpus.add(new VmDiagnostics.Cpu(i, 0));
            }
            return new VmDiagnostics(state, "qemu", 0, maxKb, 0, 0, cpus, List.of(), nics);
        }
        nics = List.of(nicFromGuest(vm, d.mac()));
        long pid = vm.pid();
        QmpClient qmp = vm.qmp();
        List<VmDiagnostics.Cpu> cpus = new ArrayList<>();
        for (JsonNode cpu : qmp.execute("query-cpus-fast")) {
            long thread = cpu.path("thread-id").asLong();
            cpus.add(new VmDiagnostics.Cpu(cpu.path("cpu-index").asInt(), cpuNanos(Path.of("/proc", Long.toString(pid), "task",
                    Long.toString(thread), "stat"))));
        }
        long actualKb = maxKb;
        try {
            actualKb = qmp.execute("query-balloon").path("actual").asLong() / 1024;
        } catch (RuntimeException e) {
            // no balloon device: the guest has all of its memory
        }
        List<VmDiagnostics.Disk> disks = new ArrayList<>();
        for (JsonNode dev : qmp.execute("query-blockstats")) {
            JsonNode stats = dev.path("stats");
            String device = dev.path("device").asText("");
            // A live-image clone's own config drive was hot-plugged as a node, not a -drive (LiveImages).
            if (device.isEmpty() && dev.path("qdev").asText("").startsWith("/machine/peripheral/config1/")) {
                device = "config0";
            }
            String name = switch (device) {
                case "disk0" -> "vda";
                case "config0" -> d.boot() != null && d.boot().disk() != null ? "vdb" : "vda";
                default -> device.isEmpty() ? dev.path("qdev").asText("disk") : device;
            };
            disks.add(new VmDiagnostics.Disk(name, stats.path("rd_bytes").asLong(), stats.path("rd_operations").asLong(),
                    stats.path("wr_bytes").asLong(), stats.path("wr_operations").asLong(),
                    stats.path("failed_rd_operations").asLong() + stats.path("failed_wr_operations").asLong()));
        }
        return new VmDiagnostics(state, "qemu", uptimeSeconds(pid), maxKb, actualKb, rssKb(pid), cpus, disks, nics);
    }

    /** utime + stime of one thread. */
    private static long cpuNanos(Path stat) {
        String[] fields = afterCommand(read(stat));
        if (fields.length < 13) {
            return 0;
        }
        return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * TICK_NANOS;
    }

    private static long uptimeSeconds(long pid) {
        String[] fields = afterCommand(read(Path.of("/proc", Long.toString(pid), "stat")));
        String uptime = read(Path.of("/proc/uptime"));
        if (fields.length < 20 || uptime.isBlank()) {
            return 0;
        }
        double hostUp = Double.parseDouble(uptime.split(" ")[0]);
        double startedAt = Long.parseLong(fields[19]) * TICK_NANOS / 1e9;
        return Math.max(0, (long) (hostUp - startedAt));
    }

    private static long rssKb(long pid) {
        for (String line : read(Path.of("/proc", Long.toString(pid), "status")).split("\n")) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    /** The fields of a /proc stat line after "(comm)", which may itself hold spaces: field 3 (state) is index 0. */
    private static String[] afterCommand(String stat) {
        int close = stat.lastIndexOf(')');
        return close < 0 ? new String[0] : stat.substring(close + 2).trim().split(" ");
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
