package io.strata.migration;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.core.CloudException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Iterator;
import java.util.Map;

/**
 * Coriolis' cron subset: each of minute, hour, dom, month and dow is an exact value or absent
 * (any); times are UTC and dow counts from Monday = 0, as Python's {@code timetuple()} does.
 */
final class CronFields {
    private static final Map<String, int[]> RANGES = Map.of(
            "minute", new int[] {0, 59}, "hour", new int[] {0, 23}, "dom", new int[] {1, 31}, "month", new int[] {1, 12}, "dow", new int[] {0, 6});

    private CronFields() {}

    static void validate(JsonNode schedule) {
        if (schedule == null || !schedule.isObject()) {
            throw CloudException.badRequest("schedule is required and must be an object of minute, hour, dom, month, dow");
        }
        Iterator<Map.Entry<String, JsonNode>> fields = schedule.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            int[] range = RANGES.get(field.getKey());
            if (range == null) {
                throw CloudException.badRequest("Additional properties are not allowed in schedule ('%s' was unexpected)", field.getKey());
            }
            JsonNode value = field.getValue();
            if (value.isNull()) {
                continue;
            }
            if (!value.isIntegralNumber() || value.asInt() < range[0] || value.asInt() > range[1]) {
                throw CloudException.badRequest("schedule.%s must be an integer from %d to %d, not %s", field.getKey(), range[0], range[1], value);
            }
        }
    }

    static boolean matches(JsonNode schedule, Instant instant) {
        ZonedDateTime t = instant.atZone(ZoneOffset.UTC);
        return field(schedule, "minute", t.getMinute()) && field(schedule, "hour", t.getHour()) && field(schedule, "dom", t.getDayOfMonth())
                && field(schedule, "month", t.getMonthValue()) && field(schedule, "dow", t.getDayOfWeek().getValue() - 1);
    }

    private static boolean field(JsonNode schedule, String name, int actual) {
        JsonNode value = schedule.get(name);
        return value == null || value.isNull() || value.asInt() == actual;
    }
}
