package io.strata.cli.command;

import io.strata.cli.client.AuthMethod;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Credentials;
import io.strata.cli.client.DomainRef;
import io.strata.cli.client.EndpointFilter;
import io.strata.cli.client.Scope;
import io.strata.cli.client.Tls;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The openstack client's global options, each defaulting to its OS_* variable. They are
 * inherited by every command, so they work before the noun ({@code strata --os-cloud… server
 * list}, the openstack client's place) and after the verb alike.
 */
public final class GlobalOptions {
    @Option(names = "--os-auth-url", scope = ScopeType.INHERIT, paramLabel = "<auth-url>", description = "Identity endpoint (OS_AUTH_URL).")
    String authUrl;

    @Option(names = "--os-auth-type", scope = ScopeType.INHERIT, paramLabel = "<auth-type>",
            description = "password or token (OS_AUTH_TYPE; default: token when only a token is given, else password).")
    String authType;

    @Option(names = "--os-username", scope = ScopeType.INHERIT, paramLabel = "<username>", description = "User name (OS_USERNAME).")
    String username;

    @Option(names = "--os-user-id", scope = ScopeType.INHERIT, paramLabel = "<user-id>", description = "User id (OS_USER_ID).")
    String userId;

    @Option(names = "--os-password", scope = ScopeType.INHERIT, paramLabel = "<password>", description = "Password (OS_PASSWORD).")
    String password;

    @Option(names = "--os-token", scope = ScopeType.INHERIT, paramLabel = "<token>",
            description = "A token to authenticate with (OS_TOKEN).")
    String token;

    @Option(names = "--os-user-domain-name", scope = ScopeType.INHERIT, paramLabel = "<domain>", description = "OS_USER_DOMAIN_NAME.")
    String userDomainName;

    @Option(names = "--os-user-domain-id", scope = ScopeType.INHERIT, paramLabel = "<domain-id>", description = "OS_USER_DOMAIN_ID.")
    String userDomainId;

    @Option(names = "--os-project-name", scope = ScopeType.INHERIT, paramLabel = "<project>",
            description = "Project to work in (OS_PROJECT_NAME).")
    String projectName;

    @Option(names = "--os-project-id", scope = ScopeType.INHERIT, paramLabel = "<project-id>", description = "OS_PROJECT_ID.")
    String projectId;

    @Option(names = "--os-project-domain-name", scope = ScopeType.INHERIT, paramLabel = "<domain>", description = "OS_PROJECT_DOMAIN_NAME.")
    String projectDomainName;

    @Option(names = "--os-project-domain-id", scope = ScopeType.INHERIT, paramLabel = "<domain-id>", description = "OS_PROJECT_DOMAIN_ID.")
    String projectDomainId;

    @Option(names = "--os-domain-name", scope = ScopeType.INHERIT, paramLabel = "<domain>", description = "Domain scope (OS_DOMAIN_NAME).")
    String domainName;

    @Option(names = "--os-domain-id", scope = ScopeType.INHERIT, paramLabel = "<domain-id>", description = "Domain scope (OS_DOMAIN_ID).")
    String domainId;

    @Option(names = "--os-default-domain", scope = ScopeType.INHERIT, paramLabel = "<domain-id>",
            description = "Domain id of users and projects named without one (OS_DEFAULT_DOMAIN, default: default).")
    String defaultDomain;

    @Option(names = "--os-region-name", scope = ScopeType.INHERIT, paramLabel = "<region>", description = "OS_REGION_NAME.")
    String regionName;

    @Option(names = "--os-interface", scope = ScopeType.INHERIT, paramLabel = "<interface>",
            description = "Endpoint interface: public, internal or admin (OS_INTERFACE, default: public).")
    String interfaceName;

    @Option(names = "--os-cacert", scope = ScopeType.INHERIT, paramLabel = "<ca-bundle-file>",
            description = "PEM bundle of the CAs to trust for the cloud's TLS certificate (OS_CACERT).")
    Path caBundle;

    @Option(names = "--insecure", scope = ScopeType.INHERIT, description = "Do not check the cloud's TLS certificate.")
    boolean insecure;

    @Option(names = "--verify", scope = ScopeType.INHERIT, description = "Check the cloud's TLS certificate (the default).")
    boolean verify;

    @Option(names = {"-h", "--help"}, scope = ScopeType.INHERIT, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print each HTTP request and response on stderr (secrets masked).")
    boolean debug;

    public boolean debug() {
        return debug;
    }

    /** How to check the cloud's certificate: --insecure, else a CA bundle, else the JDK's CAs. */
    Tls tls(Map<String, String> env) {
        if (insecure && verify) {
            throw new CliException("--insecure and --verify are mutually exclusive");
        }
        String bundle = caBundle != null ? caBundle.toString() : blankToNull(env.get("OS_CACERT"));
        return new Tls(bundle == null ? null : Path.of(bundle), insecure);
    }

    /**
     * The credentials these options and the environment describe, validated with the messages
     * keystoneauth gives, plus where to set the missing value.
     */
    Credentials credentials(Map<String, String> env) {
        String url = value(authUrl, env, "OS_AUTH_URL");
        String user = value(username, env, "OS_USERNAME");
        String uid = value(userId, env, "OS_USER_ID");
        String secret = value(password, env, "OS_PASSWORD");
        String existingToken = value(token, env, "OS_TOKEN");
        String type = value(authType, env, "OS_AUTH_TYPE");
        if (type == null) {
            type = existingToken != null && secret == null ? "token" : "password";
        }
        type = type.toLowerCase(Locale.ROOT);
        if (url == null) {
            throw missing("auth-url", type, "OS_AUTH_URL", "--os-auth-url");
        }
        String defaultDomainId = orElse(value(defaultDomain, env, "OS_DEFAULT_DOMAIN"), "default");
        AuthMethod method = switch (type) {
            case "password", "v3password" -> {
                if (user == null && uid == null) {
                    throw missing("username", type, "OS_USERNAME", "--os-username");
                }
                if (secret == null) {
                    throw missing("password", type, "OS_PASSWORD", "--os-password");
                }
                yield new AuthMethod.Password(user, uid, domain(value(userDomainId, env, "OS_USER_DOMAIN_ID"),
                        value(userDomainName, env, "OS_USER_DOMAIN_NAME"), defaultDomainId), secret);
            }
            case "token", "v3token" -> {
                if (existingToken == null) {
                    throw missing("token", type, "OS_TOKEN", "--os-token");
                }
                yield new AuthMethod.Token(existingToken);
            }
            default -> throw new CliException("Unsupported auth type '" + type + "': strata supports password and token (OS_AUTH_TYPE)");
        };
        return new Credentials(url, method, scope(env, defaultDomainId), new EndpointFilter(
                orElse(value(interfaceName, env, "OS_INTERFACE"), "public"), value(regionName, env, "OS_REGION_NAME")));
    }

    private Scope scope(Map<String, String> env, String defaultDomainId) {
        // OS_TENANT_* are the Identity v2 names of the same thing; old openrc files still set them.
        String project = orElse(value(projectId, env, "OS_PROJECT_ID"), env.get("OS_TENANT_ID"));
        String projectNamed = orElse(value(projectName, env, "OS_PROJECT_NAME"), env.get("OS_TENANT_NAME"));
        if (project != null) {
            // An id says it all; keystoneauth then ignores a name and its domain.
            return new Scope.Project(project, null, null);
        }
        if (projectNamed != null) {
            return new Scope.Project(null, projectNamed, domain(value(projectDomainId, env, "OS_PROJECT_DOMAIN_ID"),
                    value(projectDomainName, env, "OS_PROJECT_DOMAIN_NAME"), defaultDomainId));
        }
        String domain = value(domainId, env, "OS_DOMAIN_ID");
        String domainNamed = value(domainName, env, "OS_DOMAIN_NAME");
        if (domain != null || domainNamed != null) {
            return new Scope.Domain(domain != null ? DomainRef.byId(domain) : DomainRef.byName(domainNamed));
        }
        return new Scope.Unscoped();
    }

    private static DomainRef domain(String id, String name, String defaultId) {
        return id != null ? DomainRef.byId(id) : name != null ? DomainRef.byName(name) : DomainRef.byId(defaultId);
    }

    private static CliException missing(String what, String type, String variable, String option) {
        return new CliException("Missing value " + what + " required for auth plugin " + type + " (set " + variable + " or " + option + ")");
    }

    private static String value(String option, Map<String, String> env, String variable) {
        return option != null && !option.isBlank() ? option : blankToNull(env.get(variable));
    }

    private static String orElse(String value, String fallback) {
        return value != null ? value : blankToNull(fallback);
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
