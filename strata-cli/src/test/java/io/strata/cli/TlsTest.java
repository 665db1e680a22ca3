package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cloud behind TLS with a self-signed certificate: trusted through OS_CACERT, or not checked
 * with --insecure, and one clear line when neither is given. The cloud is a hand-written stub
 * of Identity's token call on the JDK's HTTPS server; the certificate comes from keytool.
 */
class TlsTest {
    private static final String PASSWORD = "changeit";
    private static final String TOKEN_BODY = """
            {"token": {"expires_at": "2030-01-01T00:00:00.000000Z", "user": {"id": "u1"}, "project": {"id": "p1"}, "catalog": []}}""";

    @TempDir
    static Path dir;

    private static HttpsServer server;
    private static Path caBundle;

    @BeforeAll
    static void start() throws Exception {
        Path keyStore = dir.resolve("server.p12");
        caBundle = dir.resolve("ca.pem");
        keytool("-genkeypair", "-alias", "cloud", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=localhost", "-validity", "2",
                "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-keystore", keyStore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);
        keytool("-exportcert", "-rfc", "-alias", "cloud", "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-file", caBundle.toString());

        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            keys.load(in, PASSWORD.toCharArray());
        }
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, PASSWORD.toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context));
        server.createContext("/identity/v3/auth/tokens", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] body = TOKEN_BODY.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.getResponseHeaders().add("X-Subject-Token", "tls-token");
            exchange.sendResponseHeaders(201, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    private static void keytool(String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        System.arraycopy(args, 0, command, 1, args.length);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(1, TimeUnit.MINUTES) && process.exitValue() == 0).as("keytool: %s", output).isTrue();
    }

    private static StrataCli cli(String host) {
        return StrataCli.withEnvironment(Map.of("OS_AUTH_URL", "https://" + host + ":" + server.getAddress().getPort() + "/identity",
                "OS_USERNAME", "admin", "OS_PASSWORD", "pw", "OS_PROJECT_NAME", "admin"));
    }

    @Test
    void aCaBundleMakesTheCertificateTrusted() {
        assertThat(cli("127.0.0.1").with("OS_CACERT", caBundle.toString()).value("token", "issue", "-c", "id")).isEqualTo("tls-token");
        assertThat(cli("localhost").value("--os-cacert", caBundle.toString(), "token", "issue", "-c", "id")).isEqualTo("tls-token");
    }

    @Test
    void insecureSkipsTheCheck() {
        assertThat(cli("127.0.0.1").value("--insecure", "token", "issue", "-c", "id")).isEqualTo("tls-token");
    }

    @Test
    void anUntrustedCertificateIsOneLineSayingWhatToDo() {
        cli("127.0.0.1").run("token", "issue").failsWith(1, "the TLS handshake failed");
        cli("127.0.0.1").run("token", "issue").failsWith(1, "OS_CACERT or --os-cacert");
        cli("127.0.0.1").with("OS_CACERT", dir.resolve("missing.pem").toString()).run("token", "issue")
                .failsWith(1, "Can't read the CA bundle " + dir.resolve("missing.pem") + ": No such file or directory");
        cli("127.0.0.1").run("--insecure", "--verify", "token", "issue").failsWith(1, "--insecure and --verify are mutually exclusive");
    }
}
