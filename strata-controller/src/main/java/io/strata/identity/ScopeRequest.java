package io.strata.identity;

/**
 * The scope asked for in an authentication request: a project (by id, or by name within a
 * domain given by id or name), a domain, or nothing (then the user's default project, if any).
 */
public record ScopeRequest(
        String projectId,
        String projectName,
        String projectDomainId,
        String projectDomainName,
        String domainId,
        String domainName,
        boolean explicitlyUnscoped) {
    public static ScopeRequest defaultScope() {
        return new ScopeRequest(null, null, null, null, null, null, false);
    }

    public static ScopeRequest unscoped() {
        return new ScopeRequest(null, null, null, null, null, null, true);
    }

    public static ScopeRequest projectById(String id) {
        return new ScopeRequest(id, null, null, null, null, null, false);
    }

    public static ScopeRequest projectByName(String name, String domainId, String domainName) {
        return new ScopeRequest(null, name, domainId, domainName, null, null, false);
    }

    public boolean wantsProject() {
        return projectId != null || projectName != null;
    }

    public boolean wantsDomain() {
        return domainId != null || domainName != null;
    }
}
