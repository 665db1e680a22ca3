package io.strata.migration;

import java.util.Set;

/** Coriolis' execution and task status names (coriolis/constants.py). */
public final class ExecutionStatus {
    public static final String UNEXECUTED = "UNEXECUTED";
    public static final String RUNNING = "RUNNING";
    public static final String COMPLETED = "COMPLETED";
    public static final String ERROR = "ERROR";
    public static final String CANCELED = "CANCELED";
    public static final String CANCELLING = "CANCELLING";

    public static final String TASK_SCHEDULED = "SCHEDULED";
    public static final String TASK_PENDING = "PENDING";
    public static final String TASK_RUNNING = "RUNNING";
    public static final String TASK_COMPLETED = "COMPLETED";
    public static final String TASK_ERROR = "ERROR";
    public static final String TASK_CANCELED = "CANCELED";
    public static final String TASK_UNSCHEDULED = "UNSCHEDULED";
    public static final String TASK_ON_ERROR_ONLY = "EXECUTE_ON_ERROR_ONLY";

    private static final Set<String> ACTIVE = Set.of(RUNNING, CANCELLING);

    private ExecutionStatus() {}

    public static boolean isActive(String status) {
        return ACTIVE.contains(status);
    }
}
