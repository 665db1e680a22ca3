package io.strata.cli.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The pieces of the REST client that need no server: catalog lookup, error bodies, trace masking. */
class ClientPartsTest {
    private static final String TOKEN = """
            {"expires_at": "2026-11-22T20:17:28.000000Z", "user": {"id": "u1"}, "project": {"id": "p1"},
             "catalog": [
              {"type": "compute", "name": "nova", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "region": "RegionOne", "url": "http://one/compute/v2.1"},
                {"interface": "internal", "region_id": "RegionOne", "region": "RegionOne", "url": "http://one-internal/compute/v2.1"},
                {"interface": "public", "region_id": "RegionTwo", "region": "RegionTwo", "url": "http://two/compute/v2.1"}]},
              {"type": "image", "name": "glance", "endpoints": [
                {"interface": "public", "region": "RegionOne", "url": "http://one/image"}]}]}
            """;

    @Test
    void catalogHonoursInterfaceAndRegion() {
        ServiceCatalog catalog = ServiceCatalog.fromToken(Json.parse(TOKEN));
        assertThat(catalog.url("compute", EndpointFilter.publicAnyRegion())).contains("http://one/compute/v2.1");
        assertThat(catalog.url("compute", new EndpointFilter("internal", null))).contains("http://one-internal/compute/v2.1");
        assertThat(catalog.url("compute", new EndpointFilter("publicURL", "RegionTwo"))).contains("http://two/compute/v2.1");
        assertThat(catalog.url("compute", new EndpointFilter("admin", null))).isEmpty();
        assertThat(catalog.url("image", new EndpointFilter("public", "RegionOne"))).contains("http://one/image");
        assertThat(catalog.url("volume", EndpointFilter.publicAnyRegion())).isEmpty();
    }

    @Test
    void authUrlsOfEveryShapeLeadToIdentityV3() {
        AuthMethod method = new AuthMethod.Token("t");
        for (String url : new String[] {"http://h/identity", "http://h/identity/", "http://h/identity/v3", "http://h/identity/v2.0"}) {
            assertThat(new Credentials(url, method, new Scope.Unscoped(), EndpointFilter.publicAnyRegion()).identityV3Url())
                    .isEqualTo("http://h/identity/v3");
        }
    }

    @Test
    void authRequestsAsKeystoneExpectsThem() {
        Credentials password = new Credentials("http://h", new AuthMethod.Password("admin", null, DomainRef.byName("Default"), "pw"),
                new Scope.Project(null, "admin", DomainRef.byId("default")), EndpointFilter.publicAnyRegion());
        assertThat(Json.write(password.authRequest())).isEqualTo("{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":"
                + "{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"pw\"}}},"
                + "\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"}}}}}");
        Credentials token = new Credentials("http://h", new AuthMethod.Token("abc"), new Scope.Domain(DomainRef.byName("Default")),
                EndpointFilter.publicAnyRegion());
        assertThat(Json.write(token.authRequest())).isEqualTo("{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":\"abc\"}},"
                + "\"scope\":{\"domain\":{\"name\":\"Default\"}}}}");
    }

    @Test
    void errorMessagesOfEveryService() {
        assertThat(message("{\"error\": {\"code\": 404, \"message\": \"Could not find project: x.\", \"title\": \"Not Found\"}}"))
                .isEqualTo("Could not find project: x.");
        assertThat(message("{\"itemNotFound\": {\"code\": 404, \"message\": \"Instance x could not be found.\"}}"))
                .isEqualTo("Instance x could not be found.");
        assertThat(message("{\"code\": \"404 Not Found\", \"title\": \"Not Found\", \"message\": \"No image found with ID x\"}"))
                .isEqualTo("No image found with ID x");
        assertThat(message("<html>\n<body>Bad   gateway</body>\n</html>")).isEqualTo("<html> <body>Bad gateway</body> </html>");
        assertThat(message("")).isEqualTo("HTTP status 502");
        assertThat(new ApiException(404, "gone", "req-1").getMessage()).isEqualTo("gone (HTTP 404) (Request-ID: req-1)");
    }

    private static String message(String body) {
        return ErrorMessages.message(502, body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void debugBodiesNeverShowSecrets() {
        String auth = """
                {"auth": {"identity": {"methods": ["password", "token"], "password": {"user": {"name": "a", "password": "s3cret"}},
                 "token": {"id": "old-token-value"}}}}""";
        String masked = HttpTrace.describe(auth.getBytes(StandardCharsets.UTF_8), "application/json");
        assertThat(masked).doesNotContain("s3cret").doesNotContain("old-token-value").contains("\"password\":\"***\"");
        String created = "{\"server\": {\"id\": \"x\", \"adminPass\": \"pw1\"}, \"keypair\": {\"private_key\": \"-----BEGIN\"}}";
        assertThat(HttpTrace.describe(created.getBytes(StandardCharsets.UTF_8), "application/json"))
                .doesNotContain("pw1").doesNotContain("BEGIN").contains("\"id\":\"x\"");
        assertThat(HttpTrace.describe(new byte[] {1, 2}, "application/octet-stream")).isNull();
    }
}
