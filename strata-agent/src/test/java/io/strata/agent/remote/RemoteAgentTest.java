package io.strata.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.agent.BootImages;
import io.strata.compute.PowerState;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real agent server (fake driver) on a free port, driven through the controller's {@link RemoteAgent}. */
class RemoteAgentTest {
    private static final String TOKEN = "test-token";

    @TempDir
    Path dir;

    private AgentServer server;

    @BeforeEach
    void start() throws Exception {
        // No controller listens there: the agent keeps trying to register, which this test does not need.
        int nobody;
        try (ServerSocket socket = new ServerSocket(0)) {
            nobody = socket.getLocalPort();
        }
        server = AgentServer.start(new AgentServer.Settings(List.of("http://127.0.0.1:" + nobody), "remote-1", "fake", dir, "127.0.0.1", 0,
                null, TOKEN, Duration.ofSeconds(5), 8, 16_384, 100, Duration.ZERO, "auto"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static VmSpec spec(String id) {
        return new VmSpec(id, "vm-" + id, "vm-" + id, 2, 512, 1, null, "#cloud-config".getBytes(StandardCharsets.UTF_8),
                Map.of("k", "v"), Map.of(), new NetworkSpec("fa:16:3e:00:00:02", "10.0.0.2", 16, "10.0.0.1", List.of("10.0.2.3"), 0),
                Map.of(), 0);
    }

    @Test
    void theAgentApiWorksOverHttp() {
        RemoteAgent agent = new RemoteAgent("remote-1", server.url(), TOKEN);
        assertThat(agent.describe().hostname()).isEqualTo("remote-1");
        assertThat(agent.describe().vcpus()).isEqualTo(8);

        VmInfo spawned = agent.spawn(spec("a1"), BootImages.none());
        assertThat(spawned.id()).isEqualTo("a1");
        assertThat(spawned.powerState()).isEqualTo(PowerState.RUNNING);
        assertThat(agent.find("a1")).map(VmInfo::powerState).contains(PowerState.RUNNING);
        assertThat(agent.discover()).extracting(VmInfo::id).containsExactly("a1");
        assertThat(agent.consoleLog("a1", 10)).contains("vm-a1");

        assertThat(agent.act("a1", VmAction.STOP).powerState()).isEqualTo(PowerState.SHUTDOWN);
        // The agent's own errors come back as the same exceptions a local agent throws.
        assertThatThrownBy(() -> agent.act("a1", VmAction.STOP)).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThatThrownBy(() -> agent.act("nope", VmAction.START)).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));

        agent.destroy("a1");
        assertThat(agent.find("a1")).isEmpty();
        assertThat(agent.discover()).isEmpty();
    }

    @Test
    void aCloneOfAnotherFakeAgentsImageStartsFromItsEmptyCopy() throws Exception {
        Path otherDir = dir.resolve("other");
        int nobody;
        try (ServerSocket socket = new ServerSocket(0)) {
            nobody = socket.getLocalPort();
        }
        try (AgentServer other = AgentServer.start(new AgentServer.Settings(List.of("http://127.0.0.1:" + nobody), "remote-2", "fake",
                otherDir, "127.0.0.1", 0, null, TOKEN, Duration.ofSeconds(5), 8, 16_384, 100, Duration.ZERO, "auto"))) {
            RemoteAgent blessing = new RemoteAgent("remote-1", server.url(), TOKEN);
            blessing.spawn(spec("s1"), BootImages.none());
            io.strata.hypervisor.LiveImageRef blessed = blessing.bless("s1", "image-1");
            // As the controller's store gives it: named by the live image's id.
            io.strata.hypervisor.LiveImageRef image = new io.strata.hypervisor.LiveImageRef("image-1", blessed.dir(), blessed.vcpus(),
                    blessed.memoryMb(), blessed.attributes());
            // The fake's images have no files: the other host's copy is an empty directory, and the clone runs.
            VmInfo clone = new RemoteAgent("remote-2", other.url(), TOKEN).launch(image, spec("c1"),
                    new io.strata.agent.LiveImageOrigin("remote-1", server.url()));
            assertThat(clone.powerState()).isEqualTo(PowerState.RUNNING);
            assertThat(otherDir.resolve("live-image-copies").resolve("image-1")).isEmptyDirectory();
            new RemoteAgent("remote-2", other.url(), TOKEN).discardLiveImage("image-1");
            assertThat(otherDir.resolve("live-image-copies").resolve("image-1")).doesNotExist();
        }
    }

    @Test
    void liveImageFilesNeedTheTokenAndAPlainId() throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.URI files = java.net.URI.create(server.url() + "/agent/v1/live-images/image-1/files");
        assertThat(http.send(java.net.http.HttpRequest.newBuilder(files).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
                .statusCode()).isEqualTo(401);
        java.net.URI escape = java.net.URI.create(server.url() + "/agent/v1/live-images/..%2F..%2Fetc/files/passwd");
        assertThat(http.send(java.net.http.HttpRequest.newBuilder(escape).header(AgentWire.TOKEN_HEADER, TOKEN).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode()).isIn(400, 404);
        java.net.URI unknown = java.net.URI.create(server.url() + "/agent/v1/live-images/image-1/files/ram");
        assertThat(http.send(java.net.http.HttpRequest.newBuilder(unknown).header(AgentWire.TOKEN_HEADER, TOKEN).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
    }

    @Test
    void aWrongTokenIsRefused() {
        RemoteAgent intruder = new RemoteAgent("remote-1", server.url(), "wrong");
        assertThatThrownBy(intruder::describe).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED));
        assertThatThrownBy(() -> intruder.spawn(spec("x"), BootImages.none())).isInstanceOf(HypervisorException.class);
        assertThat(new RemoteAgent("remote-1", server.url(), TOKEN).discover()).isEmpty();
    }

    @Test
    void anUnreachableAgentIsServiceUnavailable() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        RemoteAgent gone = new RemoteAgent("gone", "http://127.0.0.1:" + closed, TOKEN);
        assertThatThrownBy(gone::discover).isInstanceOfSatisfying(HypervisorException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.SERVICE_UNAVAILABLE);
            assertThat(e.getMessage()).contains("gone").contains("cannot be reached");
        });
    }

    @Test
    void theAgentsLogLinesOfACallCarryTheRequestIdOfTheApiCall() throws Exception {
        // The controller sends the API call's request id (see the next test); the agent serving
        // the call logs under it. A clone of another agent's live image makes the agent log its fetch.
        ch.qos.logback.classic.Logger cacheLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                io.strata.agent.liveimage.LiveImageCache.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = new ch.qos.logback.core.read.ListAppender<>() {
            @Override
            protected void append(ch.qos.logback.classic.spi.ILoggingEvent event) {
                event.prepareForDeferredProcessing();   // the MDC of the thread that logged, not of the one that reads
                super.append(event);
            }
        };
        captured.start();
        cacheLog.addAppender(captured);
        int nobody;
        try (ServerSocket socket = new ServerSocket(0)) {
            nobody = socket.getLocalPort();
        }
        String requestId = "req-7e57a9e0-0000-4000-8000-000000000007";
        try (AgentServer other = AgentServer.start(new AgentServer.Settings(List.of("http://127.0.0.1:" + nobody), "remote-3", "fake",
                dir.resolve("other"), "127.0.0.1", 0, null, TOKEN, Duration.ofSeconds(5), 8, 16_384, 100, Duration.ZERO, "auto"))) {
            RemoteAgent blessing = new RemoteAgent("remote-1", server.url(), TOKEN);
            blessing.spawn(spec("s2"), BootImages.none());
            io.strata.hypervisor.LiveImageRef blessed = blessing.bless("s2", "image-2");
            io.strata.hypervisor.LiveImageRef image = new io.strata.hypervisor.LiveImageRef("image-2", blessed.dir(), blessed.vcpus(),
                    blessed.memoryMb(), blessed.attributes());
            org.slf4j.MDC.put("request_id", requestId);
            try {
                new RemoteAgent("remote-3", other.url(), TOKEN).launch(image, spec("c2"), new io.strata.agent.LiveImageOrigin("remote-1",
                        server.url()));
            } finally {
                org.slf4j.MDC.remove("request_id");
            }
        } finally {
            cacheLog.detachAppender(captured);
        }
        assertThat(captured.list).filteredOn(e -> e.getFormattedMessage().startsWith("live image image-2: fetching"))
                .extracting(e -> e.getMDCPropertyMap().get("request_id")).containsExactly(requestId);
        // Not the caller's thread: the agent's server thread logged it.
        assertThat(captured.list).filteredOn(e -> e.getFormattedMessage().startsWith("live image image-2: fetching"))
                .extracting(ch.qos.logback.classic.spi.ILoggingEvent::getThreadName).doesNotContain(Thread.currentThread().getName());
    }

    @Test
    void callsCarryTheRequestIdOfTheApiCallTheyServe() throws Exception {
        com.sun.net.httpserver.HttpServer stub = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        java.util.concurrent.atomic.AtomicReference<String> seen = new java.util.concurrent.atomic.AtomicReference<>();
        stub.createContext("/", exchange -> {
            seen.set(exchange.getRequestHeaders().getFirst(AgentWire.REQUEST_ID_HEADER));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        stub.start();
        try {
            RemoteAgent agent = new RemoteAgent("stub", "http://127.0.0.1:" + stub.getAddress().getPort(), TOKEN);
            org.slf4j.MDC.put("request_id", "req-4f1c2a3b-0000-4000-8000-000000000001");
            try {
                agent.destroy("vm-1");
            } finally {
                org.slf4j.MDC.remove("request_id");
            }
            assertThat(seen.get()).isEqualTo("req-4f1c2a3b-0000-4000-8000-000000000001");
            agent.destroy("vm-1");
            assertThat(seen.get()).isNull();
        } finally {
            stub.stop(0);
        }
    }
}
