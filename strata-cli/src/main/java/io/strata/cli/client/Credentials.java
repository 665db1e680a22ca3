package io.strata.cli.client;

/**
 * How to authenticate, from OS_* variables or --os-* options, as the openstack client reads them.
 * A token (OS_TOKEN) skips password authentication.
 */
public record Credentials(
        String authUrl,
        String username,
        String password,
        String projectName,
        String projectId,
        String userDomainName,
        String userDomainId,
        String projectDomainName,
        String projectDomainId,
        String regionName,
        String interfaceName,
        String token) {}
