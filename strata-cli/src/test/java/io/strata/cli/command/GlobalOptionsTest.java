package io.strata.cli.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.cli.client.AuthMethod;
import io.strata.cli.client.Credentials;
import io.strata.cli.client.DomainRef;
import io.strata.cli.client.EndpointFilter;
import io.strata.cli.client.Scope;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Credentials from OS_* variables and --os-* options, as keystoneauth reads them. */
class GlobalOptionsTest {
    private static final Map<String, String> OPENRC = Map.of(
            "OS_AUTH_URL", "http://h/identity", "OS_USERNAME", "admin", "OS_PASSWORD", "pw", "OS_PROJECT_NAME", "admin",
            "OS_USER_DOMAIN_NAME", "Default", "OS_PROJECT_DOMAIN_NAME", "Default", "OS_REGION_NAME", "RegionOne", "OS_INTERFACE", "internal");

    @Test
    void anOpenrcGivesPasswordCredentialsScopedToTheProject() {
        Credentials credentials = new GlobalOptions().credentials(OPENRC);
        assertThat(credentials.authUrl()).isEqualTo("http://h/identity");
        assertThat(credentials.method()).isEqualTo(new AuthMethod.Password("admin", null, DomainRef.byName("Default"), "pw"));
        assertThat(credentials.scope()).isEqualTo(new Scope.Project(null, "admin", DomainRef.byName("Default")));
        assertThat(credentials.endpoints()).isEqualTo(new EndpointFilter("internal", "RegionOne"));
    }

    @Test
    void optionsWinOverVariables() {
        GlobalOptions options = new GlobalOptions();
        options.username = "other";
        options.projectId = "p-id";
        options.interfaceName = "public";
        Credentials credentials = options.credentials(OPENRC);
        assertThat(((AuthMethod.Password) credentials.method()).userName()).isEqualTo("other");
        assertThat(credentials.scope()).isEqualTo(new Scope.Project("p-id", null, null));
        assertThat(credentials.endpoints().interfaceName()).isEqualTo("public");
    }

    @Test
    void aTokenAloneMeansTokenAuthentication() {
        Map<String, String> env = Map.of("OS_AUTH_URL", "http://h", "OS_TOKEN", "t", "OS_PROJECT_ID", "p");
        assertThat(new GlobalOptions().credentials(env).method()).isEqualTo(new AuthMethod.Token("t"));
        Map<String, String> both = Map.of("OS_AUTH_URL", "http://h", "OS_TOKEN", "t", "OS_AUTH_TYPE", "token", "OS_USERNAME", "u",
                "OS_PASSWORD", "p");
        assertThat(new GlobalOptions().credentials(both).method()).isEqualTo(new AuthMethod.Token("t"));
        assertThat(new GlobalOptions().credentials(both).scope()).isEqualTo(new Scope.Unscoped());
    }

    @Test
    void domainsDefaultToTheDefaultDomainAndDomainScopeWorks() {
        Map<String, String> env = Map.of("OS_AUTH_URL", "http://h", "OS_USERNAME", "u", "OS_PASSWORD", "p", "OS_DOMAIN_NAME", "Default");
        Credentials credentials = new GlobalOptions().credentials(env);
        assertThat(((AuthMethod.Password) credentials.method()).userDomain()).isEqualTo(DomainRef.byId("default"));
        assertThat(credentials.scope()).isEqualTo(new Scope.Domain(DomainRef.byName("Default")));
        Map<String, String> legacy = Map.of("OS_AUTH_URL", "http://h", "OS_USERNAME", "u", "OS_PASSWORD", "p", "OS_TENANT_NAME", "demo",
                "OS_DEFAULT_DOMAIN", "d1");
        assertThat(new GlobalOptions().credentials(legacy).scope()).isEqualTo(new Scope.Project(null, "demo", DomainRef.byId("d1")));
    }

    @Test
    void missingValuesSayWhatToSet() {
        assertThatThrownBy(() -> new GlobalOptions().credentials(Map.of()))
                .hasMessage("Missing value auth-url required for auth plugin password (set OS_AUTH_URL or --os-auth-url)");
        assertThatThrownBy(() -> new GlobalOptions().credentials(Map.of("OS_AUTH_URL", "http://h", "OS_USERNAME", "u")))
                .hasMessage("Missing value password required for auth plugin password (set OS_PASSWORD or --os-password)");
        assertThatThrownBy(() -> new GlobalOptions().credentials(Map.of("OS_AUTH_URL", "http://h", "OS_AUTH_TYPE", "token")))
                .hasMessage("Missing value token required for auth plugin token (set OS_TOKEN or --os-token)");
        assertThatThrownBy(() -> new GlobalOptions().credentials(Map.of("OS_AUTH_URL", "http://h", "OS_AUTH_TYPE", "saml2")))
                .hasMessageStartingWith("Unsupported auth type 'saml2'");
    }
}
