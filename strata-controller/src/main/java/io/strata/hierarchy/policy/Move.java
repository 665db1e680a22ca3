package io.strata.hierarchy.policy;

/** One live migration of a plan: VM {@code vmId} from local controller {@code from} to {@code to} (ids). */
public record Move(String vmId, String from, String to) {}
