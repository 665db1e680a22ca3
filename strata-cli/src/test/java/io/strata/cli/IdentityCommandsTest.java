package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.testing.TestCloud;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Identity commands, authentication and the error contract, against a real cloud. */
class IdentityCommandsTest {
    private static TestCloud cloud;
    private static StrataCli admin;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start();
        admin = StrataCli.admin(cloud);
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void projectsByNameOrId() {
        JsonNode created = admin.json("project", "create", "--description", "demo project", "--property", "team=blue", "alpha");
        String id = created.path("id").asText();
        assertThat(created.path("name").asText()).isEqualTo("alpha");
        assertThat(created.path("domain_id").asText()).isEqualTo("default");
        assertThat(admin.value("project", "show", "alpha", "-c", "id")).isEqualTo(id);
        assertThat(admin.value("project", "show", id, "-c", "description")).isEqualTo("demo project");
        assertThat(admin.ok("project", "list", "-f", "value", "-c", "Name").lines()).contains("admin", "alpha");
        assertThat(admin.ok("project", "list", "--long").out()).contains("| Domain ID |").contains("demo project");
        admin.ok("project", "set", "--name", "alpha2", "--disable", "alpha");
        assertThat(admin.value("project", "show", "alpha2", "-c", "enabled")).isEqualTo("False");
        assertThat(admin.ok("project", "create", "--or-show", "alpha2", "-f", "value", "-c", "id").out().strip()).isEqualTo(id);
        admin.ok("project", "delete", "alpha2");
        admin.run("project", "show", "alpha2").failsWith(1, "No project with a name or ID of 'alpha2' exists.");
    }

    @Test
    void usersRolesAndAssignments() {
        admin.ok("project", "create", "beta");
        JsonNode user = admin.json("user", "create", "--project", "beta", "--password", "pw-b", "--email", "b@example.org", "bob");
        assertThat(user.path("email").asText()).isEqualTo("b@example.org");
        assertThat(user.has("password")).isFalse();
        admin.ok("role", "add", "--project", "beta", "--user", "bob", "member");
        assertThat(admin.value("role", "assignment", "list", "--project", "beta", "--names")).isEqualTo("member bob@Default  beta@Default   False");
        String byIds = admin.value("role", "assignment", "list", "--user", "bob");
        assertThat(byIds).contains(user.path("id").asText()).contains(admin.value("project", "show", "beta", "-c", "id"));
        assertThat(admin.value("user", "list", "--project", "beta", "-c", "Name")).isEqualTo("bob");
        assertThat(admin.ok("role", "list", "-f", "value", "-c", "Name").lines()).contains("admin", "member", "reader");
        assertThat(admin.value("role", "show", "reader", "-c", "name")).isEqualTo("reader");
        admin.ok("user", "set", "--email", "bob@example.org", "--description", "Bob", "bob");
        assertThat(admin.value("user", "show", "bob", "-c", "email", "-c", "description")).isEqualTo("Bob\nbob@example.org");

        StrataCli bob = StrataCli.user(cloud, "bob", "pw-b", "beta");
        JsonNode token = bob.json("token", "issue");
        assertThat(token.path("user_id").asText()).isEqualTo(user.path("id").asText());
        assertThat(token.path("expires").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\+0000");
        // A member may not administer Identity: the API's 403 message, one line.
        bob.run("project", "create", "nope").failsWith(1, "(HTTP 403)");

        admin.ok("role", "remove", "--project", "beta", "--user", "bob", "member");
        assertThat(admin.ok("role", "assignment", "list", "--project", "beta").out()).isEqualTo("\n");
        admin.ok("user", "delete", "bob");
        admin.ok("project", "delete", "beta");
    }

    @Test
    void tokenAuthenticationWithAnIssuedToken() {
        String token = admin.value("token", "issue", "-c", "id");
        StrataCli byToken = StrataCli.withEnvironment(Map.of("OS_AUTH_URL", cloud.baseUrl() + "/identity", "OS_AUTH_TYPE", "token",
                "OS_TOKEN", token, "OS_PROJECT_NAME", "admin", "OS_PROJECT_DOMAIN_NAME", "Default"));
        assertThat(byToken.ok("project", "list", "-f", "value", "-c", "Name").lines()).contains("admin");
        assertThat(byToken.value("token", "issue", "-c", "user_id")).isEqualTo(admin.value("token", "issue", "-c", "user_id"));
    }

    @Test
    void globalOptionsWorkBeforeTheNounAndAfterTheVerb() {
        StrataCli nothing = StrataCli.withEnvironment(Map.of());
        String url = cloud.baseUrl() + "/identity";
        assertThat(nothing.ok("--os-auth-url", url, "--os-username", "admin", "--os-password", TestCloud.ADMIN_PASSWORD,
                "--os-project-name", "admin", "project", "list", "-f", "value", "-c", "Name").lines()).contains("admin");
        assertThat(nothing.ok("project", "list", "-f", "value", "-c", "Name", "--os-auth-url=" + url, "--os-username", "admin",
                "--os-password", TestCloud.ADMIN_PASSWORD, "--os-project-name", "admin").lines()).contains("admin");
        // An option beats its variable.
        admin.with("OS_PASSWORD", "wrong").ok("--os-password", TestCloud.ADMIN_PASSWORD, "token", "issue");
    }

    @Test
    void catalogListsEveryServiceWithItsEndpoints() {
        assertThat(admin.ok("catalog", "list", "-f", "value", "-c", "Type").lines()).contains("identity", "compute", "image", "migration");
        String table = admin.ok("catalog", "list").out();
        // Column widths depend on the longest service type (migration is listed too).
        assertThat(table).containsPattern("\\| keystone +\\| identity +\\| RegionOne").contains("  public: " + cloud.baseUrl() + "/identity");
        JsonNode compute = admin.json("catalog", "show", "compute");
        assertThat(compute.path("endpoints").get(0).path("url").asText()).startsWith(cloud.baseUrl() + "/compute/v2.1");
        // The internal interface is honoured too.
        assertThat(admin.with("OS_INTERFACE", "internal").ok("flavor", "list").exit()).isZero();
        admin.with("OS_REGION_NAME", "Atlantis").run("flavor", "list")
                .failsWith(1, "public endpoint for compute service in Atlantis region not found");
    }

    @Test
    void authenticationFailuresAreOneLine() {
        admin.with("OS_PASSWORD", "wrong").run("project", "list")
                .failsWith(1, "The request you have made requires authentication. (HTTP 401)");
        admin.with("OS_AUTH_URL", null).run("project", "list")
                .failsWith(1, "Missing value auth-url required for auth plugin password (set OS_AUTH_URL or --os-auth-url)");
        admin.with("OS_AUTH_URL", "http://127.0.0.1:1/identity").run("project", "list")
                .failsWith(1, "Unable to establish connection to http://127.0.0.1:1/identity/v3/auth/tokens: connection refused");
        admin.with("OS_AUTH_URL", "http://no-such-host.invalid/identity").run("token", "issue")
                .failsWith(1, "Unable to establish connection to http://no-such-host.invalid/identity/v3/auth/tokens");
    }

    @Test
    void badCommandLinesAreOneLineWithStatusTwo() {
        admin.run("project", "list", "--no-such-option").failsWith(2, "Unknown option: '--no-such-option'");
        admin.run("projct", "list").failsWith(2, "did you mean project");
        admin.run("project", "list", "-f", "xml").failsWith(2, "invalid choice: 'xml'");
        admin.run("project", "show", "-f", "csv", "admin").failsWith(2, "invalid choice: 'csv'");
        admin.run("project", "list", "-c", "Nope").failsWith(1, "No recognized column names in ['Nope']");
        admin.run("role", "add", "--user", "admin", "member").failsWith(2, "Error: Missing required argument");
    }

    @Test
    void debugTracesRequestsWithoutSecrets() {
        StrataCli.Run run = admin.ok("--debug", "token", "issue", "-c", "id", "-f", "value");
        String token = run.out().strip();
        assertThat(run.err()).contains("REQ: curl -g -i -X POST " + cloud.baseUrl() + "/identity/v3/auth/tokens")
                .contains("RESP: [201]").contains("RESP BODY: {\"token\"").contains("\"password\":\"***\"")
                .doesNotContain(TestCloud.ADMIN_PASSWORD).doesNotContain(token).contains("x-subject-token: {SHA256}");
        StrataCli.Run listing = admin.ok("project", "list", "--debug");
        assertThat(listing.err()).contains("REQ: curl -g -i -X GET " + cloud.baseUrl() + "/identity/v3/projects")
                .contains("X-Auth-Token: {SHA256}");
        // A failure under --debug still ends with the one-line message (after the trace).
        StrataCli.Run failed = admin.run("--debug", "project", "show", "nope");
        assertThat(failed.exit()).isEqualTo(1);
        assertThat(failed.err()).contains("strata: No project with a name or ID of 'nope' exists.");
    }

    @Test
    void helpAndVersion() {
        assertThat(admin.ok("--help").out()).contains("server").contains("flavor").contains("--os-auth-url");
        assertThat(admin.ok("help", "project", "create").out()).contains("--description").contains("<project-name>");
        assertThat(admin.ok("project", "create", "--help").out()).contains("-f, --format=<format>");
        assertThat(admin.ok("up", "--help").out()).contains("--data-dir").doesNotContain("--os-auth-url");
        assertThat(admin.ok("--version").out()).startsWith("strata ");
    }
}
