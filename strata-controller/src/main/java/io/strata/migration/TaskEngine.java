package io.strata.migration;

import static java.util.Objects.requireNonNull;

import io.strata.migration.MigrationStore.Kind;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs executions' task graphs, each on its own virtual thread. Every transition is written
 * before and after the work it stands for, so the store always tells where an execution is:
 * after a controller restart, {@link #adopt} puts the tasks that were running back to
 * scheduled and runs them again (tasks are idempotent). Stopping the controller does not cancel
 * anything; only a user's cancel does, and it then runs the cleanup tasks.
 */
public final class TaskEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TaskEngine.class);
    private static final Duration PROGRESS_INTERVAL = Duration.ofMillis(500);
    private static final Duration CANCEL_POLL = Duration.ofSeconds(1);

    /** Runs one task. */
    public interface TaskRunner {
        void run(Execution execution, Task task, TaskContext context) throws Exception;
    }

    /** What a running task may do besides its work: report progress, learn of cancellation. */
    public interface TaskContext {
        boolean cancelled();

        /** Adds a progress update; {@code sameStep} replaces the previous one (a running percentage). */
        void progress(String message, Integer currentStep, Integer totalSteps, boolean sameStep);
    }

    private final MigrationStore store;
    private final TaskRunner runner;
    private final Clock clock;
    private final Map<String, AtomicBoolean> cancelled = new ConcurrentHashMap<>();
    private final Map<String, Thread> threads = new ConcurrentHashMap<>();
    private volatile boolean closing;
    private volatile String selfId;

    public TaskEngine(MigrationStore store, TaskRunner runner, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.runner = requireNonNull(runner, "runner is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Starts running an execution already stored with status RUNNING. */
    public void submit(String executionId) {
        if (closing) {
            return;
        }
        cancelled.computeIfAbsent(executionId, id -> new AtomicBoolean());
        threads.computeIfAbsent(executionId, id -> Thread.ofVirtual().name("execution-" + id).start(() -> {
            try {
                run(id);
            } catch (RuntimeException e) {
                log.error("execution {} stopped on an unexpected error", id, e);
            } finally {
                threads.remove(id);
                cancelled.remove(id);
            }
        }));
    }

    /** Asks a running execution to stop; its cleanup tasks then run and it ends CANCELED. */
    public boolean cancel(String executionId) {
        Optional<Execution> updated = store.update(Kind.EXECUTION, executionId, Execution.class,
                e -> e.status().equals(ExecutionStatus.RUNNING) ? e.withStatus(ExecutionStatus.CANCELLING, clock.instant()) : e);
        AtomicBoolean flag = cancelled.get(executionId);
        if (flag != null) {
            flag.set(true);
        }
        if (updated.isPresent() && updated.get().status().equals(ExecutionStatus.CANCELLING) && !threads.containsKey(executionId)
                && java.util.Objects.equals(updated.get().workerId(), selfId)) {
            // Ours but not running (a restart in between): finish the cancellation now. Another
            // worker's execution sees CANCELLING in the store within a second.
            submit(executionId);
        }
        return updated.isPresent();
    }

    /**
     * Runs the active executions this worker should and does not yet: those assigned to it
     * (after a restart, or by another controller), and those of workers that are down. Taking
     * one over is a compare-and-set of its worker, so only one live worker adopts it.
     */
    public int adopt(String selfId, Predicate<String> isDown) {
        this.selfId = selfId;
        int resumed = 0;
        for (Execution execution : store.list(Kind.EXECUTION, null, Execution.class)) {
            if (closing || !execution.isActive() || threads.containsKey(execution.id())) {
                continue;
            }
            String owner = execution.workerId();
            if (owner != null && !owner.equals(selfId) && !isDown.test(owner)) {
                continue;
            }
            Instant now = clock.instant();
            boolean[] claimed = {false};
            store.update(Kind.EXECUTION, execution.id(), Execution.class, e -> {
                claimed[0] = java.util.Objects.equals(e.workerId(), owner) && e.isActive();
                if (!claimed[0]) {
                    return e;
                }
                Execution reset = e.withWorker(selfId, now);
                for (Task task : e.tasks()) {
                    if (task.status().equals(ExecutionStatus.TASK_RUNNING) && !task.onError()) {
                        reset = reset.withTask(task.id(), t -> t.withStatus(ExecutionStatus.TASK_SCHEDULED, null, now)
                                .withProgress(null, null, "Resumed after a controller restart", now, false), now);
                    }
                }
                return reset;
            });
            if (!claimed[0]) {
                continue;
            }
            log.info("running execution {} ({}{})", execution.id(), execution.status(),
                    owner == null || owner.equals(selfId) ? "" : ", taken over from worker " + owner);
            submit(execution.id());
            resumed++;
        }
        return resumed;
    }

    public boolean isRunning(String executionId) {
        return threads.containsKey(executionId);
    }

    private void run(String executionId) {
        while (!closing) {
            Execution execution = load(executionId);
            if (takenOver(execution)) {
                // This worker was seen as down (a pause longer than the service down time) and
                // another took the execution over: it goes on from the task this one ran.
                log.warn("execution {} was taken over by worker {}; this worker stops running it", executionId, execution.workerId());
                return;
            }
            if (execution.status().equals(ExecutionStatus.CANCELLING) || isCancelled(executionId)) {
                finish(executionId, ExecutionStatus.CANCELED);
                return;
            }
            if (!execution.status().equals(ExecutionStatus.RUNNING)) {
                return;
            }
            Task next = nextTask(execution);
            if (next == null) {
                boolean done = execution.tasks().stream().filter(t -> !t.onError())
                        .allMatch(t -> t.status().equals(ExecutionStatus.TASK_COMPLETED));
                if (done) {
                    Instant now = clock.instant();
                    // Cleanup tasks stay EXECUTE_ON_ERROR_ONLY, which views leave out, as Coriolis' do.
                    store.update(Kind.EXECUTION, executionId, Execution.class, e -> e.withStatus(ExecutionStatus.COMPLETED, now));
                    setTransferStatus(execution.transferId(), ExecutionStatus.COMPLETED);
                } else {
                    fail(executionId, null, "no task can run: the task graph is deadlocked");
                }
                return;
            }
            if (!runTask(execution, next)) {
                return;
            }
        }
    }

    /** Runs one task; false when the execution must not go on (it failed, was cancelled, or the controller stops). */
    private boolean runTask(Execution execution, Task task) {
        String executionId = execution.id();
        update(executionId, task.id(), t -> t.withStatus(ExecutionStatus.TASK_RUNNING, null, clock.instant()));
        try {
            runner.run(load(executionId), load(executionId).task(task.id()), context(executionId, task.id()));
        } catch (CancellationException e) {
            if (closing) {
                return false;
            }
            if (takenOver(load(executionId))) {
                log.warn("task {} {} of execution {} stopped: another worker took the execution over", task.taskType(), task.instance(),
                        executionId);
                return false;
            }
            update(executionId, task.id(), t -> t.withStatus(ExecutionStatus.TASK_CANCELED, "Cancelled by the user", clock.instant()));
            finish(executionId, ExecutionStatus.CANCELED);
            return false;
        } catch (Exception e) {
            if (closing) {
                return false;
            }
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            log.warn("task {} {} of execution {} failed: {}", task.taskType(), task.instance(), executionId, message,
                    e instanceof RuntimeException && !(e instanceof io.strata.migration.provider.ProviderException) ? e : null);
            fail(executionId, task.id(), message);
            return false;
        }
        if (closing) {
            // Finished as the controller stops: record it, the next start goes on from here.
            update(executionId, task.id(), t -> t.withStatus(ExecutionStatus.TASK_COMPLETED, null, clock.instant()));
            return false;
        }
        update(executionId, task.id(), t -> t.withStatus(ExecutionStatus.TASK_COMPLETED, null, clock.instant()));
        return true;
    }

    private void fail(String executionId, String taskId, String message) {
        if (taskId != null) {
            update(executionId, taskId, t -> t.withStatus(ExecutionStatus.TASK_ERROR, message, clock.instant()));
        }
        finish(executionId, ExecutionStatus.ERROR);
    }

    /**
     * Ends a failed or cancelled execution: tasks that never ran are unscheduled, and each
     * cleanup task runs when all it depends on at least started (so it has something to undo).
     */
    private void finish(String executionId, String status) {
        if (takenOver(load(executionId))) {
            log.warn("execution {} was taken over by another worker; this one leaves its end to it", executionId);
            return;
        }
        Instant now = clock.instant();
        String unrun = status.equals(ExecutionStatus.CANCELED) ? ExecutionStatus.TASK_CANCELED : ExecutionStatus.TASK_UNSCHEDULED;
        store.update(Kind.EXECUTION, executionId, Execution.class, e -> {
            Execution changed = e;
            for (Task task : e.tasks()) {
                if (!task.onError() && (task.status().equals(ExecutionStatus.TASK_SCHEDULED) || task.status().equals(ExecutionStatus.TASK_RUNNING))) {
                    changed = changed.withTask(task.id(), t -> t.withStatus(unrun, null, now), now);
                }
            }
            return changed;
        });
        Execution execution = load(executionId);
        List<Task> cleanups = new ArrayList<>(execution.tasks().stream().filter(Task::onError).toList());
        cleanups.sort(Comparator.comparingInt(Task::index));
        for (Task cleanup : cleanups) {
            Execution current = load(executionId);
            if (!current.task(cleanup.id()).status().equals(ExecutionStatus.TASK_ON_ERROR_ONLY)) {
                continue;
            }
            boolean applicable = cleanup.dependsOn().stream().map(current::task).allMatch(TaskEngine::started);
            if (!applicable) {
                update(executionId, cleanup.id(), t -> t.withStatus(ExecutionStatus.TASK_UNSCHEDULED, null, clock.instant()));
                continue;
            }
            update(executionId, cleanup.id(), t -> t.withStatus(ExecutionStatus.TASK_RUNNING, null, clock.instant()));
            try {
                runner.run(load(executionId), load(executionId).task(cleanup.id()), context(executionId, cleanup.id()));
                update(executionId, cleanup.id(), t -> t.withStatus(ExecutionStatus.TASK_COMPLETED, null, clock.instant()));
            } catch (Exception e) {
                log.warn("cleanup task {} of execution {} failed: {}", cleanup.taskType(), executionId, e.getMessage());
                update(executionId, cleanup.id(), t -> t.withStatus(ExecutionStatus.TASK_ERROR, String.valueOf(e.getMessage()), clock.instant()));
            }
        }
        store.update(Kind.EXECUTION, executionId, Execution.class, e -> e.withStatus(status, clock.instant()));
        setTransferStatus(execution.transferId(), status);
    }

    private static boolean started(Task task) {
        return switch (task.status()) {
            case ExecutionStatus.TASK_COMPLETED, ExecutionStatus.TASK_ERROR, ExecutionStatus.TASK_CANCELED, ExecutionStatus.TASK_RUNNING -> true;
            default -> false;
        };
    }

    private static Task nextTask(Execution execution) {
        return execution.tasks().stream()
                .filter(t -> !t.onError() && t.status().equals(ExecutionStatus.TASK_SCHEDULED))
                .filter(t -> t.dependsOn().stream().map(execution::task).allMatch(d -> d.status().equals(ExecutionStatus.TASK_COMPLETED)))
                .min(Comparator.comparingInt(Task::index))
                .orElse(null);
    }

    private TaskContext context(String executionId, String taskId) {
        return new TaskContext() {
            private long lastWrite;
            private long lastCheck = System.nanoTime();

            @Override
            public boolean cancelled() {
                if (closing || isCancelled(executionId)) {
                    return true;
                }
                // A cancel received by another controller reaches this one through the store, and
                // so does a takeover: this worker was seen as down (paused longer than the service
                // down time) and another runs the execution now; the task stops writing mid-way.
                long now = System.nanoTime();
                if (now - lastCheck > CANCEL_POLL.toNanos()) {
                    lastCheck = now;
                    Execution current = load(executionId);
                    if (current.status().equals(ExecutionStatus.CANCELLING)) {
                        cancelled.computeIfAbsent(executionId, id -> new AtomicBoolean()).set(true);
                        return true;
                    }
                    return takenOver(current);
                }
                return false;
            }

            @Override
            public void progress(String message, Integer currentStep, Integer totalSteps, boolean sameStep) {
                long now = System.nanoTime();
                boolean last = currentStep != null && currentStep.equals(totalSteps);
                if (sameStep && !last && now - lastWrite < PROGRESS_INTERVAL.toNanos()) {
                    return;
                }
                lastWrite = now;
                update(executionId, taskId, t -> t.withProgress(currentStep, totalSteps, message, clock.instant(),
                        sameStep && !t.progressUpdates().isEmpty() && t.progressUpdates().getLast().totalSteps() != null));
            }
        };
    }

    private boolean isCancelled(String executionId) {
        AtomicBoolean flag = cancelled.get(executionId);
        return flag != null && flag.get();
    }

    /** Whether another worker runs the execution now: then this one writes nothing more of it. */
    private boolean takenOver(Execution execution) {
        String self = selfId;
        return self != null && execution.workerId() != null && !execution.workerId().equals(self);
    }

    private void update(String executionId, String taskId, java.util.function.UnaryOperator<Task> change) {
        store.update(Kind.EXECUTION, executionId, Execution.class, e -> takenOver(e) ? e : e.withTask(taskId, change, clock.instant()));
    }

    private Execution load(String executionId) {
        return store.find(Kind.EXECUTION, executionId, Execution.class)
                .orElseThrow(() -> new IllegalStateException("execution " + executionId + " vanished while running"));
    }

    private void setTransferStatus(String transferId, String status) {
        store.update(Kind.TRANSFER, transferId, Transfer.class, t -> t.withStatus(status, clock.instant()));
    }

    /** Stops running executions where they are, for the next start to resume; cancels nothing. */
    @Override
    public void close() {
        closing = true;
        for (Thread thread : List.copyOf(threads.values())) {
            try {
                thread.join(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
