package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.HostInfo;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/** Host rows: registered when an agent first reports, refreshed by its heartbeats. */
public final class HostStore {
    private final Jdbi jdbi;

    public HostStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** Registers a host or refreshes what it reports, keeping the operator's settings (enabled, zone). */
    public Host upsert(HostInfo info, String agentUrl, Instant now) {
        return jdbi.inTransaction(h -> {
            int updated = h.createUpdate("update hosts set hypervisor_type = :type, hypervisor_version = :version, accelerator = :accel, "
                            + "host_ip = :ip, agent_url = :url, vcpus = :vcpus, memory_mb = :mem, local_gb = :disk, "
                            + "shared_storage = :shared, last_heartbeat_at = :now, updated_at = :now where host = :host")
                    .bind("type", info.hypervisorType()).bind("version", info.hypervisorVersion()).bind("accel", info.accelerator())
                    .bind("ip", info.hostIp()).bind("url", agentUrl).bind("vcpus", info.vcpus()).bind("mem", info.memoryMb())
                    .bind("disk", info.diskGb()).bind("shared", info.sharedStorage()).bind("now", now).bind("host", info.hostname()).execute();
            if (updated == 0) {
                h.createUpdate("insert into hosts (uuid, host, hypervisor_type, hypervisor_version, accelerator, host_ip, agent_url, vcpus, "
                                + "memory_mb, local_gb, shared_storage, last_heartbeat_at, created_at, updated_at) values (:uuid, :host, :type, "
                                + ":version, :accel, :ip, :url, :vcpus, :mem, :disk, :shared, :now, :now, :now)")
                        .bind("uuid", UUID.randomUUID().toString()).bind("host", info.hostname()).bind("type", info.hypervisorType())
                        .bind("version", info.hypervisorVersion()).bind("accel", info.accelerator()).bind("ip", info.hostIp())
                        .bind("url", agentUrl).bind("vcpus", info.vcpus()).bind("mem", info.memoryMb()).bind("disk", info.diskGb())
                        .bind("shared", info.sharedStorage()).bind("now", now).execute();
            }
            return h.createQuery("select * from hosts where host = :host").bind("host", info.hostname()).map((rs, c) -> row(rs)).one();
        });
    }

    /** Records a heartbeat; false when no such host is registered. */
    public boolean heartbeat(String host, Instant now) {
        return jdbi.withHandle(h -> h.execute("update hosts set last_heartbeat_at = ? where host = ?", now, host)) > 0;
    }

    /** One transaction for all the hosts of this process (2,000 simulated ones would otherwise be 2,000 commits a beat). */
    public void heartbeat(java.util.Collection<String> hosts, Instant now) {
        if (hosts.isEmpty()) {
            return;
        }
        jdbi.useTransaction(h -> {
            org.jdbi.v3.core.statement.PreparedBatch batch = h.prepareBatch("update hosts set last_heartbeat_at = ? where host = ?");
            hosts.forEach(host -> batch.add(now, host));
            batch.execute();
        });
    }

    public List<Host> list() {
        return jdbi.withHandle(h -> h.createQuery("select * from hosts order by id").map((rs, c) -> row(rs)).list());
    }

    public Optional<Host> find(String host) {
        return jdbi.withHandle(h -> h.createQuery("select * from hosts where host = :h").bind("h", host).map((rs, c) -> row(rs)).findOne());
    }

    public Optional<Host> findById(int id) {
        return jdbi.withHandle(h -> h.createQuery("select * from hosts where id = :id").bind("id", id).map((rs, c) -> row(rs)).findOne());
    }

    public void setServiceStatus(String host, boolean enabled, String reason, Instant now) {
        jdbi.useHandle(h -> h.execute("update hosts set service_status = ?, disabled_reason = ?, updated_at = ? where host = ?",
                enabled ? "enabled" : "disabled", enabled ? null : reason, now, host));
    }

    public void setForcedDown(String host, boolean forcedDown, Instant now) {
        jdbi.useHandle(h -> h.execute("update hosts set forced_down = ?, updated_at = ? where host = ?", forcedDown, now, host));
    }

    public void setZone(String host, String zone, Instant now) {
        jdbi.useHandle(h -> h.execute("update hosts set zone = ?, updated_at = ? where host = ?", zone, now, host));
    }

    private static Host row(ResultSet rs) throws SQLException {
        return new Host(rs.getInt("id"), rs.getString("uuid"), rs.getString("host"), rs.getString("zone"),
                "enabled".equals(rs.getString("service_status")), rs.getString("disabled_reason"), rs.getBoolean("forced_down"),
                rs.getString("hypervisor_type"), rs.getLong("hypervisor_version"), rs.getString("accelerator"), rs.getString("host_ip"),
                rs.getString("agent_url"), rs.getInt("vcpus"), rs.getLong("memory_mb"), rs.getLong("local_gb"),
                ServerStore.instant(rs, "last_heartbeat_at"), ServerStore.instant(rs, "created_at"), ServerStore.instant(rs, "updated_at"),
                rs.getString("shared_storage"));
    }
}
