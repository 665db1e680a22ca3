package io.strata.cli.command;

import io.strata.cli.client.CloudClient;
import io.strata.cli.client.Credentials;
import io.strata.cli.output.Output;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options every client command takes: credentials (defaulting to the OS_* variables, as in
 * the openstack client), output format and columns, and --debug.
 */
public final class ClientOptions {
    @Option(names = "--os-auth-url", defaultValue = "${env:OS_AUTH_URL}", description = "Identity endpoint (OS_AUTH_URL).")
    String authUrl;

    @Option(names = "--os-username", defaultValue = "${env:OS_USERNAME}", description = "User name (OS_USERNAME).")
    String username;

    @Option(names = "--os-password", defaultValue = "${env:OS_PASSWORD}", description = "Password (OS_PASSWORD).")
    String password;

    @Option(names = "--os-project-name", defaultValue = "${env:OS_PROJECT_NAME}", description = "Project to scope to (OS_PROJECT_NAME).")
    String projectName;

    @Option(names = "--os-project-id", defaultValue = "${env:OS_PROJECT_ID}", description = "Project id to scope to (OS_PROJECT_ID).")
    String projectId;

    @Option(names = "--os-user-domain-name", defaultValue = "${env:OS_USER_DOMAIN_NAME}")
    String userDomainName;

    @Option(names = "--os-user-domain-id", defaultValue = "${env:OS_USER_DOMAIN_ID}")
    String userDomainId;

    @Option(names = "--os-project-domain-name", defaultValue = "${env:OS_PROJECT_DOMAIN_NAME}")
    String projectDomainName;

    @Option(names = "--os-project-domain-id", defaultValue = "${env:OS_PROJECT_DOMAIN_ID}")
    String projectDomainId;

    @Option(names = "--os-region-name", defaultValue = "${env:OS_REGION_NAME}")
    String regionName;

    @Option(names = "--os-interface", defaultValue = "${env:OS_INTERFACE}")
    String interfaceName;

    @Option(names = "--os-token", defaultValue = "${env:OS_TOKEN}", description = "Use this token instead of a password (OS_TOKEN).")
    String token;

    @Option(names = {"-f", "--format"}, defaultValue = "table", description = "Output format: table, json, value, yaml, shell.")
    String format;

    @Option(names = {"-c", "--column"}, description = "Show only this column (repeatable).")
    List<String> columns;

    @Option(names = "--debug", description = "Print every HTTP request and response.")
    boolean debug;

    private CloudClient client;

    public CloudClient client() {
        if (client == null) {
            client = new CloudClient(new Credentials(authUrl, username, password, blank(projectName), blank(projectId),
                    blank(userDomainName), blank(userDomainId), blank(projectDomainName), blank(projectDomainId), blank(regionName),
                    blank(interfaceName), blank(token)), debug ? System.err : null);
        }
        return client;
    }

    public Output output() {
        return new Output(System.out, format, columns);
    }

    public boolean debug() {
        return debug;
    }

    private static String blank(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
