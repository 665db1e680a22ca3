package io.strata.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The one JSON configuration of the APIs. Nulls are written (OpenStack bodies carry explicit
 * nulls such as {@code "OS-EXT-STS:task_state": null} and strict clients look for the key), and
 * each API's timestamp format lives here so that no handler formats dates by hand.
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .setSerializationInclusion(JsonInclude.Include.ALWAYS)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private static final DateTimeFormatter NOVA = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter NOVA_MICROS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter KEYSTONE = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    private Json() {}

    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    public static ArrayNode array() {
        return JsonNodeFactory.instance.arrayNode();
    }

    /** Nova and Glance: {@code 2026-11-22T18:00:00Z}. */
    public static String isoSeconds(Instant instant) {
        return instant == null ? null : NOVA.format(instant);
    }

    /** Nova's fault and some action timestamps: {@code 2026-11-22T18:00:00.000000}. */
    public static String isoMicrosNoZone(Instant instant) {
        return instant == null ? null : NOVA_MICROS.format(instant);
    }

    /** Keystone: {@code 2026-11-22T18:00:00.000000Z}; strict clients need the literal Z. */
    public static String keystoneTime(Instant instant) {
        return instant == null ? null : KEYSTONE.format(instant);
    }
}
