package io.strata.identity;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Who is calling, established from a validated token: the user, the scope the token was issued
 * for (a project, a domain, or none) and the roles held on that scope. Every API call is scoped
 * to {@link #projectId()}; admins may widen that (all_tenants) where the policy allows.
 */
public record AuthContext(
        String userId,
        String userName,
        String userDomainId,
        String userDomainName,
        String projectId,
        String projectName,
        String projectDomainId,
        String projectDomainName,
        String domainId,
        String domainName,
        Set<String> roles,
        List<String> methods,
        String auditId,
        Instant issuedAt,
        Instant expiresAt) {
    public AuthContext {
        requireNonNull(userId, "userId is null");
        roles = Set.copyOf(roles);
        methods = List.copyOf(methods);
    }

    public boolean isAdmin() {
        return roles.contains(Roles.ADMIN);
    }

    public boolean hasRole(String role) {
        return roles.contains(role);
    }

    public boolean isProjectScoped() {
        return projectId != null;
    }

    /** Member or admin on the scoped project: may change things, not only read them. */
    public boolean canWrite() {
        return roles.contains(Roles.ADMIN) || roles.contains(Roles.MEMBER);
    }

    public boolean isExpired(Instant now) {
        return !expiresAt.isAfter(now);
    }
}
