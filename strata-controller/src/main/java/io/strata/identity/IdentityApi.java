package io.strata.identity;

import static io.strata.api.RequestBody.member;
import static io.strata.api.RequestBody.optionalBoolean;
import static io.strata.api.RequestBody.optionalObject;
import static io.strata.api.RequestBody.optionalString;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Keystone's Identity API v3 (and the v2.0 token call older clients still make), at
 * {@code /identity}. Bodies follow the Keystone API reference field for field.
 */
public final class IdentityApi implements ApiArea {
    private static final String V3 = "/identity/v3";

    private final IdentityService identity;
    private final Policy policy;
    private final Catalog catalog;

    public IdentityApi(IdentityService identity, Policy policy, Catalog catalog) {
        this.identity = requireNonNull(identity, "identity is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
    }

    @Override
    public Set<String> publicRoutes() {
        return Set.of("GET /identity", "GET /identity/v3", "GET /identity/v2.0",
                "POST /identity/v3/auth/tokens", "POST /identity/v2.0/tokens");
    }

    @Override
    public void addRoutes(RoutesConfig r) {
        r.get("/identity", this::versions);
        r.get(V3, ctx -> ctx.json(Json.object().set("version", version3())));
        r.get("/identity/v2.0", ctx -> ctx.json(Json.object().set("version", version2())));

        r.post(V3 + "/auth/tokens", this::issueToken);
        r.get(V3 + "/auth/tokens", this::validateToken);
        r.head(V3 + "/auth/tokens", this::checkToken);
        r.delete(V3 + "/auth/tokens", this::revokeToken);
        r.get(V3 + "/auth/catalog", ctx -> ctx.json(Json.object().<ObjectNode>set("catalog", catalogJson(Requests.auth(ctx).projectId()))
                .set("links", links(ctx))));
        r.get(V3 + "/auth/projects", ctx -> ctx.json(list("projects",
                identity.store().listProjectsOfUser(Requests.auth(ctx).userId()).stream().map(this::projectJson).toList(), ctx)));
        r.get(V3 + "/auth/domains", this::authDomains);

        r.get(V3 + "/domains", this::listDomains);
        r.post(V3 + "/domains", this::createDomain);
        r.get(V3 + "/domains/{id}", ctx -> {
            AuthContext auth = Requests.auth(ctx);
            Domain domain = identity.getDomain(ctx.pathParam("id"));
            if (!auth.isAdmin() && !domain.id().equals(auth.projectDomainId()) && !domain.id().equals(auth.userDomainId())) {
                throw forbidden("identity:get_domain");
            }
            ctx.json(wrap("domain", domainJson(domain)));
        });
        r.patch(V3 + "/domains/{id}", this::updateDomain);
        r.delete(V3 + "/domains/{id}", ctx -> {
            admin(ctx);
            identity.deleteDomain(ctx.pathParam("id"));
            ctx.status(204);
        });

        r.get(V3 + "/projects", this::listProjects);
        r.post(V3 + "/projects", this::createProject);
        r.get(V3 + "/projects/{id}", ctx -> {
            AuthContext auth = Requests.auth(ctx);
            String id = ctx.pathParam("id");
            if (!auth.isAdmin() && !id.equals(auth.projectId())) {
                // Keystone answers 403 here too, which also hides whether the project exists.
                throw forbidden("identity:get_project");
            }
            ctx.json(wrap("project", projectJson(identity.getProject(id))));
        });
        r.patch(V3 + "/projects/{id}", this::updateProject);
        r.delete(V3 + "/projects/{id}", ctx -> {
            admin(ctx);
            identity.deleteProject(ctx.pathParam("id"));
            ctx.status(204);
        });

        r.get(V3 + "/users", this::listUsers);
        r.post(V3 + "/users", this::createUser);
        r.get(V3 + "/users/{id}", ctx -> {
            String id = ctx.pathParam("id");
            self(ctx, id, "identity:get_user");
            ctx.json(wrap("user", userJson(identity.getUser(id))));
        });
        r.patch(V3 + "/users/{id}", this::updateUser);
        r.delete(V3 + "/users/{id}", ctx -> {
            admin(ctx);
            identity.deleteUser(ctx.pathParam("id"));
            ctx.status(204);
        });
        r.get(V3 + "/users/{id}/projects", ctx -> {
            String id = ctx.pathParam("id");
            self(ctx, id, "identity:list_user_projects");
            identity.getUser(id);
            ctx.json(list("projects", identity.store().listProjectsOfUser(id).stream().map(this::projectJson).toList(), ctx));
        });
        r.post(V3 + "/users/{id}/password", this::changePassword);

        r.get(V3 + "/roles", ctx -> {
            policy.enforce(Requests.auth(ctx), "identity:list_roles");
            ctx.json(list("roles", identity.store().listRoles(ctx.queryParam("name")).stream().map(this::roleJson).toList(), ctx));
        });
        r.post(V3 + "/roles", ctx -> {
            admin(ctx);
            ObjectNode role = member(RequestBody.parse(ctx), "role");
            ctx.status(201).json(wrap("role", roleJson(identity.createRole(
                    RequestBody.requiredString(role, "name", 1, 255), optionalString(role, "description", 0, 1024)))));
        });
        r.get(V3 + "/roles/{id}", ctx -> {
            policy.enforce(Requests.auth(ctx), "identity:list_roles");
            ctx.json(wrap("role", roleJson(identity.getRole(ctx.pathParam("id")))));
        });
        r.patch(V3 + "/roles/{id}", ctx -> {
            admin(ctx);
            ObjectNode role = member(RequestBody.parse(ctx), "role");
            ctx.json(wrap("role", roleJson(identity.updateRole(ctx.pathParam("id"),
                    optionalString(role, "name", 1, 255), optionalString(role, "description", 0, 1024)))));
        });
        r.delete(V3 + "/roles/{id}", ctx -> {
            admin(ctx);
            identity.deleteRole(ctx.pathParam("id"));
            ctx.status(204);
        });

        for (String target : List.of(RoleAssignment.PROJECT, RoleAssignment.DOMAIN)) {
            String base = V3 + "/" + target + "s/{target}/users/{user}/roles";
            r.get(base, ctx -> listGrants(ctx, target));
            r.put(base + "/{role}", ctx -> {
                admin(ctx);
                identity.grant(ctx.pathParam("user"), target, ctx.pathParam("target"), ctx.pathParam("role"));
                ctx.status(204);
            });
            r.head(base + "/{role}", ctx -> checkGrant(ctx, target));
            r.get(base + "/{role}", ctx -> checkGrant(ctx, target));
            r.delete(base + "/{role}", ctx -> {
                admin(ctx);
                identity.revokeGrant(ctx.pathParam("user"), target, ctx.pathParam("target"), ctx.pathParam("role"));
                ctx.status(204);
            });
        }
        r.get(V3 + "/role_assignments", this::listRoleAssignments);

        r.get(V3 + "/services", ctx -> ctx.json(list("services", catalog.services().stream().map(this::serviceJson).toList(), ctx)));
        r.get(V3 + "/services/{id}", ctx -> ctx.json(wrap("service", catalog.services().stream()
                .filter(s -> s.id().equals(ctx.pathParam("id"))).findFirst().map(this::serviceJson)
                .orElseThrow(() -> CloudException.notFound("Could not find service: %s.", ctx.pathParam("id"))))));
        r.get(V3 + "/endpoints", this::listEndpoints);
        r.get(V3 + "/endpoints/{id}", ctx -> ctx.json(wrap("endpoint", catalog.allEndpoints().stream()
                .filter(e -> e.id().equals(ctx.pathParam("id"))).findFirst().map(this::endpointJson)
                .orElseThrow(() -> CloudException.notFound("Could not find endpoint: %s.", ctx.pathParam("id"))))));
        r.get(V3 + "/regions", ctx -> ctx.json(list("regions", List.of(regionJson()), ctx)));
        r.get(V3 + "/regions/{id}", ctx -> {
            if (!catalog.region().equals(ctx.pathParam("id"))) {
                throw CloudException.notFound("Could not find region: %s.", ctx.pathParam("id"));
            }
            ctx.json(wrap("region", regionJson()));
        });

        r.post("/identity/v2.0/tokens", this::issueTokenV2);
    }

    // ------------------------------------------------------------------ versions

    private void versions(Context ctx) {
        ObjectNode body = Json.object();
        ArrayNode values = body.putObject("versions").putArray("values");
        values.add(version3());
        values.add(version2());
        ctx.status(300).json(body);
    }

    private ObjectNode version3() {
        ObjectNode v = Json.object();
        v.put("id", "v3.14");
        v.put("status", "stable");
        v.put("updated", "2020-04-07T00:00:00Z");
        v.putArray("links").addObject().put("rel", "self").put("href", catalog.baseUrl() + V3 + "/");
        v.putArray("media-types").addObject().put("base", "application/json").put("type", "application/vnd.openstack.identity-v3+json");
        return v;
    }

    private ObjectNode version2() {
        ObjectNode v = Json.object();
        v.put("id", "v2.0");
        v.put("status", "deprecated");
        v.put("updated", "2016-08-04T00:00:00Z");
        v.putArray("links").addObject().put("rel", "self").put("href", catalog.baseUrl() + "/identity/v2.0/");
        v.putArray("media-types").addObject().put("base", "application/json").put("type", "application/vnd.openstack.identity-v2.0+json");
        return v;
    }

    // ------------------------------------------------------------------ tokens

    private void issueToken(Context ctx) {
        ObjectNode auth = member(RequestBody.parse(ctx), "auth");
        ObjectNode identityNode = member(auth, "identity");
        JsonNode methods = identityNode.get("methods");
        if (methods == null || !methods.isArray() || methods.isEmpty()) {
            throw CloudException.badRequest("Invalid input for field 'identity/methods': a non-empty list is required.");
        }
        ScopeRequest scope = scopeOf(auth.get("scope"));
        IssuedToken issued;
        String method = methods.get(0).asText();
        switch (method) {
            case "password" -> {
                ObjectNode user = member(member(identityNode, "password"), "user");
                ObjectNode domain = optionalObject(user, "domain");
                String password = optionalString(user, "password", 0, 4096);
                if (password == null) {
                    throw CloudException.badRequest("Invalid input for field 'identity/password/user/password': 'password' is a required property");
                }
                issued = identity.authenticateWithPassword(optionalString(user, "id", 1, 64), optionalString(user, "name", 1, 255),
                        domain == null ? null : optionalString(domain, "id", 1, 64),
                        domain == null ? null : optionalString(domain, "name", 1, 255), password, scope);
            }
            case "token" -> issued = identity.authenticateWithToken(
                    RequestBody.requiredString(member(identityNode, "token"), "id", 1, 4096), scope);
            default -> throw new CloudException(io.strata.core.ErrorCode.UNAUTHORIZED, "Attempted to authenticate with an unsupported method.");
        }
        ctx.header("X-Subject-Token", issued.token());
        ctx.status(201).json(tokenBody(issued.auth(), ctx.queryParam("nocatalog") == null));
    }

    private ScopeRequest scopeOf(JsonNode scope) {
        if (scope == null || scope.isNull()) {
            return ScopeRequest.defaultScope();
        }
        if (scope.isTextual() && "unscoped".equals(scope.textValue())) {
            return ScopeRequest.unscoped();
        }
        if (!scope.isObject()) {
            throw CloudException.badRequest("Invalid input for field 'scope': it must be an object.");
        }
        ObjectNode node = (ObjectNode) scope;
        ObjectNode project = optionalObject(node, "project");
        if (project != null) {
            ObjectNode domain = optionalObject(project, "domain");
            String id = optionalString(project, "id", 1, 64);
            String name = optionalString(project, "name", 1, 255);
            if (id == null && name == null) {
                throw CloudException.badRequest("Expecting to find id or name in project - the server could not comply with the "
                        + "request since it is either malformed or otherwise incorrect.");
            }
            return new ScopeRequest(id, name, domain == null ? null : optionalString(domain, "id", 1, 64),
                    domain == null ? null : optionalString(domain, "name", 1, 255), null, null, false);
        }
        ObjectNode domain = optionalObject(node, "domain");
        if (domain != null) {
            return new ScopeRequest(null, null, null, null, optionalString(domain, "id", 1, 64), optionalString(domain, "name", 1, 255), false);
        }
        if (node.has("system")) {
            throw CloudException.badRequest("System-scoped tokens are not supported by this cloud; scope to a project or a domain.");
        }
        return ScopeRequest.defaultScope();
    }

    private void validateToken(Context ctx) {
        AuthContext subject = identity.validateSubject(Requests.auth(ctx), ctx.header("X-Subject-Token"));
        ctx.header("X-Subject-Token", ctx.header("X-Subject-Token"));
        ctx.json(tokenBody(subject, ctx.queryParam("nocatalog") == null));
    }

    private void checkToken(Context ctx) {
        identity.validateSubject(Requests.auth(ctx), ctx.header("X-Subject-Token"));
        ctx.status(200);
    }

    private void revokeToken(Context ctx) {
        identity.revoke(Requests.auth(ctx), ctx.header("X-Subject-Token"));
        ctx.status(204);
    }

    private ObjectNode tokenBody(AuthContext auth, boolean withCatalog) {
        ObjectNode token = Json.object();
        token.putArray("methods").addAll(auth.methods().stream().map(m -> (JsonNode) Json.MAPPER.getNodeFactory().textNode(m)).toList());
        ObjectNode user = token.putObject("user");
        user.putObject("domain").put("id", auth.userDomainId()).put("name", auth.userDomainName());
        user.put("id", auth.userId());
        user.put("name", auth.userName());
        user.putNull("password_expires_at");
        token.putArray("audit_ids").add(auth.auditId());
        token.put("expires_at", Json.keystoneTime(auth.expiresAt()));
        token.put("issued_at", Json.keystoneTime(auth.issuedAt()));
        if (auth.projectId() != null) {
            ObjectNode project = token.putObject("project");
            project.putObject("domain").put("id", auth.projectDomainId()).put("name", auth.projectDomainName());
            project.put("id", auth.projectId());
            project.put("name", auth.projectName());
            token.put("is_domain", false);
        } else if (auth.domainId() != null) {
            token.putObject("domain").put("id", auth.domainId()).put("name", auth.domainName());
        }
        if (auth.projectId() != null || auth.domainId() != null) {
            ArrayNode roles = token.putArray("roles");
            for (String name : auth.roles()) {
                identity.store().findRoleByName(name).ifPresent(role -> roles.addObject().put("id", role.id()).put("name", role.name()));
            }
            if (withCatalog) {
                token.set("catalog", catalogJson(auth.projectId()));
            }
        }
        return wrap("token", token);
    }

    private ArrayNode catalogJson(String projectId) {
        ArrayNode services = Json.array();
        for (Catalog.Service service : catalog.services()) {
            ObjectNode entry = services.addObject();
            ArrayNode endpoints = entry.putArray("endpoints");
            for (Catalog.Endpoint endpoint : catalog.endpoints(service, projectId)) {
                endpoints.addObject()
                        .put("id", endpoint.id())
                        .put("interface", endpoint.interfaceName())
                        .put("region_id", endpoint.region())
                        .put("url", endpoint.url())
                        .put("region", endpoint.region());
            }
            entry.put("id", service.id());
            entry.put("type", service.type());
            entry.put("name", service.name());
        }
        return services;
    }

    private void issueTokenV2(Context ctx) {
        ObjectNode auth = member(RequestBody.parse(ctx), "auth");
        ObjectNode credentials = optionalObject(auth, "passwordCredentials");
        String tenantId = optionalString(auth, "tenantId", 1, 64);
        String tenantName = optionalString(auth, "tenantName", 1, 255);
        ScopeRequest scope = tenantId != null ? ScopeRequest.projectById(tenantId)
                : tenantName != null ? ScopeRequest.projectByName(tenantName, Domain.DEFAULT_ID, null)
                : ScopeRequest.unscoped();
        IssuedToken issued;
        if (credentials != null) {
            issued = identity.authenticateWithPassword(null, RequestBody.requiredString(credentials, "username", 1, 255),
                    Domain.DEFAULT_ID, null, RequestBody.requiredString(credentials, "password", 0, 4096), scope);
        } else {
            ObjectNode tokenNode = member(auth, "token");
            issued = identity.authenticateWithToken(RequestBody.requiredString(tokenNode, "id", 1, 4096), scope);
        }
        AuthContext a = issued.auth();
        ObjectNode access = Json.object();
        ObjectNode token = access.putObject("token");
        token.put("id", issued.token());
        token.put("issued_at", Json.keystoneTime(a.issuedAt()));
        token.put("expires", Json.isoSeconds(a.expiresAt()));
        token.putArray("audit_ids").add(a.auditId());
        ArrayNode serviceCatalog = access.putArray("serviceCatalog");
        if (a.projectId() != null) {
            token.putObject("tenant").put("id", a.projectId()).put("name", a.projectName()).put("enabled", true).put("description", "");
            for (Catalog.Service service : catalog.services()) {
                ObjectNode entry = serviceCatalog.addObject();
                String url = catalog.url(service, a.projectId());
                entry.putArray("endpoints").addObject()
                        .put("id", catalog.endpoints(service, a.projectId()).get(0).id())
                        .put("region", catalog.region())
                        .put("publicURL", url)
                        .put("internalURL", url)
                        .put("adminURL", url);
                entry.putArray("endpoints_links");
                entry.put("type", service.type());
                entry.put("name", service.name());
            }
        }
        ObjectNode user = access.putObject("user");
        user.put("id", a.userId());
        user.put("name", a.userName());
        user.put("username", a.userName());
        ArrayNode roles = user.putArray("roles");
        a.roles().forEach(role -> roles.addObject().put("name", role));
        user.putArray("roles_links");
        ObjectNode metadata = access.putObject("metadata");
        metadata.put("is_admin", 0);
        ArrayNode roleIds = metadata.putArray("roles");
        a.roles().forEach(role -> identity.store().findRoleByName(role).ifPresent(r -> roleIds.add(r.id())));
        ctx.json(wrap("access", access));
    }

    // ------------------------------------------------------------------ records

    private void authDomains(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        List<ObjectNode> domains = new ArrayList<>();
        for (RoleAssignment a : identity.store().listAssignments(auth.userId(), RoleAssignment.DOMAIN, null, null)) {
            identity.store().findDomain(a.targetId()).ifPresent(d -> {
                if (domains.stream().noneMatch(x -> x.get("id").asText().equals(d.id()))) {
                    domains.add(domainJson(d));
                }
            });
        }
        ctx.json(list("domains", domains, ctx));
    }

    private void listDomains(Context ctx) {
        admin(ctx);
        ctx.json(list("domains", identity.store().listDomains(ctx.queryParam("name"), Requests.boolQuery(ctx, "enabled"))
                .stream().map(this::domainJson).toList(), ctx));
    }

    private void createDomain(Context ctx) {
        admin(ctx);
        ObjectNode d = member(RequestBody.parse(ctx), "domain");
        Boolean enabled = optionalBoolean(d, "enabled");
        ctx.status(201).json(wrap("domain", domainJson(identity.createDomain(RequestBody.requiredString(d, "name", 1, 255),
                optionalString(d, "description", 0, 1024), enabled == null || enabled))));
    }

    private void updateDomain(Context ctx) {
        admin(ctx);
        ObjectNode d = member(RequestBody.parse(ctx), "domain");
        ctx.json(wrap("domain", domainJson(identity.updateDomain(ctx.pathParam("id"), optionalString(d, "name", 1, 255),
                optionalString(d, "description", 0, 1024), optionalBoolean(d, "enabled")))));
    }

    private void listProjects(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        List<Project> projects;
        if (auth.isAdmin()) {
            projects = identity.store().listProjects(ctx.queryParam("name"), Requests.boolQuery(ctx, "enabled"), ctx.queryParam("domain_id"));
        } else {
            // Non-admins see the projects they have roles on, as Keystone's reader rules allow.
            String name = ctx.queryParam("name");
            projects = identity.store().listProjectsOfUser(auth.userId()).stream()
                    .filter(p -> name == null || p.name().equals(name)).toList();
        }
        ctx.json(list("projects", projects.stream().map(this::projectJson).toList(), ctx));
    }

    private void createProject(Context ctx) {
        admin(ctx);
        ObjectNode p = member(RequestBody.parse(ctx), "project");
        Boolean enabled = optionalBoolean(p, "enabled");
        if (Boolean.TRUE.equals(optionalBoolean(p, "is_domain"))) {
            throw CloudException.badRequest("Creating domains as projects (is_domain) is not supported; use /v3/domains.");
        }
        String domainId = optionalString(p, "domain_id", 1, 64);
        String parentId = optionalString(p, "parent_id", 1, 64);
        if (domainId == null && parentId != null) {
            // A parent that is a domain is how Keystone spells "in this domain".
            domainId = identity.store().findDomain(parentId).map(Domain::id).orElseThrow(() ->
                    CloudException.badRequest("Nested projects are not supported; parent_id must be a domain id."));
        }
        ctx.status(201).json(wrap("project", projectJson(identity.createProject(RequestBody.requiredString(p, "name", 1, 64),
                domainId, optionalString(p, "description", 0, 1024), enabled == null || enabled))));
    }

    private void updateProject(Context ctx) {
        admin(ctx);
        ObjectNode p = member(RequestBody.parse(ctx), "project");
        ctx.json(wrap("project", projectJson(identity.updateProject(ctx.pathParam("id"), optionalString(p, "name", 1, 64),
                optionalString(p, "description", 0, 1024), optionalBoolean(p, "enabled")))));
    }

    private void listUsers(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        List<User> users;
        if (auth.isAdmin()) {
            users = identity.store().listUsers(ctx.queryParam("name"), Requests.boolQuery(ctx, "enabled"), ctx.queryParam("domain_id"));
        } else {
            String name = ctx.queryParam("name");
            users = identity.store().findUser(auth.userId()).filter(u -> name == null || u.name().equals(name)).stream().toList();
        }
        ctx.json(list("users", users.stream().map(this::userJson).toList(), ctx));
    }

    private void createUser(Context ctx) {
        admin(ctx);
        ObjectNode u = member(RequestBody.parse(ctx), "user");
        Boolean enabled = optionalBoolean(u, "enabled");
        String defaultProject = optionalString(u, "default_project_id", 1, 64);
        if (defaultProject == null) {
            defaultProject = optionalString(u, "project_id", 1, 64);
        }
        ctx.status(201).json(wrap("user", userJson(identity.createUser(RequestBody.requiredString(u, "name", 1, 255),
                optionalString(u, "domain_id", 1, 64), optionalString(u, "password", 0, 4096), optionalString(u, "email", 0, 255),
                optionalString(u, "description", 0, 1024), enabled == null || enabled, defaultProject))));
    }

    private void updateUser(Context ctx) {
        admin(ctx);
        ObjectNode u = member(RequestBody.parse(ctx), "user");
        boolean clearDefault = u.has("default_project_id") && u.get("default_project_id").isNull();
        ctx.json(wrap("user", userJson(identity.updateUser(ctx.pathParam("id"), optionalString(u, "name", 1, 255),
                optionalString(u, "password", 0, 4096), optionalString(u, "email", 0, 255), optionalString(u, "description", 0, 1024),
                optionalBoolean(u, "enabled"), optionalString(u, "default_project_id", 1, 64), clearDefault))));
    }

    private void changePassword(Context ctx) {
        String id = ctx.pathParam("id");
        if (!Requests.auth(ctx).userId().equals(id)) {
            throw forbidden("identity:change_password");
        }
        ObjectNode u = member(RequestBody.parse(ctx), "user");
        identity.changePassword(id, RequestBody.requiredString(u, "original_password", 0, 4096),
                RequestBody.requiredString(u, "password", 1, 4096));
        ctx.status(204);
    }

    private void listGrants(Context ctx, String target) {
        AuthContext auth = Requests.auth(ctx);
        String userId = ctx.pathParam("user");
        if (!auth.isAdmin() && !auth.userId().equals(userId)) {
            throw forbidden("identity:list_grants");
        }
        identity.getUser(userId);
        List<ObjectNode> roles = identity.store().listAssignments(userId, target, ctx.pathParam("target"), null).stream()
                .map(a -> identity.store().findRole(a.roleId())).flatMap(java.util.Optional::stream).map(this::roleJson).toList();
        ctx.json(list("roles", roles, ctx));
    }

    private void checkGrant(Context ctx, String target) {
        AuthContext auth = Requests.auth(ctx);
        String userId = ctx.pathParam("user");
        if (!auth.isAdmin() && !auth.userId().equals(userId)) {
            throw forbidden("identity:check_grant");
        }
        if (!identity.hasGrant(userId, target, ctx.pathParam("target"), ctx.pathParam("role"))) {
            throw CloudException.notFound("Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.",
                    ctx.pathParam("role"), userId, ctx.pathParam("target"));
        }
        ctx.status(204);
    }

    private void listRoleAssignments(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        String userId = ctx.queryParam("user.id");
        if (!auth.isAdmin() && !auth.userId().equals(userId)) {
            policy.enforce(auth, "identity:list_role_assignments");
        }
        String projectId = ctx.queryParam("scope.project.id");
        String domainId = ctx.queryParam("scope.domain.id");
        String targetType = projectId != null ? RoleAssignment.PROJECT : domainId != null ? RoleAssignment.DOMAIN : null;
        String targetId = projectId != null ? projectId : domainId;
        boolean includeNames = ctx.queryParam("include_names") != null && !"false".equalsIgnoreCase(ctx.queryParam("include_names"));
        Map<String, Role> roles = new HashMap<>();
        ArrayNode out = Json.array();
        for (RoleAssignment a : identity.store().listAssignments(userId, targetType, targetId, ctx.queryParam("role.id"))) {
            Role role = roles.computeIfAbsent(a.roleId(), id -> identity.store().findRole(id).orElse(null));
            if (role == null) {
                continue;
            }
            ObjectNode item = out.addObject();
            ObjectNode roleNode = item.putObject("role").put("id", role.id());
            ObjectNode userNode = item.putObject("user").put("id", a.userId());
            ObjectNode scope = item.putObject("scope");
            ObjectNode target = scope.putObject(a.targetType()).put("id", a.targetId());
            if (includeNames) {
                roleNode.put("name", role.name());
                identity.store().findUser(a.userId()).ifPresent(u -> {
                    userNode.put("name", u.name());
                    userNode.putObject("domain").put("id", u.domainId()).put("name",
                            identity.store().findDomain(u.domainId()).map(Domain::name).orElse(null));
                });
                if (RoleAssignment.PROJECT.equals(a.targetType())) {
                    identity.store().findProject(a.targetId()).ifPresent(p -> {
                        target.put("name", p.name());
                        target.putObject("domain").put("id", p.domainId()).put("name",
                                identity.store().findDomain(p.domainId()).map(Domain::name).orElse(null));
                    });
                } else {
                    identity.store().findDomain(a.targetId()).ifPresent(d -> target.put("name", d.name()));
                }
            }
            item.putObject("links").put("assignment", catalog.baseUrl() + V3 + "/" + a.targetType() + "s/" + a.targetId()
                    + "/users/" + a.userId() + "/roles/" + a.roleId());
        }
        ObjectNode body = Json.object();
        body.set("role_assignments", out);
        body.set("links", links(ctx));
        ctx.json(body);
    }

    private void listEndpoints(Context ctx) {
        String iface = ctx.queryParam("interface");
        String serviceId = ctx.queryParam("service_id");
        ctx.json(list("endpoints", catalog.allEndpoints().stream()
                .filter(e -> iface == null || e.interfaceName().equals(iface))
                .filter(e -> serviceId == null || e.serviceId().equals(serviceId))
                .map(this::endpointJson).toList(), ctx));
    }

    // ------------------------------------------------------------------ representations

    private ObjectNode domainJson(Domain d) {
        ObjectNode n = Json.object();
        n.put("id", d.id());
        n.put("name", d.name());
        n.put("description", d.description());
        n.put("enabled", d.enabled());
        n.putArray("tags");
        n.putObject("options");
        n.putObject("links").put("self", catalog.baseUrl() + V3 + "/domains/" + d.id());
        return n;
    }

    private ObjectNode projectJson(Project p) {
        ObjectNode n = Json.object();
        n.put("id", p.id());
        n.put("name", p.name());
        n.put("domain_id", p.domainId());
        n.put("description", p.description());
        n.put("enabled", p.enabled());
        n.put("parent_id", p.domainId());
        n.put("is_domain", false);
        n.putArray("tags");
        n.putObject("options");
        n.putObject("links").put("self", catalog.baseUrl() + V3 + "/projects/" + p.id());
        return n;
    }

    private ObjectNode userJson(User u) {
        ObjectNode n = Json.object();
        n.put("id", u.id());
        n.put("name", u.name());
        n.put("domain_id", u.domainId());
        n.put("enabled", u.enabled());
        if (u.defaultProjectId() != null) {
            n.put("default_project_id", u.defaultProjectId());
        }
        if (u.email() != null) {
            n.put("email", u.email());
        }
        if (u.description() != null && !u.description().isEmpty()) {
            n.put("description", u.description());
        }
        n.putNull("password_expires_at");
        n.putObject("options");
        n.putObject("links").put("self", catalog.baseUrl() + V3 + "/users/" + u.id());
        return n;
    }

    private ObjectNode roleJson(Role r) {
        ObjectNode n = Json.object();
        n.put("id", r.id());
        n.put("name", r.name());
        n.putNull("domain_id");
        n.put("description", r.description());
        n.putObject("options");
        n.putObject("links").put("self", catalog.baseUrl() + V3 + "/roles/" + r.id());
        return n;
    }

    private ObjectNode serviceJson(Catalog.Service s) {
        ObjectNode n = Json.object();
        n.put("id", s.id());
        n.put("type", s.type());
        n.put("name", s.name());
        n.put("description", "");
        n.put("enabled", true);
        n.putObject("links").put("self", catalog.baseUrl() + V3 + "/services/" + s.id());
        return n;
    }

    private ObjectNode endpointJson(Catalog.Endpoint e) {
        ObjectNode n = Json.object();
        n.put("id", e.id());
        n.put("interface", e.interfaceName());
        n.put("region", e.region());
        n.put("region_id", e.region());
        n.put("service_id", e.serviceId());
        n.put("url", e.url());
        n.put("enabled", true);
        n.putObject("links").put("self", catalog.baseUrl() + V3 + "/endpoints/" + e.id());
        return n;
    }

    private ObjectNode regionJson() {
        ObjectNode n = Json.object();
        n.put("id", catalog.region());
        n.put("description", "");
        n.putNull("parent_region_id");
        n.putObject("links").put("self", catalog.baseUrl() + V3 + "/regions/" + catalog.region());
        return n;
    }

    private static ObjectNode wrap(String key, ObjectNode value) {
        ObjectNode n = Json.object();
        n.set(key, value);
        return n;
    }

    private ObjectNode list(String key, List<ObjectNode> items, Context ctx) {
        ObjectNode n = Json.object();
        n.putArray(key).addAll(items);
        n.set("links", links(ctx));
        return n;
    }

    private ObjectNode links(Context ctx) {
        ObjectNode links = Json.object();
        String query = ctx.queryString();
        links.put("self", catalog.baseUrl() + ctx.path() + (query == null ? "" : "?" + query));
        links.putNull("previous");
        links.putNull("next");
        return links;
    }

    private void admin(Context ctx) {
        policy.enforce(Requests.auth(ctx), "identity:admin");
    }

    private void self(Context ctx, String userId, String operation) {
        AuthContext auth = Requests.auth(ctx);
        if (!auth.isAdmin() && !auth.userId().equals(userId)) {
            throw forbidden(operation);
        }
    }

    private static CloudException forbidden(String operation) {
        return CloudException.forbidden("You are not authorized to perform the requested action: %s.", operation);
    }

    static boolean isHead(Context ctx) {
        return ctx.method() == HandlerType.HEAD;
    }
}
