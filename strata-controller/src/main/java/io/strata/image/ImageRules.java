package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Glance's rules on image values, whoever sets them (an HTTP client or another service): formats,
 * names, free-form property names, tags, the per-image limits, and what uploaded data must be.
 */
final class ImageRules {
    /** Glance's default image_format options. */
    static final List<String> DISK_FORMATS = List.of("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop");
    static final List<String> CONTAINER_FORMATS = List.of("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed");
    /** Glance's image_property_quota, image_tag_quota and image_member_quota defaults. */
    static final int MAX_PROPERTIES = 128;
    static final int MAX_TAGS = 128;
    static final int MAX_MEMBERS = 128;
    static final int MAX_PROPERTY_VALUE = 65_535;
    /** Glance's image_size_cap default: 1 TiB. */
    static final long DEFAULT_SIZE_CAP = 1L << 40;

    /** Attributes only Glance sets. */
    private static final Set<String> READ_ONLY = Set.of("created_at", "updated_at", "status", "checksum", "os_hash_algo", "os_hash_value",
            "size", "virtual_size", "id", "direct_url", "self", "file", "schema", "stores");
    private static final Set<String> RESERVED = Set.of("location", "locations", "deleted", "deleted_at", "owner");
    private static final Set<String> CORE = Set.of("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram",
            "container_format", "disk_format", "tags");
    private static final String RESERVED_NAMESPACE = "os_glance";
    private static final Pattern UUID = Pattern.compile("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$");

    private ImageRules() {}

    static void checkId(String id) {
        if (!UUID.matcher(id).matches()) {
            throw CloudException.badRequest("Invalid image id %s: an image id is a UUID.", id);
        }
    }

    static void checkName(String name) {
        if (name != null && name.length() > 255) {
            throw CloudException.badRequest("Image name is longer than 255 characters.");
        }
    }

    static void checkDiskFormat(String value) {
        checkFormat("disk_format", value, DISK_FORMATS);
    }

    static void checkContainerFormat(String value) {
        checkFormat("container_format", value, CONTAINER_FORMATS);
    }

    static void checkNotNegative(String attribute, int value) {
        if (value < 0) {
            throw CloudException.badRequest("Invalid value '%d' for parameter '%s': Cannot be a negative value", value, attribute);
        }
    }

    /** Names and values of free-form properties, however they arrive. */
    static void checkProperty(String name, String value) {
        requireNonNull(name, "property name is null");
        if (name.isEmpty() || name.length() > 255) {
            throw CloudException.badRequest("Custom property should not be greater than 255 characters.");
        }
        if (RESERVED.contains(name) || name.startsWith(RESERVED_NAMESPACE)) {
            throw CloudException.forbidden("Attribute '%s' is reserved.", name);
        }
        if (READ_ONLY.contains(name)) {
            throw CloudException.forbidden("Attribute '%s' is read-only.", name);
        }
        if (CORE.contains(name)) {
            throw CloudException.badRequest("'%s' is a core attribute of an image, not a free-form property.", name);
        }
        if (value == null) {
            throw CloudException.badRequest("Property %s has no value; image properties are strings.", name);
        }
        if (value.length() > MAX_PROPERTY_VALUE) {
            throw CloudException.badRequest("Property %s is longer than %d characters.", name, MAX_PROPERTY_VALUE);
        }
    }

    static void checkTag(String tag) {
        if (tag == null || tag.length() > 255) {
            throw CloudException.badRequest("Invalid tag: a tag is a string of at most 255 characters.");
        }
    }

    static void checkLimits(Image image) {
        if (image.properties().size() > MAX_PROPERTIES) {
            throw new CloudException(ErrorCode.OVER_LIMIT, ("The limit has been exceeded on the number of allowed image properties. "
                    + "Attempted: %d, Maximum: %d").formatted(image.properties().size(), MAX_PROPERTIES));
        }
        if (image.tags().size() > MAX_TAGS) {
            throw new CloudException(ErrorCode.OVER_LIMIT, ("The limit has been exceeded on the number of allowed image tags. "
                    + "Attempted: %d, Maximum: %d").formatted(image.tags().size(), MAX_TAGS));
        }
    }

    /** Data can only be stored once both formats are known (Glance's status setter). */
    static void requireFormats(Image image) {
        List<String> missing = new ArrayList<>();
        if (image.diskFormat() == null) {
            missing.add("disk_format");
        }
        if (image.containerFormat() == null) {
            missing.add("container_format");
        }
        if (missing.size() == 1) {
            throw CloudException.badRequest("Property %s must be set prior to saving data.", missing.get(0));
        }
        if (missing.size() == 2) {
            throw CloudException.badRequest("Properties disk_format, container_format must be set prior to saving data.");
        }
    }

    /**
     * Glance's format check on uploaded data, returning the image's virtual size: a qcow2 image
     * must carry qcow2 data, and qcow2 data must not point at other files whatever format the
     * image claims. Formats Strata does not inspect pass with no virtual size.
     */
    static Long checkData(Image image, ImageData data) {
        DiskInspection inspection = data.inspection();
        if (inspection.format().equals("qcow2") && inspection.unsafeReason() != null) {
            throw CloudException.badRequest("Image failed safety checks: %s.", inspection.unsafeReason());
        }
        if ("qcow2".equals(image.diskFormat())) {
            if (!inspection.format().equals("qcow2")) {
                throw CloudException.badRequest("Image disk_format qcow2 does not match stream data %s", inspection.format());
            }
            return inspection.virtualSize();
        }
        if ("raw".equals(image.diskFormat())) {
            return data.sizeBytes();
        }
        return null;
    }

    /**
     * Glance's answer to data over image_size_cap (its ImageSizeLimitExceeded, a 413 "The incoming
     * image is too large"), naming the cap as Glance's v1 API did.
     */
    static CloudException tooLarge(long cap) {
        return new CloudException(ErrorCode.OVER_LIMIT,
                "The incoming image is too large: The provided image is too large. The limit is %d bytes.".formatted(cap));
    }

    private static void checkFormat(String attribute, String value, List<String> allowed) {
        if (value != null && !allowed.contains(value)) {
            throw CloudException.badRequest("Invalid value '%s' for parameter '%s': must be one of %s", value, attribute,
                    String.join(", ", allowed));
        }
    }
}
