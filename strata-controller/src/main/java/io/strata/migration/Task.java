package io.strata.migration;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One step of an execution's task graph, for one instance. Tasks with {@code onError} run only
 * when the execution fails or is cancelled, to clean up what the completed tasks created.
 */
public record Task(String id, int index, String taskType, String instance, String status, List<String> dependsOn, boolean onError,
        String exceptionDetails, List<ProgressUpdate> progressUpdates, Instant createdAt, Instant updatedAt) {
    public Task {
        dependsOn = List.copyOf(dependsOn);
        progressUpdates = List.copyOf(progressUpdates);
    }

    public Task withStatus(String newStatus, String details, Instant now) {
        return new Task(id, index, taskType, instance, newStatus, dependsOn, onError, details, progressUpdates, createdAt, now);
    }

    /** Adds a progress update, or replaces the last one when it reports the same step's progress. */
    public Task withProgress(Integer currentStep, Integer totalSteps, String message, Instant now, boolean replaceLast) {
        List<ProgressUpdate> updates = new ArrayList<>(progressUpdates);
        if (replaceLast && !updates.isEmpty()) {
            updates.removeLast();
        }
        updates.add(new ProgressUpdate(updates.size(), currentStep, totalSteps, message, now));
        return new Task(id, index, taskType, instance, status, dependsOn, onError, exceptionDetails, updates, createdAt, now);
    }

    /** Coriolis' progress update: a message, optionally with steps done out of a total. */
    public record ProgressUpdate(int index, Integer currentStep, Integer totalSteps, String message, Instant createdAt) {}
}
