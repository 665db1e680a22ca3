package io.strata.image;

import java.time.Instant;
import java.util.function.Function;

/**
 * The core attributes an image list can be filtered and sorted by, with the SQL that reads each
 * and the value the marker image has there. Sorting reads NULL as '' or 0, as Glance's paging
 * does, so that keyset paging over nullable columns neither skips nor repeats images.
 */
public enum ImageColumn {
    ID("id", "i.id", String.class, Image::id),
    NAME("name", "coalesce(i.name, '')", String.class, image -> orEmpty(image.name())),
    STATUS("status", "i.status", String.class, image -> image.status().wireName()),
    CONTAINER_FORMAT("container_format", "coalesce(i.container_format, '')", String.class, image -> orEmpty(image.containerFormat())),
    DISK_FORMAT("disk_format", "coalesce(i.disk_format, '')", String.class, image -> orEmpty(image.diskFormat())),
    OWNER("owner", "i.owner", String.class, Image::owner),
    CHECKSUM("checksum", "i.checksum", String.class, Image::checksum),
    OS_HASH_VALUE("os_hash_value", "i.os_hash_value", String.class, Image::osHashValue),
    PROTECTED("protected", "i.protected", Boolean.class, Image::protectedImage),
    MIN_RAM("min_ram", "i.min_ram", Long.class, image -> (long) image.minRam()),
    MIN_DISK("min_disk", "i.min_disk", Long.class, image -> (long) image.minDisk()),
    SIZE("size", "coalesce(i.size_bytes, 0)", Long.class, image -> orZero(image.sizeBytes())),
    VIRTUAL_SIZE("virtual_size", "coalesce(i.virtual_size, 0)", Long.class, image -> orZero(image.virtualSize())),
    CREATED_AT("created_at", "i.created_at", Instant.class, Image::createdAt),
    UPDATED_AT("updated_at", "i.updated_at", Instant.class, Image::updatedAt);

    private final String wireName;
    private final String sql;
    private final Class<?> type;
    private final Function<Image, Object> value;

    ImageColumn(String wireName, String sql, Class<?> type, Function<Image, Object> value) {
        this.wireName = wireName;
        this.sql = sql;
        this.type = type;
        this.value = value;
    }

    public String wireName() {
        return wireName;
    }

    /** The SQL expression over alias {@code i} of the images table. */
    String sql() {
        return sql;
    }

    public Class<?> type() {
        return type;
    }

    /** This column's value in {@code image}, as the SQL expression would read it. */
    Object valueOf(Image image) {
        return value.apply(image);
    }

    public static ImageColumn parse(String wireName) {
        for (ImageColumn column : values()) {
            if (column.wireName.equals(wireName)) {
                return column;
            }
        }
        return null;
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }

    private static Long orZero(Long value) {
        return value == null ? 0L : value;
    }
}
