package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A server as stored: identity, the flavor it was built with, where it runs and in which state.
 * {@code host} is null until the scheduler has placed it.
 */
public record Server(
        String id,
        String name,
        String projectId,
        String userId,
        Flavor flavor,
        String imageId,
        String keyName,
        String host,
        String availabilityZone,
        String requestedZone,
        VmState vmState,
        TaskState taskState,
        PowerState powerState,
        int progress,
        String userData,
        String accessIpv4,
        String accessIpv6,
        String configDrive,
        boolean locked,
        String description,
        String hostname,
        String reservationId,
        int launchIndex,
        String macAddress,
        String ipAddress,
        int sshPort,
        Fault fault,
        Instant createdAt,
        Instant updatedAt,
        Instant launchedAt,
        Instant terminatedAt,
        boolean deleted,
        Map<String, String> metadata,
        List<String> tags) {
    public Server {
        requireNonNull(id, "id is null");
        requireNonNull(vmState, "vmState is null");
        requireNonNull(powerState, "powerState is null");
        metadata = Map.copyOf(metadata);
        tags = List.copyOf(tags);
    }

    public String status() {
        return ServerStatus.of(vmState, taskState);
    }
}
