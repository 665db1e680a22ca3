package io.strata.hierarchy;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.store.Database;
import io.strata.store.TestDatabases;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Submissions survive in the database (H2 and PostgreSQL): what a new leader finishes and what responses read. */
class SubmissionStoreTest {
    static java.util.stream.Stream<TestDatabases.Kind> kinds() {
        return TestDatabases.kinds();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void keepsSubmissionsAndFindsTheUnfinished(TestDatabases.Kind kind) {
        try (Database database = TestDatabases.open(kind)) {
            SubmissionStore store = new SubmissionStore(database.jdbi());
            List<VmTemplate> templates = List.of(
                    new VmTemplate("a", 1, 200000, null, null, "<domain type='kvm'/>", 12800, 6400, null),
                    new VmTemplate("b", 2, 400000, "img", null, null, 0, 0, null));
            store.insert("task-1", templates, Instant.parse("2026-11-23T00:00:00Z"));
            assertThat(store.unfinished()).containsExactly("task-1");

            store.setServer("task-1", 0, "server-a");
            store.setVmError("task-1", 1, VmErrorCode.INVALID_HOST_ID.name());
            assertThat(store.unfinished()).isEmpty();

            SubmissionStore.Submission submission = store.find("task-1").orElseThrow();
            assertThat(submission.vms()).hasSize(2);
            assertThat(submission.vms().get(0).serverId()).isEqualTo("server-a");
            assertThat(submission.vms().get(0).requested()).isEqualTo(new io.strata.hierarchy.Capacity(1, 200000, 12800, 6400));
            assertThat(submission.vms().get(0).xml()).isEqualTo("<domain type='kvm'/>");
            assertThat(submission.vms().get(1).errorCode()).isEqualTo("INVALID_HOST_ID");
            assertThat(store.findByServer("server-a")).map(SubmissionStore.SubmittedVm::name).contains("a");
            assertThat(store.networkDemandByServer().get("server-a")).containsExactly(12800, 6400);
            assertThat(store.find("task-2")).isEmpty();
        }
    }
}
