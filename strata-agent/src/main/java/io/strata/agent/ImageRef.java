package io.strata.agent;

import static java.util.Objects.requireNonNull;

/** An image a VM boots from, as the image service knows it; the agent turns it into a local file. */
public record ImageRef(String id, String diskFormat, String checksum) {
    public ImageRef {
        requireNonNull(id, "id is null");
    }
}
