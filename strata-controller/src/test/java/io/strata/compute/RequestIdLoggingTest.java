package io.strata.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The request id a client sees is on the log lines of the background work its request started. */
class RequestIdLoggingTest {
    @Test
    void buildLogLinesCarryTheCreateRequestsId() {
        Logger managerLog = (Logger) LoggerFactory.getLogger(ComputeManager.class);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        managerLog.addAppender(captured);
        try (TestCloud cloud = TestCloud.start()) {
            ApiClient admin = cloud.admin();
            String image = Servers.uploadImage(admin, "cirros");
            admin.post("/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"huge\", \"id\": \"huge\", \"ram\": 100000000, \"vcpus\": 1, "
                    + "\"disk\": 1}}").expect(200);
            ApiClient.Response created = admin.post("/compute/v2.1/servers", "{\"server\": {\"name\": \"too-big\", \"imageRef\": \""
                    + image + "\", \"flavorRef\": \"huge\"}}").expect(202);
            String requestId = created.header("x-openstack-request-id");
            String id = created.json().at("/server/id").asText();
            Servers.waitFor(admin, id, "ERROR");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(captured.list)
                    .filteredOn(e -> e.getFormattedMessage().contains(id) && e.getFormattedMessage().contains("could not be placed"))
                    .extracting(e -> e.getMDCPropertyMap().get("request_id")).containsExactly(requestId));
        } finally {
            managerLog.detachAppender(captured);
        }
    }
}
