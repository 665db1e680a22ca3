package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import io.strata.migration.MigrationStore.Kind;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replica schedules and the clock that fires them. {@link #tick()} runs every few seconds and
 * starts an execution for each enabled, unexpired schedule that matches the current UTC minute
 * and has not fired in it yet; the fired minute is stored, so two ticks (or two controllers)
 * within one minute start one execution.
 */
public final class ScheduleService {
    private static final Logger log = LoggerFactory.getLogger(ScheduleService.class);

    private final MigrationStore store;
    private final TransferService transfers;
    private final Clock clock;

    public ScheduleService(MigrationStore store, TransferService transfers, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.transfers = requireNonNull(transfers, "transfers is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public Schedule create(String projectId, String replicaId, ObjectNode schedule, boolean enabled, Instant expiration, boolean shutdown) {
        transfers.transfer(projectId, replicaId, Transfer.REPLICA);
        CronFields.validate(schedule);
        checkExpiration(expiration);
        Instant now = clock.instant();
        Schedule created = new Schedule(UUID.randomUUID().toString(), projectId, replicaId, schedule, enabled, expiration, shutdown, null, now, now);
        store.insert(Kind.SCHEDULE, created);
        return created;
    }

    private void checkExpiration(Instant expiration) {
        if (expiration != null && expiration.isBefore(clock.instant())) {
            throw CloudException.badRequest("expiration_date is in the past");
        }
    }

    public List<Schedule> list(String projectId, String replicaId, boolean showExpired) {
        transfers.transfer(projectId, replicaId, Transfer.REPLICA);
        Instant now = clock.instant();
        return store.children(Kind.SCHEDULE, replicaId, Schedule.class).stream()
                .filter(s -> showExpired || s.expirationDate() == null || s.expirationDate().isAfter(now)).toList();
    }

    public Schedule get(String projectId, String replicaId, String id) {
        transfers.transfer(projectId, replicaId, Transfer.REPLICA);
        return store.find(Kind.SCHEDULE, id, Schedule.class).filter(s -> s.replicaId().equals(replicaId))
                .orElseThrow(() -> CloudException.notFound("Schedule with ID '%s' for replica '%s' not found.", id, replicaId));
    }

    /** Changes the given fields; {@code clearExpiration} removes the expiry. */
    public Schedule update(String projectId, String replicaId, String id, ObjectNode schedule, Boolean enabled, Instant expiration,
            boolean clearExpiration, Boolean shutdown) {
        get(projectId, replicaId, id);
        if (schedule != null) {
            CronFields.validate(schedule);
        }
        checkExpiration(expiration);
        return store.update(Kind.SCHEDULE, id, Schedule.class, s -> s.with(schedule == null ? s.schedule() : schedule,
                enabled == null ? s.enabled() : enabled, clearExpiration ? null : expiration == null ? s.expirationDate() : expiration,
                shutdown == null ? s.shutdownInstance() : shutdown, clock.instant())).orElseThrow();
    }

    public void delete(String projectId, String replicaId, String id) {
        get(projectId, replicaId, id);
        store.delete(Kind.SCHEDULE, id);
    }

    /** Fires the schedules due this minute; returns how many executions it started. */
    public int tick() {
        Instant minute = clock.instant().truncatedTo(ChronoUnit.MINUTES);
        int started = 0;
        for (Schedule schedule : store.list(Kind.SCHEDULE, null, Schedule.class)) {
            if (!schedule.enabled() || (schedule.expirationDate() != null && schedule.expirationDate().isBefore(clock.instant()))
                    || minute.equals(schedule.lastFiredAt()) || !CronFields.matches(schedule.schedule(), minute)) {
                continue;
            }
            // Claim the minute first: only the writer that moves lastFiredAt to it fires.
            boolean[] claimed = {false};
            store.update(Kind.SCHEDULE, schedule.id(), Schedule.class, s -> {
                claimed[0] = !minute.equals(s.lastFiredAt());
                return claimed[0] ? s.fired(minute) : s;
            });
            if (!claimed[0]) {
                continue;
            }
            try {
                transfers.execute(schedule.projectId(), schedule.replicaId(), schedule.shutdownInstance());
                started++;
                log.info("schedule {} started an execution of replica {}", schedule.id(), schedule.replicaId());
            } catch (CloudException e) {
                log.warn("schedule {} of replica {} could not start an execution: {}", schedule.id(), schedule.replicaId(), e.getMessage());
            }
        }
        return started;
    }
}
