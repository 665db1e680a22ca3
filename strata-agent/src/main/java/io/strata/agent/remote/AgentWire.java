package io.strata.agent.remote;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.agent.BootImages;
import io.strata.hypervisor.HostInfo;
import io.strata.hypervisor.LiveImageRef;
import io.strata.hypervisor.MigrationSource;
import io.strata.hypervisor.MigrationTarget;
import io.strata.hypervisor.VmEvent;
import io.strata.hypervisor.VmSpec;

/**
 * The messages agents and controllers exchange over HTTP. The domain records travel as they are
 * (Jackson reads records); these wrap the calls that take more than one of them.
 */
public final class AgentWire {
    /** Header carrying the shared secret, in both directions. */
    public static final String TOKEN_HEADER = "X-Strata-Agent-Token";
    /** The API request an agent call serves (x-openstack-request-id), for the agent's logs. */
    public static final String REQUEST_ID_HEADER = "X-OpenStack-Request-Id";
    /** Prefix of the agent's own API. */
    public static final String AGENT_PREFIX = "/agent/v1";
    /** Prefix of the controller's endpoints for agents. */
    public static final String CONTROLLER_PREFIX = "/internal/agents";

    public static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private AgentWire() {}

    public record SpawnRequest(VmSpec spec, BootImages images) {}

    /** {@code origin} null: the image's files are where {@code image} says (older controllers send none). */
    public record LaunchRequest(LiveImageRef image, VmSpec spec, io.strata.agent.LiveImageOrigin origin) {}

    /** {@code liveImageId} and {@code origin}: for a live-image clone, which image and where it was blessed (else null). */
    public record IncomingRequest(VmSpec spec, MigrationSource source, BootImages images, String liveImageId,
            io.strata.agent.LiveImageOrigin origin) {}

    public record ActionRequest(String action) {}

    public record BlessRequest(String liveImageId) {}

    /** {@code path}: where on the agent's host to write; null lets the agent choose and serve the file (see SnapshotResponse). */
    public record SnapshotRequest(String path) {}

    /** {@code name}: for a snapshot the agent placed itself, the file to fetch at /snapshots/{name} (then delete). */
    public record SnapshotResponse(String diskFormat, String name) {}

    /** An agent joining: what its host offers and the URL controllers reach it at. */
    public record Registration(String hostName, String agentUrl, HostInfo host) {}

    public record Heartbeat(String hostName) {}

    /**
     * A controller's answer to a heartbeat: the group manager the host belongs to and the URL it
     * listens at, which the agent heartbeats from then on (Snooze's local controllers heartbeat
     * their group manager); both null when the hierarchy is one process (any controller will do).
     */
    public record HeartbeatReply(String groupManagerId, String groupManagerUrl) {}

    public record Event(String hostName, VmEvent event) {}

    public record MigrateOut(MigrationTarget target) {}

    /**
     * Cold move, destination side: the disk path is the source host's; {@code origin} says where
     * the disk is when the destination may not see that file (null: it does, shared storage).
     */
    public record CreateFromRequest(VmSpec spec, BootImages images, io.strata.hypervisor.ColdDisk disk, boolean start,
            io.strata.agent.LiveImageOrigin origin) {}

    /** Error body of both sides: the {@link io.strata.core.ErrorCode} name and the message. */
    public record Error(String code, String message) {}
}
