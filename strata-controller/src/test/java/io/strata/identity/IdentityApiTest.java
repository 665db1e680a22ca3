package io.strata.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import io.strata.testing.TestCloud;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class IdentityApiTest {
    @Parameter
    TestDatabases.Kind kind;

    private static TestCloud cloud;

    @BeforeParameterizedClassInvocation
    static void start(TestDatabases.Kind kind) {
        cloud = TestCloud.start(kind);
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        cloud.close();
    }

    @Test
    void versionDocuments() {
        ApiClient anonymous = cloud.anonymous();
        JsonNode versions = anonymous.get("/identity/").expect(300).json();
        assertThat(versions.at("/versions/values/0/id").asText()).startsWith("v3.");
        String self = versions.at("/versions/values/0/links/0/href").asText();
        assertThat(anonymous.get(self).expect(200).json().at("/version/status").asText()).isEqualTo("stable");
    }

    @Test
    void passwordTokenCarriesProjectRolesAndCatalog() {
        String body = """
                {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
                 "domain": {"id": "default"}, "password": "%s"}}}, "scope": {"project": {"name": "admin",
                 "domain": {"name": "Default"}}}}}""".formatted(TestCloud.ADMIN_PASSWORD);
        ApiClient.Response response = cloud.anonymous().post("/identity/v3/auth/tokens", body).expect(201);
        assertThat(response.header("X-Subject-Token")).isNotBlank();
        JsonNode token = response.json().get("token");
        assertThat(token.get("expires_at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z");
        assertThat(token.at("/project/name").asText()).isEqualTo("admin");
        assertThat(token.get("roles")).extracting(r -> r.get("name").asText()).contains("admin", "member", "reader");
        assertThat(token.get("catalog")).extracting(s -> s.get("type").asText()).contains("identity", "compute", "image");
        for (JsonNode service : token.get("catalog")) {
            for (JsonNode endpoint : service.get("endpoints")) {
                assertThat(endpoint.get("interface").asText()).isIn("public", "internal", "admin");
                assertThat(endpoint.get("region").asText()).isEqualTo("RegionOne");
                assertThat(endpoint.get("url").asText()).startsWith(cloud.baseUrl());
            }
        }
    }

    @Test
    void wrongPasswordIs401InKeystoneShape() {
        String body = """
                {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
                 "domain": {"name": "Default"}, "password": "nope"}}}}}""";
        JsonNode error = cloud.anonymous().post("/identity/v3/auth/tokens", body).expect(401).json().get("error");
        assertThat(error.get("code").asInt()).isEqualTo(401);
        assertThat(error.get("title").asText()).isEqualTo("Unauthorized");
        assertThat(error.get("message").asText()).isNotBlank();
    }

    @Test
    void malformedBodyIs400() {
        JsonNode error = cloud.anonymous().post("/identity/v3/auth/tokens", "{not json").expect(400).json().get("error");
        assertThat(error.get("code").asInt()).isEqualTo(400);
        cloud.anonymous().post("/identity/v3/auth/tokens", "{\"auth\": 5}").expect(400);
    }

    @Test
    void tokenValidationAndRevocation() {
        ApiClient admin = cloud.admin();
        ApiClient other = cloud.admin();
        Map<String, String> subject = Map.of("X-Subject-Token", other.token());
        JsonNode validated = admin.send("GET", "/identity/v3/auth/tokens", null, subject).expect(200).json();
        assertThat(validated.at("/token/user/name").asText()).isEqualTo("admin");
        admin.send("HEAD", "/identity/v3/auth/tokens", null, subject).expect(200);
        admin.send("DELETE", "/identity/v3/auth/tokens", null, subject).expect(204);
        admin.send("GET", "/identity/v3/auth/tokens", null, subject).expect(404);
        other.get("/identity/v3/auth/projects").expect(401);
    }

    @Test
    void missingOrBadTokenIs401() {
        cloud.anonymous().get("/identity/v3/projects").expect(401);
        new ApiClient(cloud.baseUrl(), "garbage").get("/identity/v3/projects").expect(401);
    }

    @Test
    void defaultDomainFoundByName() {
        JsonNode domains = cloud.admin().get("/identity/v3/domains?name=Default").expect(200).json().get("domains");
        assertThat(domains).hasSize(1);
        assertThat(domains.get(0).get("id").asText()).isEqualTo("default");
    }

    @Test
    void adminManagesProjectsUsersAndRoles() {
        ApiClient admin = cloud.admin();
        ApiClient member = cloud.newProjectUser("alpha", "alice", "member");
        JsonNode roles = admin.get("/identity/v3/roles").expect(200).json().get("roles");
        assertThat(roles).extracting(r -> r.get("name").asText()).contains("admin", "member", "reader");

        // Members read themselves and their project, nothing else.
        String aliceId = admin.get("/identity/v3/users?name=alice").expect(200).json().at("/users/0/id").asText();
        member.get("/identity/v3/users/" + aliceId).expect(200);
        member.get("/identity/v3/auth/projects").expect(200);
        assertThat(member.get("/identity/v3/users/" + aliceId + "/projects").expect(200).json().at("/projects/0/name").asText())
                .isEqualTo("alpha");
        member.post("/identity/v3/projects", "{\"project\": {\"name\": \"sneaky\"}}").expect(403);
        member.get("/identity/v3/roles").expect(403);
        String adminUserId = admin.get("/identity/v3/users?name=admin").expect(200).json().at("/users/0/id").asText();
        member.get("/identity/v3/users/" + adminUserId).expect(403);

        // Duplicates conflict; assignments list and revoke.
        admin.post("/identity/v3/projects", "{\"project\": {\"name\": \"alpha\"}}").expect(409);
        String projectId = admin.get("/identity/v3/projects?name=alpha").expect(200).json().at("/projects/0/id").asText();
        JsonNode assignments = admin.get("/identity/v3/role_assignments?scope.project.id=" + projectId + "&include_names")
                .expect(200).json().get("role_assignments");
        assertThat(assignments).extracting(a -> a.at("/user/name").asText()).containsExactly("alice");
        String memberRole = assignments.get(0).at("/role/id").asText();
        admin.head("/identity/v3/projects/" + projectId + "/users/" + aliceId + "/roles/" + memberRole).expect(204);
        admin.delete("/identity/v3/projects/" + projectId + "/users/" + aliceId + "/roles/" + memberRole).expect(204);
        admin.head("/identity/v3/projects/" + projectId + "/users/" + aliceId + "/roles/" + memberRole).expect(404);

        admin.patch("/identity/v3/users/" + aliceId, "{\"user\": {\"enabled\": false}}", "application/json").expect(200);
        admin.delete("/identity/v3/users/" + aliceId).expect(204);
        admin.get("/identity/v3/users/" + aliceId).expect(404);
        admin.delete("/identity/v3/projects/" + projectId).expect(204);
    }

    @Test
    void v2TokensForOlderClients() {
        String body = """
                {"auth": {"passwordCredentials": {"username": "admin", "password": "%s"}, "tenantName": "admin"}}
                """.formatted(TestCloud.ADMIN_PASSWORD);
        JsonNode access = cloud.anonymous().post("/identity/v2.0/tokens", body).expect(200).json().get("access");
        assertThat(access.at("/token/id").asText()).isNotBlank();
        assertThat(access.at("/token/tenant/name").asText()).isEqualTo("admin");
        assertThat(access.get("serviceCatalog")).extracting(s -> s.get("type").asText()).contains("compute");
        // The v2.0 token works on the v3 API too.
        new ApiClient(cloud.baseUrl(), access.at("/token/id").asText()).get("/identity/v3/auth/projects").expect(200);
    }

    @Test
    void catalogServicesAndEndpointsAreListed() {
        ApiClient admin = cloud.admin();
        assertThat(admin.get("/identity/v3/services").expect(200).json().get("services")).hasSizeGreaterThanOrEqualTo(3);
        assertThat(admin.get("/identity/v3/endpoints?interface=public").expect(200).json().get("endpoints"))
                .allSatisfy(e -> assertThat(e.get("interface").asText()).isEqualTo("public"));
    }
}
