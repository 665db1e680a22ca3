package io.strata.image;

import java.time.Instant;

/** A project an image is shared with, and whether it accepted the share. */
public record ImageMember(String imageId, String memberId, String status, Instant createdAt, Instant updatedAt) {}
