package io.strata.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.api.Json;
import java.util.List;

/**
 * Glance's response bodies (glance.api.v2.images.ResponseSerializer and friends). Links are
 * relative to the image endpoint ("/v2/images/…"), exactly as Glance writes them; clients resolve
 * them against the endpoint they called.
 */
final class ImageJson {
    /** The versions this API answers to; v2.7 brought os_hidden and the multihash fields. */
    static final List<String> SUPPORTED_VERSIONS = List.of("2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0");
    static final String CURRENT_VERSION = "2.7";

    private ImageJson() {}

    /** Free-form properties first, then the core attributes, as Glance builds its image view. */
    static ObjectNode image(Image image) {
        ObjectNode json = Json.object();
        image.properties().forEach(json::put);
        json.put("name", image.name());
        json.put("disk_format", image.diskFormat());
        json.put("container_format", image.containerFormat());
        json.put("visibility", image.visibility().wireName());
        json.put("size", image.sizeBytes());
        json.put("virtual_size", image.virtualSize());
        json.put("status", image.status().wireName());
        json.put("checksum", image.checksum());
        json.put("protected", image.protectedImage());
        json.put("min_ram", image.minRam());
        json.put("min_disk", image.minDisk());
        json.put("owner", image.owner());
        json.put("os_hidden", image.osHidden());
        json.put("os_hash_algo", image.osHashAlgo());
        json.put("os_hash_value", image.osHashValue());
        json.put("id", image.id());
        json.put("created_at", Json.isoSeconds(image.createdAt()));
        json.put("updated_at", Json.isoSeconds(image.updatedAt()));
        ArrayNode tags = json.putArray("tags");
        image.tags().forEach(tags::add);
        json.put("self", "/v2/images/" + image.id());
        json.put("file", "/v2/images/" + image.id() + "/file");
        json.put("schema", "/v2/schemas/image");
        return json;
    }

    /**
     * A page of images. {@code query} is the request's query string without the marker; {@code
     * nextMarker} is null on the last page.
     */
    static ObjectNode images(List<Image> images, String query, String nextMarker) {
        ObjectNode json = Json.object();
        ArrayNode list = json.putArray("images");
        images.forEach(image -> list.add(image(image)));
        json.put("first", query.isEmpty() ? "/v2/images" : "/v2/images?" + query);
        json.put("schema", "/v2/schemas/images");
        if (nextMarker != null) {
            json.put("next", "/v2/images?" + (query.isEmpty() ? "" : query + "&") + "marker=" + nextMarker);
        }
        return json;
    }

    static ObjectNode member(ImageMember member) {
        ObjectNode json = Json.object();
        json.put("member_id", member.memberId());
        json.put("image_id", member.imageId());
        json.put("status", member.status().wireName());
        json.put("created_at", Json.isoSeconds(member.createdAt()));
        json.put("updated_at", Json.isoSeconds(member.updatedAt()));
        json.put("schema", "/v2/schemas/member");
        return json;
    }

    static ObjectNode members(List<ImageMember> members) {
        ObjectNode json = Json.object();
        ArrayNode list = json.putArray("members");
        members.forEach(member -> list.add(member(member)));
        json.put("schema", "/v2/schemas/members");
        return json;
    }

    /** Glance's version list (glance.api.versions): every v2.x, each linking to {@code <base>/image/v2/}. */
    static ObjectNode versions(String baseUrl) {
        ObjectNode json = Json.object();
        ArrayNode versions = json.putArray("versions");
        versions.add(version(CURRENT_VERSION, "CURRENT", baseUrl));
        SUPPORTED_VERSIONS.forEach(version -> versions.add(version(version, "SUPPORTED", baseUrl)));
        return json;
    }

    private static ObjectNode version(String id, String status, String baseUrl) {
        ObjectNode json = Json.object();
        json.put("id", "v" + id);
        json.put("status", status);
        json.putArray("links").addObject().put("rel", "self").put("href", baseUrl + "/image/v2/");
        return json;
    }
}
