package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The QMP client against a real QEMU with no machine at all ({@code -machine none}). */
@Tag("qemu")
class QmpClientTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private Path dir;
    private Path socket;
    private Process qemu;

    @BeforeEach
    void startQemu() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "strata-qmp-");
        socket = dir.resolve("qmp.sock");
        qemu = new ProcessBuilder("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                "-chardev", "socket,id=qmp,path=" + socket + ",server=on,wait=off", "-mon", "chardev=qmp,mode=control")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.out").toFile()).start();
        await().atMost(TIMEOUT).until(() -> Files.exists(socket));
    }

    @AfterEach
    void stopQemu() throws InterruptedException {
        qemu.destroyForcibly();
        qemu.waitFor(5, TimeUnit.SECONDS);
        TestGuests.deleteTree(dir);
    }

    @Test
    void negotiatesAndRunsCommands() {
        try (QmpClient client = QmpClient.connect(socket, "test", TIMEOUT)) {
            assertThat(client.version().path("qemu").path("major").asInt()).isGreaterThanOrEqualTo(7);
            assertThat(client.execute("query-status").path("status").asText()).isIn("prelaunch", "running");
            assertThat(client.execute("query-name")).isNotNull();
            assertThat(client.execute("qom-list", Map.of("path", "/machine"))).isNotEmpty();
        }
    }

    @Test
    void submittedCommandsRunInOrderAndAFailedOneDoesNotStopTheNext() {
        try (QmpClient client = QmpClient.connect(socket, "test", TIMEOUT)) {
            // All sent before any reply is read: QEMU runs them one after the other.
            CompletableFuture<com.fasterxml.jackson.databind.JsonNode> add = client.submit("object-add",
                    Map.of("qom-type", "memory-backend-ram", "id", "m1", "size", 1 << 20));
            CompletableFuture<com.fasterxml.jackson.databind.JsonNode> again = client.submit("object-add",
                    Map.of("qom-type", "memory-backend-ram", "id", "m1", "size", 1 << 20));
            CompletableFuture<com.fasterxml.jackson.databind.JsonNode> list = client.submit("qom-list", Map.of("path", "/objects"));
            assertThat(client.await(add, "object-add")).isNotNull();
            assertThatThrownBy(() -> client.await(again, "object-add"))
                    .isInstanceOfSatisfying(QmpException.class, e -> assertThat(e.errorClass()).isEqualTo("GenericError"))
                    .hasMessageContaining("object-add");
            assertThat(client.await(list, "qom-list").findValuesAsText("name")).contains("m1");
        }
    }

    @Test
    void qmpErrorsBecomeExceptionsWithTheirClass() {
        try (QmpClient client = QmpClient.connect(socket, "test", TIMEOUT)) {
            assertThatThrownBy(() -> client.execute("no-such-command"))
                    .isInstanceOfSatisfying(QmpException.class, e -> assertThat(e.errorClass()).isEqualTo("CommandNotFound"))
                    .hasMessageContaining("no-such-command");
            assertThatThrownBy(() -> client.execute("qom-list", Map.of("path", "/nowhere")))
                    .isInstanceOfSatisfying(QmpException.class, e -> assertThat(e.errorClass()).isEqualTo("DeviceNotFound"));
            // The connection is still usable after errors.
            assertThat(client.execute("query-status").has("status")).isTrue();
        }
    }

    @Test
    void deliversEventsToTheListenerAndToWaitersRegisteredBeforeTheCommand() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        try (QmpClient client = QmpClient.connect(socket, "test", TIMEOUT, event -> {
            events.add(event.name());
        }, () -> { })) {
            CompletableFuture<QmpEvent> stopped = client.nextEvent("STOP");
            client.execute("stop");
            assertThat(stopped.get(5, TimeUnit.SECONDS).name()).isEqualTo("STOP");
            CompletableFuture<QmpEvent> resumed = client.nextEvent("RESUME");
            client.execute("cont");
            assertThat(resumed.get(5, TimeUnit.SECONDS).name()).isEqualTo("RESUME");
            await().atMost(TIMEOUT).until(() -> events.containsAll(List.of("STOP", "RESUME")));
        }
    }

    @Test
    void deliversResetAndShutdownEventsWithTheirData() throws Exception {
        List<QmpEvent> events = new CopyOnWriteArrayList<>();
        try (QmpClient client = QmpClient.connect(socket, "test", TIMEOUT, events::add, () -> { })) {
            CompletableFuture<QmpEvent> reset = client.nextEvent("RESET");
            client.execute("system_reset");
            assertThat(reset.get(5, TimeUnit.SECONDS).name()).isEqualTo("RESET");

            // The SHUTDOWN that quit causes may come before quit's own reply; the waiter still gets it.
            CompletableFuture<QmpEvent> shutdown = client.nextEvent("SHUTDOWN");
            client.execute("quit");
            QmpEvent event = shutdown.get(5, TimeUnit.SECONDS);
            assertThat(event.name()).isEqualTo("SHUTDOWN");
            assertThat(event.data().path("reason").asText()).isEqualTo("host-qmp-quit");
            await().atMost(TIMEOUT).until(() -> events.stream().map(QmpEvent::name).toList().containsAll(List.of("RESET", "SHUTDOWN")));
        }
    }

    @Test
    void aListenerMayIssueCommandsWithoutBlockingTheReader() {
        AtomicInteger answered = new AtomicInteger();
        QmpClient[] holder = new QmpClient[1];
        try (QmpClient client = QmpClient.connect(socket, "test", TIMEOUT, event -> {
            holder[0].execute("query-status");
            answered.incrementAndGet();
        }, () -> { })) {
            holder[0] = client;
            client.execute("stop");
            await().atMost(TIMEOUT).untilAtomic(answered, org.hamcrest.Matchers.equalTo(1));
        }
    }

    @Test
    void noticesWhenQemuExitsAndFailsLaterCommandsClearly() throws Exception {
        AtomicInteger disconnects = new AtomicInteger();
        QmpClient client = QmpClient.connect(socket, "test", TIMEOUT, event -> { }, disconnects::incrementAndGet);
        CompletableFuture<QmpEvent> shutdown = client.nextEvent("SHUTDOWN");
        client.execute("quit");
        shutdown.exceptionally(e -> null).get(5, TimeUnit.SECONDS);
        client.closedFuture().get(5, TimeUnit.SECONDS);
        assertThat(client.isOpen()).isFalse();
        await().atMost(TIMEOUT).untilAtomic(disconnects, org.hamcrest.Matchers.equalTo(1));
        assertThatThrownBy(() -> client.execute("query-status"))
                .isInstanceOfSatisfying(QmpException.class, e -> assertThat(e.errorClass()).isEqualTo("Closed"));
        assertThatThrownBy(() -> client.nextEvent("STOP").get(1, TimeUnit.SECONDS)).hasCauseInstanceOf(QmpException.class);
        assertThat(qemu.waitFor(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void connectingToAMissingSocketSaysWhich() {
        Path missing = dir.resolve("missing.sock");
        assertThatThrownBy(() -> QmpClient.connect(missing, "ghost", TIMEOUT))
                .isInstanceOf(QmpException.class).hasMessageContaining(missing.toString()).hasMessageContaining("ghost");
    }
}
