package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;

/** An asynchronous QMP event such as SHUTDOWN, STOP, RESUME, RESET or POWERDOWN. */
public record QmpEvent(String name, JsonNode data) {
    public QmpEvent {
        requireNonNull(name, "name is null");
        requireNonNull(data, "data is null");
    }

    /** True for SHUTDOWN events the guest itself caused (ACPI power-off, halt), not the host. */
    public boolean isGuestShutdown() {
        return name.equals("SHUTDOWN") && data.path("guest").asBoolean(false);
    }
}
