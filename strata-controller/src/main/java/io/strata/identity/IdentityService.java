package io.strata.identity;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keystone's core: password authentication, scoped tokens and their validation, and the
 * domain/project/user/role records. Tokens are 256 random bits; only their SHA-256 is stored.
 * Validated tokens are cached briefly so that every API call does not cost a database read.
 */
public final class IdentityService {
    private static final Logger log = LoggerFactory.getLogger(IdentityService.class);
    /** How long a validation result is trusted before roles and revocations are read again. */
    private static final Duration CACHE_TTL = Duration.ofSeconds(30);
    private static final String UNAUTHENTICATED = "The request you have made requires authentication.";

    private final IdentityStore store;
    private final PasswordHasher hasher;
    private final Clock clock;
    private final Duration tokenTtl;
    private final SecureRandom random = new SecureRandom();
    private final ConcurrentHashMap<String, CachedAuth> cache = new ConcurrentHashMap<>();

    private record CachedAuth(AuthContext auth, Instant trustedUntil) {}

    public IdentityService(IdentityStore store, PasswordHasher hasher, Clock clock, Duration tokenTtl) {
        this.store = requireNonNull(store, "store is null");
        this.hasher = requireNonNull(hasher, "hasher is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.tokenTtl = requireNonNull(tokenTtl, "tokenTtl is null");
    }

    public IdentityStore store() {
        return store;
    }

    // ------------------------------------------------------------------ bootstrap

    /**
     * First start: the Default domain, the three standard roles, project and user "admin" with
     * role admin. Idempotent; an existing admin keeps its password. Returns true if it created
     * the admin user. Controllers starting together on one database call it one at a time
     * ({@code Database.exclusively}).
     */
    public boolean bootstrap(String adminPassword) {
        requireNonNull(adminPassword, "adminPassword is null");
        Instant now = now();
        if (store.findDomain(Domain.DEFAULT_ID).isEmpty()) {
            store.insertDomain(new Domain(Domain.DEFAULT_ID, Domain.DEFAULT_NAME, "The default domain", true, now));
        }
        for (String name : List.of(Roles.ADMIN, Roles.MEMBER, Roles.READER)) {
            if (store.findRoleByName(name).isEmpty()) {
                store.insertRole(new Role(newId(), name, "", now));
            }
        }
        Project admin = store.findProjectByName(Domain.DEFAULT_ID, "admin").orElseGet(() -> {
            Project project = new Project(newId(), Domain.DEFAULT_ID, "admin", "Bootstrap project for the cloud administrator", true, now);
            store.insertProject(project);
            return project;
        });
        Optional<User> existing = store.findUserByName(Domain.DEFAULT_ID, "admin");
        User user = existing.orElseGet(() -> {
            User created = new User(newId(), Domain.DEFAULT_ID, "admin", hasher.hash(adminPassword), null, "Cloud administrator", true,
                    admin.id(), now);
            store.insertUser(created);
            return created;
        });
        // As keystone-manage bootstrap: the admin's roles are made sure of at every start, so a
        // first start that died between the user and its roles is completed by the next.
        Role adminRole = store.findRoleByName(Roles.ADMIN).orElseThrow();
        store.assign(new RoleAssignment(user.id(), RoleAssignment.PROJECT, admin.id(), adminRole.id()));
        store.assign(new RoleAssignment(user.id(), RoleAssignment.DOMAIN, Domain.DEFAULT_ID, adminRole.id()));
        return existing.isEmpty();
    }

    // ------------------------------------------------------------------ authentication

    /** Password authentication of a user named within a domain (by id or name), or by user id. */
    public IssuedToken authenticateWithPassword(String userId, String userName, String domainId, String domainName,
            String password, ScopeRequest scope) {
        User user = findUserForAuth(userId, userName, domainId, domainName);
        if (user == null || !user.enabled() || !hasher.matches(password, user.passwordHash())) {
            // One answer for unknown user, disabled user and wrong password: no account probing.
            throw new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED);
        }
        Domain userDomain = store.findDomain(user.domainId()).orElseThrow();
        if (!userDomain.enabled()) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED);
        }
        return issue(user, scope, List.of("password"), null);
    }

    /** Token authentication: a new token for the same user, possibly with another scope. */
    public IssuedToken authenticateWithToken(String token, ScopeRequest scope) {
        AuthContext existing = validate(token);
        User user = store.findUser(existing.userId()).orElseThrow(() -> new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED));
        // A rescoped token keeps the original's expiry and audit chain, as Keystone does.
        return issue(user, scope, List.of("token"), existing.expiresAt());
    }

    private User findUserForAuth(String userId, String userName, String domainId, String domainName) {
        if (userId != null) {
            return store.findUser(userId).orElse(null);
        }
        if (userName == null) {
            throw CloudException.badRequest("Expecting to find id or name in user - the server could not comply with the request "
                    + "since it is either malformed or otherwise incorrect.");
        }
        String resolvedDomain = resolveDomainId(domainId, domainName, true);
        return store.findUserByName(resolvedDomain, userName).orElse(null);
    }

    private IssuedToken issue(User user, ScopeRequest scope, List<String> methods, Instant capExpiry) {
        Instant now = now();
        String projectId = null;
        String domainId = null;
        if (scope.wantsProject()) {
            Project project = resolveProject(scope);
            projectId = project.id();
        } else if (scope.wantsDomain()) {
            Domain domain = store.findDomain(resolveDomainId(scope.domainId(), scope.domainName(), false))
                    .orElseThrow(() -> new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED));
            domainId = domain.id();
            if (store.roleNames(user.id(), RoleAssignment.DOMAIN, domainId).isEmpty()) {
                throw new CloudException(ErrorCode.UNAUTHORIZED, "User " + user.id() + " has no access to domain " + domainId);
            }
        } else if (!scope.explicitlyUnscoped() && user.defaultProjectId() != null) {
            // Keystone scopes to the default project when no scope is asked and the user has roles there.
            if (!store.roleNames(user.id(), RoleAssignment.PROJECT, user.defaultProjectId()).isEmpty()) {
                projectId = user.defaultProjectId();
            }
        }
        if (projectId != null && store.roleNames(user.id(), RoleAssignment.PROJECT, projectId).isEmpty()) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, "User " + user.id() + " has no access to project " + projectId);
        }
        Instant expires = now.plus(tokenTtl);
        if (capExpiry != null && capExpiry.isBefore(expires)) {
            expires = capExpiry;
        }
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        StoredToken row = new StoredToken(sha256(token), user.id(), projectId, domainId, String.join(",", methods),
                Base64.getUrlEncoder().withoutPadding().encodeToString(UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8))
                        .substring(0, 22),
                now, expires);
        store.insertToken(row);
        AuthContext auth = contextOf(row);
        cache.put(row.tokenHash(), new CachedAuth(auth, now.plus(CACHE_TTL)));
        return new IssuedToken(token, auth);
    }

    private Project resolveProject(ScopeRequest scope) {
        Project project;
        if (scope.projectId() != null) {
            project = store.findProject(scope.projectId()).orElse(null);
        } else {
            String domainId = resolveDomainId(scope.projectDomainId(), scope.projectDomainName(), false);
            project = store.findProjectByName(domainId, scope.projectName()).orElse(null);
        }
        if (project == null || !project.enabled()) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, "Could not find project: "
                    + (scope.projectId() != null ? scope.projectId() : scope.projectName()) + ".");
        }
        return project;
    }

    private String resolveDomainId(String domainId, String domainName, boolean forUser) {
        if (domainId != null) {
            return domainId;
        }
        if (domainName != null) {
            return store.findDomainByName(domainName)
                    .map(Domain::id)
                    .orElseThrow(() -> new CloudException(ErrorCode.UNAUTHORIZED, "Could not find domain: " + domainName + "."));
        }
        if (forUser) {
            throw CloudException.badRequest("Expecting to find domain in user - the server could not comply with the request "
                    + "since it is either malformed or otherwise incorrect.");
        }
        throw CloudException.badRequest("Expecting to find domain in project - the server could not comply with the request "
                + "since it is either malformed or otherwise incorrect.");
    }

    // ------------------------------------------------------------------ validation

    /** The context of a valid token; 401 for a missing, unknown, expired or revoked one. */
    public AuthContext validate(String token) {
        if (token == null || token.isBlank()) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED);
        }
        String hash = sha256(token);
        Instant now = now();
        CachedAuth cached = cache.get(hash);
        if (cached != null && cached.trustedUntil().isAfter(now) && !cached.auth().isExpired(now)) {
            return cached.auth();
        }
        StoredToken row = store.findToken(hash).orElse(null);
        if (row == null || !row.expiresAt().isAfter(now)) {
            cache.remove(hash);
            throw new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED);
        }
        AuthContext auth;
        try {
            auth = contextOf(row);
        } catch (CloudException e) {
            // The user, project or all of its roles are gone: the token no longer stands for anything.
            cache.remove(hash);
            throw new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED);
        }
        cache.put(hash, new CachedAuth(auth, now.plus(CACHE_TTL)));
        return auth;
    }

    /** Validates {@code subjectToken} on behalf of {@code caller}; 404 as Keystone answers for a bad subject. */
    public AuthContext validateSubject(AuthContext caller, String subjectToken) {
        AuthContext subject;
        try {
            subject = validate(subjectToken);
        } catch (CloudException e) {
            throw CloudException.notFound("Could not find token: %s.", subjectToken == null ? "" : abbreviate(subjectToken));
        }
        if (!caller.isAdmin() && !caller.userId().equals(subject.userId())) {
            throw CloudException.forbidden("You are not authorized to perform the requested action: identity:validate_token.");
        }
        return subject;
    }

    public void revoke(AuthContext caller, String subjectToken) {
        AuthContext subject = validateSubject(caller, subjectToken);
        String hash = sha256(subjectToken);
        cache.remove(hash);
        store.deleteToken(hash);
        log.debug("revoked token of user {} (audit {})", subject.userId(), subject.auditId());
    }

    public int purgeExpiredTokens() {
        cache.entrySet().removeIf(e -> e.getValue().auth().isExpired(now()));
        return store.deleteExpiredTokens(now());
    }

    /** Forgets cached validations, e.g. after roles or users changed, so they apply at once here. */
    public void invalidateCache() {
        cache.clear();
    }

    private AuthContext contextOf(StoredToken row) {
        User user = store.findUser(row.userId()).filter(User::enabled)
                .orElseThrow(() -> new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED));
        Domain userDomain = store.findDomain(user.domainId()).orElseThrow();
        Set<String> roles = Set.of();
        Project project = null;
        Domain projectDomain = null;
        Domain scopedDomain = null;
        if (row.projectId() != null) {
            project = store.findProject(row.projectId()).filter(Project::enabled)
                    .orElseThrow(() -> new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED));
            projectDomain = store.findDomain(project.domainId()).orElseThrow();
            roles = Roles.withImplied(store.roleNames(user.id(), RoleAssignment.PROJECT, project.id()));
        } else if (row.domainId() != null) {
            scopedDomain = store.findDomain(row.domainId()).orElseThrow(() -> new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED));
            roles = Roles.withImplied(store.roleNames(user.id(), RoleAssignment.DOMAIN, scopedDomain.id()));
        }
        if ((project != null || scopedDomain != null) && roles.isEmpty()) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED);
        }
        return new AuthContext(user.id(), user.name(), userDomain.id(), userDomain.name(),
                project == null ? null : project.id(), project == null ? null : project.name(),
                projectDomain == null ? null : projectDomain.id(), projectDomain == null ? null : projectDomain.name(),
                scopedDomain == null ? null : scopedDomain.id(), scopedDomain == null ? null : scopedDomain.name(),
                roles, List.of(row.methods().split(",")), row.auditId(), row.issuedAt(), row.expiresAt());
    }

    // ------------------------------------------------------------------ records

    public Domain createDomain(String name, String description, boolean enabled) {
        checkName(name, "domain");
        if (store.findDomainByName(name).isPresent()) {
            throw CloudException.conflict("Conflict occurred attempting to store domain - Duplicate entry found with name %s.", name);
        }
        Domain domain = new Domain(newId(), name, description == null ? "" : description, enabled, now());
        store.insertDomain(domain);
        return domain;
    }

    public Domain getDomain(String id) {
        return store.findDomain(id).orElseThrow(() -> CloudException.notFound("Could not find domain: %s.", id));
    }

    public Domain updateDomain(String id, String name, String description, Boolean enabled) {
        Domain current = getDomain(id);
        if (name != null && !name.equals(current.name())) {
            checkName(name, "domain");
            if (store.findDomainByName(name).isPresent()) {
                throw CloudException.conflict("Conflict occurred attempting to store domain - Duplicate entry found with name %s.", name);
            }
        }
        if (Domain.DEFAULT_ID.equals(id) && Boolean.FALSE.equals(enabled)) {
            throw CloudException.forbidden("The default domain cannot be disabled.");
        }
        Domain updated = new Domain(id, name == null ? current.name() : name,
                description == null ? current.description() : description, enabled == null ? current.enabled() : enabled,
                current.createdAt());
        store.updateDomain(updated);
        invalidateCache();
        return updated;
    }

    public void deleteDomain(String id) {
        Domain domain = getDomain(id);
        if (domain.enabled()) {
            throw CloudException.forbidden("Cannot delete a domain that is enabled, please disable it first.");
        }
        if (store.countProjectsInDomain(id) > 0) {
            throw CloudException.forbidden("Cannot delete domain %s: it still has projects or users.", id);
        }
        store.deleteDomain(id);
    }

    public Project createProject(String name, String domainId, String description, boolean enabled) {
        checkName(name, "project");
        String domain = domainId == null ? Domain.DEFAULT_ID : domainId;
        getDomainOrBadRequest(domain);
        if (store.findProjectByName(domain, name).isPresent()) {
            throw CloudException.conflict("Conflict occurred attempting to store project - it is not permitted to have two projects "
                    + "with the same name in the same domain : %s.", name);
        }
        Project project = new Project(newId(), domain, name, description == null ? "" : description, enabled, now());
        store.insertProject(project);
        return project;
    }

    public Project getProject(String id) {
        return store.findProject(id).orElseThrow(() -> CloudException.notFound("Could not find project: %s.", id));
    }

    public Project updateProject(String id, String name, String description, Boolean enabled) {
        Project current = getProject(id);
        if (name != null && !name.equals(current.name())) {
            checkName(name, "project");
            if (store.findProjectByName(current.domainId(), name).isPresent()) {
                throw CloudException.conflict("Conflict occurred attempting to store project - it is not permitted to have two "
                        + "projects with the same name in the same domain : %s.", name);
            }
        }
        Project updated = new Project(id, current.domainId(), name == null ? current.name() : name,
                description == null ? current.description() : description, enabled == null ? current.enabled() : enabled,
                current.createdAt());
        store.updateProject(updated);
        invalidateCache();
        return updated;
    }

    public void deleteProject(String id) {
        getProject(id);
        store.deleteProject(id);
        invalidateCache();
    }

    public User createUser(String name, String domainId, String password, String email, String description, boolean enabled,
            String defaultProjectId) {
        checkName(name, "user");
        String domain = domainId == null ? Domain.DEFAULT_ID : domainId;
        getDomainOrBadRequest(domain);
        if (store.findUserByName(domain, name).isPresent()) {
            throw CloudException.conflict("Conflict occurred attempting to store user - Duplicate entry found with name %s at domain ID %s.",
                    name, domain);
        }
        if (defaultProjectId != null && store.findProject(defaultProjectId).isEmpty()) {
            throw CloudException.badRequest("Could not find project: %s.", defaultProjectId);
        }
        User user = new User(newId(), domain, name, password == null ? null : hasher.hash(password), email,
                description == null ? "" : description, enabled, defaultProjectId, now());
        store.insertUser(user);
        return user;
    }

    public User getUser(String id) {
        return store.findUser(id).orElseThrow(() -> CloudException.notFound("Could not find user: %s.", id));
    }

    public User updateUser(String id, String name, String password, String email, String description, Boolean enabled,
            String defaultProjectId, boolean clearDefaultProject) {
        User current = getUser(id);
        if (name != null && !name.equals(current.name())) {
            checkName(name, "user");
            if (store.findUserByName(current.domainId(), name).isPresent()) {
                throw CloudException.conflict("Conflict occurred attempting to store user - Duplicate entry found with name %s at "
                        + "domain ID %s.", name, current.domainId());
            }
        }
        if (defaultProjectId != null && store.findProject(defaultProjectId).isEmpty()) {
            throw CloudException.badRequest("Could not find project: %s.", defaultProjectId);
        }
        User updated = new User(id, current.domainId(), name == null ? current.name() : name,
                password == null ? current.passwordHash() : hasher.hash(password), email == null ? current.email() : email,
                description == null ? current.description() : description, enabled == null ? current.enabled() : enabled,
                clearDefaultProject ? null : (defaultProjectId == null ? current.defaultProjectId() : defaultProjectId),
                current.createdAt());
        store.updateUser(updated);
        invalidateCache();
        return updated;
    }

    /** A user changing their own password must prove the old one. */
    public void changePassword(String userId, String originalPassword, String newPassword) {
        User user = getUser(userId);
        if (!hasher.matches(originalPassword, user.passwordHash())) {
            throw new CloudException(ErrorCode.UNAUTHORIZED, UNAUTHENTICATED);
        }
        updateUser(userId, null, newPassword, null, null, null, null, false);
    }

    public void deleteUser(String id) {
        getUser(id);
        store.deleteUser(id);
        invalidateCache();
    }

    public Role createRole(String name, String description) {
        checkName(name, "role");
        if (store.findRoleByName(name).isPresent()) {
            throw CloudException.conflict("Conflict occurred attempting to store role - Duplicate entry found with name %s.", name);
        }
        Role role = new Role(newId(), name, description == null ? "" : description, now());
        store.insertRole(role);
        return role;
    }

    public Role getRole(String id) {
        return store.findRole(id).orElseThrow(() -> CloudException.notFound("Could not find role: %s.", id));
    }

    public Role updateRole(String id, String name, String description) {
        Role current = getRole(id);
        if (name != null && !name.equals(current.name())) {
            checkName(name, "role");
            if (store.findRoleByName(name).isPresent()) {
                throw CloudException.conflict("Conflict occurred attempting to store role - Duplicate entry found with name %s.", name);
            }
        }
        Role updated = new Role(id, name == null ? current.name() : name, description == null ? current.description() : description,
                current.createdAt());
        store.updateRole(updated);
        invalidateCache();
        return updated;
    }

    public void deleteRole(String id) {
        Role role = getRole(id);
        if (List.of(Roles.ADMIN, Roles.MEMBER, Roles.READER).contains(role.name())) {
            throw CloudException.forbidden("The %s role is built in and cannot be deleted.", role.name());
        }
        store.deleteRole(id);
        invalidateCache();
    }

    public void grant(String userId, String targetType, String targetId, String roleId) {
        checkAssignmentParts(userId, targetType, targetId, roleId);
        store.assign(new RoleAssignment(userId, targetType, targetId, roleId));
        invalidateCache();
    }

    public void revokeGrant(String userId, String targetType, String targetId, String roleId) {
        checkAssignmentParts(userId, targetType, targetId, roleId);
        if (!store.unassign(new RoleAssignment(userId, targetType, targetId, roleId))) {
            throw CloudException.notFound("Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.",
                    roleId, userId, targetId);
        }
        invalidateCache();
    }

    public boolean hasGrant(String userId, String targetType, String targetId, String roleId) {
        checkAssignmentParts(userId, targetType, targetId, roleId);
        return !store.listAssignments(userId, targetType, targetId, roleId).isEmpty();
    }

    private void checkAssignmentParts(String userId, String targetType, String targetId, String roleId) {
        getUser(userId);
        getRole(roleId);
        if (RoleAssignment.PROJECT.equals(targetType)) {
            getProject(targetId);
        } else {
            getDomain(targetId);
        }
    }

    private void getDomainOrBadRequest(String domainId) {
        if (store.findDomain(domainId).isEmpty()) {
            throw CloudException.badRequest("Could not find domain: %s.", domainId);
        }
    }

    private static void checkName(String name, String kind) {
        if (name == null || name.isBlank()) {
            throw CloudException.badRequest("Invalid input for field 'name': the %s name must not be empty.", kind);
        }
        if (name.length() > 255) {
            throw CloudException.badRequest("Invalid input for field 'name': the %s name is longer than 255 characters.", kind);
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    public static String newId() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static String abbreviate(String token) {
        return token.length() > 8 ? token.substring(0, 8) + "…" : token;
    }
}
