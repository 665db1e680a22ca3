package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Coriolis' cron subset: exact values or any, UTC, Monday = 0. */
class CronFieldsTest {
    private static JsonNode schedule(String json) throws Exception {
        return MigrationStore.MAPPER.readTree(json);
    }

    @Test
    void matchesExactFieldsInUtc() throws Exception {
        JsonNode nightly = schedule("{\"minute\": 0, \"hour\": 2}");
        assertThat(CronFields.matches(nightly, Instant.parse("2026-11-23T02:00:00Z"))).isTrue();
        assertThat(CronFields.matches(nightly, Instant.parse("2026-11-23T02:01:00Z"))).isFalse();
        assertThat(CronFields.matches(nightly, Instant.parse("2026-11-23T03:00:00Z"))).isFalse();
        // 2026-11-23 is a Monday: dow 0, as Python's weekday().
        assertThat(CronFields.matches(schedule("{\"dow\": 0}"), Instant.parse("2026-11-23T10:00:00Z"))).isTrue();
        assertThat(CronFields.matches(schedule("{\"dow\": 6}"), Instant.parse("2026-11-23T10:00:00Z"))).isFalse();
        assertThat(CronFields.matches(schedule("{\"dom\": 23, \"month\": 11}"), Instant.parse("2026-11-23T10:00:00Z"))).isTrue();
        assertThat(CronFields.matches(schedule("{}"), Instant.parse("2026-01-01T00:00:00Z"))).isTrue();
    }

    @Test
    void rejectsWhatCoriolisRejects() {
        assertThatThrownBy(() -> CronFields.validate(schedule("{\"minute\": 60}"))).hasMessageContaining("0 to 59");
        assertThatThrownBy(() -> CronFields.validate(schedule("{\"dow\": 7}"))).hasMessageContaining("0 to 6");
        assertThatThrownBy(() -> CronFields.validate(schedule("{\"dom\": 0}"))).hasMessageContaining("1 to 31");
        assertThatThrownBy(() -> CronFields.validate(schedule("{\"hour\": \"2\"}"))).hasMessageContaining("integer");
        assertThatThrownBy(() -> CronFields.validate(schedule("{\"second\": 1}"))).hasMessageContaining("'second' was unexpected");
        assertThatThrownBy(() -> CronFields.validate(null)).hasMessageContaining("schedule is required");
    }
}
