package io.strata.agent;

import static java.util.Objects.requireNonNull;

/**
 * Where a live image's files are when a clone starts on another host: the host that blessed it
 * and the base URL of that host's agent API ({@code http://host:8775}), from which the target
 * host copies them into its own cache. {@code agentUrl} is null when that host runs inside the
 * controller process (the all-in-one's own hosts): the controller then serves the files itself
 * ({@code /internal/agents/hosts/HOST/live-images/ID/files}).
 */
public record LiveImageOrigin(String host, String agentUrl) {
    public LiveImageOrigin {
        requireNonNull(host, "host is null");
    }
}
