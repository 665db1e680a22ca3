package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Per-project quota limits, and the per-project lock that makes check-and-insert atomic. */
public final class QuotaStore {
    private final Jdbi jdbi;

    public QuotaStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** The limits an admin set for a project (only those resources). */
    public Map<QuotaResource, Long> limits(String projectId) {
        return jdbi.withHandle(h -> limits(h, projectId));
    }

    static Map<QuotaResource, Long> limits(Handle h, String projectId) {
        Map<QuotaResource, Long> limits = new EnumMap<>(QuotaResource.class);
        h.createQuery("select resource, hard_limit from project_quotas where project_id = :p").bind("p", projectId)
                .map((rs, c) -> Map.entry(rs.getString(1), rs.getLong(2))).list()
                .forEach(row -> QuotaResource.fromWire(row.getKey()).ifPresent(r -> limits.put(r, row.getValue())));
        return limits;
    }

    public void setLimits(String projectId, Map<QuotaResource, Long> limits) {
        jdbi.useTransaction(h -> {
            for (Map.Entry<QuotaResource, Long> limit : limits.entrySet()) {
                h.execute("delete from project_quotas where project_id = ? and resource = ?", projectId, limit.getKey().wireName());
                h.execute("insert into project_quotas (project_id, resource, hard_limit) values (?, ?, ?)", projectId,
                        limit.getKey().wireName(), limit.getValue());
            }
        });
    }

    public void deleteLimits(String projectId) {
        jdbi.useHandle(h -> h.execute("delete from project_quotas where project_id = ?", projectId));
    }

    /** Runs {@code work} in one transaction, without the project's lock (nothing to count). */
    public <T> T inTransaction(Function<Handle, T> work) {
        return jdbi.inTransaction(work::apply);
    }

    /**
     * Runs {@code work} in one transaction holding the project's quota lock (SELECT … FOR UPDATE
     * on its lock row, on H2 and PostgreSQL alike): checks and inserts made inside cannot
     * interleave with another request's for the same project.
     */
    public <T> T underProjectLock(String projectId, Function<Handle, T> work) {
        return underProjectLocks(java.util.Set.of(projectId), work);
    }

    /**
     * As {@link #underProjectLock}, holding the locks of several projects (a server created in
     * one project that joins another project's server group counts against both); taken in one
     * order, so that two such transactions cannot deadlock.
     */
    public <T> T underProjectLocks(java.util.Collection<String> projectIds, Function<Handle, T> work) {
        java.util.List<String> ordered = new java.util.TreeSet<>(projectIds).stream().toList();
        ordered.forEach(this::ensureLockRow);
        return jdbi.inTransaction(h -> {
            for (String projectId : ordered) {
                h.createQuery("select project_id from project_quota_locks where project_id = :p for update").bind("p", projectId)
                        .mapTo(String.class).one();
            }
            return work.apply(h);
        });
    }

    /**
     * As {@link #underProjectLock} for a quota counted per user (key pairs): the lock row is the
     * user's, kept in the same table under a prefix no project id has.
     */
    public <T> T underUserLock(String userId, Function<Handle, T> work) {
        return underProjectLock("user:" + userId, work);
    }

    private void ensureLockRow(String projectId) {
        boolean exists = jdbi.withHandle(h -> h.createQuery("select count(*) from project_quota_locks where project_id = :p")
                .bind("p", projectId).mapTo(Integer.class).one() > 0);
        if (exists) {
            return;
        }
        try {
            jdbi.useHandle(h -> h.execute("insert into project_quota_locks (project_id) values (?)", projectId));
        } catch (RuntimeException e) {
            // Another request created it first; that is all we needed.
            if (!ServerService.isUniqueViolation(e)) {
                throw e;
            }
        }
    }
}
