package io.strata.compute;

import java.util.List;
import java.util.Map;

/**
 * A checked create-server request (types and lengths are checked by the API layer; the service
 * checks what needs the store: flavor, image, keypair, zone).
 *
 * @param userData base64 as the API receives it, or null
 * @param availabilityZone "zone", "zone:host" or "zone::node"
 * @param securityGroups names (or ids) of the security groups to attach; empty means the project's default
 * @param serverGroup the scheduler hint {@code group}: the server group the servers join, or null
 */
public record CreateServerRequest(
        String name,
        String imageRef,
        String flavorRef,
        String keyName,
        String userData,
        Map<String, String> metadata,
        String availabilityZone,
        int minCount,
        int maxCount,
        String description,
        List<String> tags,
        String adminPass,
        String accessIpv4,
        String accessIpv6,
        boolean configDrive,
        boolean attachNetwork,
        String serverGroup,
        List<String> securityGroups) {
    public CreateServerRequest {
        securityGroups = List.copyOf(securityGroups);
    }
}
