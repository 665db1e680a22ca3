package io.strata.identity;

/** A role held by a user on a project ({@code targetType} "project") or a domain ("domain"). */
public record RoleAssignment(String userId, String targetType, String targetId, String roleId) {
    public static final String PROJECT = "project";
    public static final String DOMAIN = "domain";
}
