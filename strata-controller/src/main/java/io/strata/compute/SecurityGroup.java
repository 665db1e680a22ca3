package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** A project's security group and its ingress rules. */
public record SecurityGroup(String id, String projectId, String name, String description, List<Rule> rules) {
    public static final String DEFAULT = "default";

    /**
     * One rule: traffic of {@code protocol} (null: any) on ports {@code fromPort..toPort} from
     * {@code cidr}, or from members of {@code remoteGroup} (then cidr is null).
     */
    public record Rule(String id, String groupId, String protocol, Integer fromPort, Integer toPort, String cidr, SecurityGroup.Ref remoteGroup) {}

    /** Another group named by a rule. */
    public record Ref(String id, String name, String projectId) {}

    public SecurityGroup {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        rules = List.copyOf(rules);
    }
}
