package io.strata.hierarchy;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/** Accepted virtual cluster submissions and their VMs (tables snooze_submissions, snooze_submission_vms). */
public final class SubmissionStore {
    private final Jdbi jdbi;

    public SubmissionStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** One VM of a submission; {@code serverId} is null until its server row exists. */
    public record SubmittedVm(int position, String serverId, String name, int vcpus, long memoryKb, double rxKb, double txKb, String xml,
            String errorCode) {
        public Capacity requested() {
            return new Capacity(vcpus, memoryKb, rxKb, txKb);
        }
    }

    public record Submission(String taskId, String errorCode, Instant createdAt, List<SubmittedVm> vms) {
        public Submission {
            vms = List.copyOf(vms);
        }
    }

    /** Records the submission in one transaction, before its task id is answered. */
    public void insert(String taskId, List<VmTemplate> templates, Instant now) {
        jdbi.useTransaction(h -> {
            h.createUpdate("insert into snooze_submissions (task_id, created_at) values (:task, :now)")
                    .bind("task", taskId).bind("now", now).execute();
            var batch = h.prepareBatch("insert into snooze_submission_vms (task_id, position, name, vcpus, memory_kb, rx_kb, tx_kb, xml) "
                    + "values (:task, :position, :name, :vcpus, :memory, :rx, :tx, :xml)");
            for (int i = 0; i < templates.size(); i++) {
                VmTemplate t = templates.get(i);
                batch.bind("task", taskId).bind("position", i).bind("name", t.name()).bind("vcpus", t.vcpus())
                        .bind("memory", t.memoryKb()).bind("rx", t.rxKb()).bind("tx", t.txKb()).bind("xml", t.xml()).add();
            }
            batch.execute();
        });
    }

    public void setServer(String taskId, int position, String serverId) {
        jdbi.useHandle(h -> h.createUpdate("update snooze_submission_vms set server_id = :server where task_id = :task and position = :position")
                .bind("server", serverId).bind("task", taskId).bind("position", position).execute());
    }

    /** The servers started and the errors of a submission's VMs (by position), written together. */
    public void record(String taskId, Map<Integer, String> serverIds, Map<Integer, String> errorCodes) {
        if (serverIds.isEmpty() && errorCodes.isEmpty()) {
            return;
        }
        jdbi.useTransaction(h -> {
            if (!serverIds.isEmpty()) {
                org.jdbi.v3.core.statement.PreparedBatch batch = h.prepareBatch(
                        "update snooze_submission_vms set server_id = :server where task_id = :task and position = :position");
                serverIds.forEach((position, server) -> batch.bind("server", server).bind("task", taskId).bind("position", position).add());
                batch.execute();
            }
            if (!errorCodes.isEmpty()) {
                org.jdbi.v3.core.statement.PreparedBatch batch = h.prepareBatch(
                        "update snooze_submission_vms set error_code = :code where task_id = :task and position = :position");
                errorCodes.forEach((position, code) -> batch.bind("code", code).bind("task", taskId).bind("position", position).add());
                batch.execute();
            }
        });
    }

    public void setVmError(String taskId, int position, String errorCode) {
        jdbi.useHandle(h -> h.createUpdate("update snooze_submission_vms set error_code = :code where task_id = :task and position = :position")
                .bind("code", errorCode).bind("task", taskId).bind("position", position).execute());
    }

    public void setError(String taskId, String errorCode) {
        jdbi.useHandle(h -> h.createUpdate("update snooze_submissions set error_code = :code where task_id = :task")
                .bind("code", errorCode).bind("task", taskId).execute());
    }

    public Optional<Submission> find(String taskId) {
        return jdbi.withHandle(h -> h.createQuery("select task_id, error_code, created_at from snooze_submissions where task_id = :task")
                .bind("task", taskId)
                .map((rs, ctx) -> new Submission(rs.getString("task_id"), rs.getString("error_code"),
                        rs.getObject("created_at", java.time.OffsetDateTime.class).toInstant(), vms(h, taskId)))
                .findOne());
    }

    /** The submission a server was started by, if any (for a VM's requested capacity and XML). */
    public Optional<SubmittedVm> findByServer(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select * from snooze_submission_vms where server_id = :server")
                .bind("server", serverId).map((rs, ctx) -> vm(rs)).findFirst());
    }

    /** Server id → {rx KB, tx KB} of every VM started through Snooze. */
    public java.util.Map<String, double[]> networkDemandByServer() {
        java.util.Map<String, double[]> demand = new java.util.HashMap<>();
        jdbi.useHandle(h -> h.createQuery("select server_id, rx_kb, tx_kb from snooze_submission_vms where server_id is not null")
                .map((rs, ctx) -> java.util.Map.entry(rs.getString(1), new double[] {rs.getDouble(2), rs.getDouble(3)}))
                .forEach(e -> demand.put(e.getKey(), e.getValue())));
        return demand;
    }

    /** Submissions with VMs not yet handed to Compute: what a new leader finishes after a crash. */
    public List<String> unfinished() {
        return jdbi.withHandle(h -> h.createQuery("select distinct v.task_id from snooze_submission_vms v join snooze_submissions s "
                        + "on s.task_id = v.task_id where v.server_id is null and v.error_code is null and s.error_code is null")
                .mapTo(String.class).list());
    }

    private static List<SubmittedVm> vms(org.jdbi.v3.core.Handle h, String taskId) {
        return h.createQuery("select * from snooze_submission_vms where task_id = :task order by position")
                .bind("task", taskId).map((rs, ctx) -> vm(rs)).list();
    }

    private static SubmittedVm vm(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new SubmittedVm(rs.getInt("position"), rs.getString("server_id"), rs.getString("name"), rs.getInt("vcpus"),
                rs.getLong("memory_kb"), rs.getDouble("rx_kb"), rs.getDouble("tx_kb"), rs.getString("xml"), rs.getString("error_code"));
    }
}
