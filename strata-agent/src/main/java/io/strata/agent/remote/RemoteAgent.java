package io.strata.agent.remote;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JavaType;
import io.strata.agent.AgentApi;
import io.strata.agent.BootImages;
import io.strata.core.ErrorCode;
import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.HypervisorException;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.VmAction;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmInfo;
import io.strata.hypervisor.VmSpec;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The controller's handle on an agent running on another host: {@link AgentApi} over HTTP.
 * Errors the agent reports come back as the same {@link HypervisorException} a local agent
 * throws; an agent that cannot be reached is {@link ErrorCode#SERVICE_UNAVAILABLE}. VM events do
 * not come through here: the agent posts them to a controller ({@code /internal/agents/events}).
 */
public final class RemoteAgent implements AgentApi {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** A spawn or a live migration may take minutes on a real host. */
    private static final Duration CALL_TIMEOUT = Duration.ofMinutes(10);
    /** A snapshot of a large disk takes a while to stream. */
    private static final Duration TRANSFER_TIMEOUT = Duration.ofHours(1);

    private final String hostName;
    private final URI baseUrl;
    private final String token;
    private final HttpClient http;

    public RemoteAgent(String hostName, String agentUrl, String token) {
        this.hostName = requireNonNull(hostName, "hostName is null");
        String url = requireNonNull(agentUrl, "agentUrl is null");
        this.baseUrl = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
        this.token = requireNonNull(token, "token is null");
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
    }

    @Override
    public String agentUrl() {
        return baseUrl.toString();
    }

    @Override
    public String hostName() {
        return hostName;
    }

    @Override
    public HostInfo describe() {
        return call("GET", "/host", null, HostInfo.class);
    }

    @Override
    public VmInfo spawn(VmSpec spec, BootImages images) {
        return call("POST", "/vms", new AgentWire.SpawnRequest(spec, images), VmInfo.class);
    }

    @Override
    public VmInfo rebuildFromSharedDisk(VmSpec spec, BootImages images) {
        return call("POST", "/vms/" + enc(spec.id()) + "/shared-rebuild", new AgentWire.SpawnRequest(spec, images), VmInfo.class);
    }

    @Override
    public VmInfo act(String vmId, VmAction action) {
        return call("POST", "/vms/" + enc(vmId) + "/action", new AgentWire.ActionRequest(action.name()), VmInfo.class);
    }

    @Override
    public void destroy(String vmId) {
        call("DELETE", "/vms/" + enc(vmId), null, Void.class);
    }

    @Override
    public Optional<VmInfo> find(String vmId) {
        try {
            return Optional.of(call("GET", "/vms/" + enc(vmId), null, VmInfo.class));
        } catch (HypervisorException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public String consoleLog(String vmId, int lines) {
        return call("GET", "/vms/" + enc(vmId) + "/console?lines=" + lines, null, String.class);
    }

    /**
     * {@code target} is on the controller's host: the agent writes the snapshot on its own host,
     * this handle streams it into {@code target} (never whole in memory) and has the agent delete
     * its copy, so controller and agent need no shared storage.
     */
    @Override
    public String snapshotDisk(String vmId, Path target) {
        AgentWire.SnapshotResponse written = call("POST", "/vms/" + enc(vmId) + "/snapshot", new AgentWire.SnapshotRequest(null),
                AgentWire.SnapshotResponse.class);
        String path = AgentWire.AGENT_PREFIX + "/snapshots/" + enc(written.name());
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(TRANSFER_TIMEOUT)
                    .header(AgentWire.TOKEN_HEADER, token).GET().build();
            HttpResponse<Path> response = http.send(request, HttpResponse.BodyHandlers.ofFile(target));
            if (response.statusCode() != 200) {
                java.nio.file.Files.deleteIfExists(target);
                throw new HypervisorException(codeOf(null, response.statusCode()), "agent of host " + hostName + " answered "
                        + response.statusCode() + " for snapshot " + written.name());
            }
        } catch (IOException e) {
            throw new HypervisorException(ErrorCode.SERVICE_UNAVAILABLE, "cannot fetch the snapshot of VM " + vmId + " from host " + hostName
                    + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted while fetching a snapshot from host " + hostName, e);
        } finally {
            try {
                call("DELETE", "/snapshots/" + enc(written.name()), null, Void.class);
            } catch (RuntimeException e) {
                // The agent keeps a file it will never serve again; it is only disk space.
            }
        }
        return written.diskFormat();
    }

    @Override
    public List<VmInfo> discover() {
        return call("GET", "/vms", null, AgentWire.MAPPER.getTypeFactory().constructType(new TypeReference<List<VmInfo>>() {}));
    }

    @Override
    public LiveImageRef bless(String vmId, String liveImageId) {
        return call("POST", "/vms/" + enc(vmId) + "/bless", new AgentWire.BlessRequest(liveImageId), LiveImageRef.class);
    }

    @Override
    public VmInfo launch(LiveImageRef image, VmSpec spec, io.strata.agent.LiveImageOrigin origin) {
        return call("POST", "/launch", new AgentWire.LaunchRequest(image, spec, origin), VmInfo.class);
    }

    @Override
    public Optional<io.strata.agent.liveimage.LiveImageCache.FetchProgress> liveImageFetch(String liveImageId) {
        try {
            return Optional.of(call("GET", "/live-images/" + enc(liveImageId) + "/fetch", null,
                    io.strata.agent.liveimage.LiveImageCache.FetchProgress.class));
        } catch (HypervisorException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public void discardLiveImage(String liveImageId) {
        call("DELETE", "/live-images/" + enc(liveImageId), null, Void.class);
    }

    @Override
    public MigrationSource migrationSource(String vmId) {
        return call("GET", "/vms/" + enc(vmId) + "/migration-source", null, MigrationSource.class);
    }

    @Override
    public MigrationTarget prepareIncoming(VmSpec spec, MigrationSource source, BootImages images) {
        return call("POST", "/incoming", new AgentWire.IncomingRequest(spec, source, images, null, null), MigrationTarget.class);
    }

    @Override
    public MigrationTarget prepareIncomingClone(VmSpec spec, MigrationSource source, String liveImageId, io.strata.agent.LiveImageOrigin origin) {
        return call("POST", "/incoming", new AgentWire.IncomingRequest(spec, source, null, liveImageId, origin), MigrationTarget.class);
    }

    @Override
    public void migrateOut(String vmId, MigrationTarget target) {
        call("POST", "/vms/" + enc(vmId) + "/migrate-out", new AgentWire.MigrateOut(target), Void.class);
    }

    @Override
    public VmInfo completeIncoming(String vmId) {
        return call("POST", "/vms/" + enc(vmId) + "/complete-incoming", null, VmInfo.class);
    }

    @Override
    public io.strata.hypervisor.VmDiagnostics diagnostics(String vmId) {
        return call("GET", "/vms/" + enc(vmId) + "/diagnostics", null, io.strata.hypervisor.VmDiagnostics.class);
    }

    @Override
    public io.strata.hypervisor.ColdDisk coldDisk(String vmId) {
        return call("GET", "/vms/" + enc(vmId) + "/cold-disk", null, io.strata.hypervisor.ColdDisk.class);
    }

    /**
     * The disk is named by its path on the source host: a cold move between remote hosts needs
     * storage both see (as Nova's shared-storage cold migration); the destination agent answers
     * an error when the file is not there.
     */
    @Override
    public VmInfo createFrom(VmSpec spec, BootImages images, io.strata.hypervisor.ColdDisk disk, boolean start) {
        return createFrom(spec, images, disk, start, null);
    }

    @Override
    public VmInfo createFrom(VmSpec spec, BootImages images, io.strata.hypervisor.ColdDisk disk, boolean start,
            io.strata.agent.LiveImageOrigin origin) {
        return call("POST", "/cold-incoming", new AgentWire.CreateFromRequest(spec, images, disk, start, origin), VmInfo.class);
    }

    /** Events of a remote host reach the controller through its own endpoint, not through this handle. */
    @Override
    public void subscribe(Consumer<VmEvent> listener) {}

    private <T> T call(String method, String path, Object body, Class<T> type) {
        return call(method, path, body, AgentWire.MAPPER.getTypeFactory().constructType(type));
    }

    private <T> T call(String method, String path, Object body, JavaType type) {
        HttpResponse<byte[]> response;
        try {
            HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(AgentWire.MAPPER.writeValueAsBytes(body));
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + AgentWire.AGENT_PREFIX + path))
                    .timeout(CALL_TIMEOUT)
                    .header(AgentWire.TOKEN_HEADER, token)
                    .header("Content-Type", "application/json")
                    .method(method, publisher);
            String requestId = org.slf4j.MDC.get("request_id");
            if (requestId != null) {
                builder.header(AgentWire.REQUEST_ID_HEADER, requestId);
            }
            HttpRequest request = builder.build();
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new HypervisorException(ErrorCode.SERVICE_UNAVAILABLE, "agent of host " + hostName + " at " + baseUrl
                    + " cannot be reached: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted while calling the agent of host " + hostName, e);
        }
        try {
            if (response.statusCode() >= 400) {
                AgentWire.Error error = errorOf(response);
                throw new HypervisorException(codeOf(error.code(), response.statusCode()), error.message());
            }
            if (type.getRawClass() == Void.class) {
                return null;
            }
            if (type.getRawClass() == String.class) {
                @SuppressWarnings("unchecked")
                T text = (T) new String(response.body(), StandardCharsets.UTF_8);
                return text;
            }
            return AgentWire.MAPPER.readValue(response.body(), type);
        } catch (IOException e) {
            throw new HypervisorException("unreadable answer from the agent of host " + hostName + ": " + e.getMessage(), e);
        }
    }

    private static AgentWire.Error errorOf(HttpResponse<byte[]> response) {
        try {
            return AgentWire.MAPPER.readValue(response.body(), AgentWire.Error.class);
        } catch (IOException e) {
            return new AgentWire.Error(null, "HTTP " + response.statusCode() + ": " + new String(response.body(), StandardCharsets.UTF_8));
        }
    }

    static ErrorCode codeOf(String name, int status) {
        if (name != null) {
            try {
                return ErrorCode.valueOf(name);
            } catch (IllegalArgumentException ignored) {
                // an agent of a newer version: fall back to the status
            }
        }
        for (ErrorCode code : ErrorCode.values()) {
            if (code.httpStatus() == status) {
                return code;
            }
        }
        return ErrorCode.INTERNAL;
    }

    private static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
