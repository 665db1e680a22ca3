package io.strata.image;

import io.strata.core.CloudException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The query string of GET /v2/images, read the way Glance reads it
 * (glance.api.v2.images.RequestDeserializer.index and the filters of its database layer): paging,
 * both sort syntaxes, the visibility/member_status/os_hidden switches, operators such as
 * {@code name=in:a,b} and {@code created_at=gt:2026-01-01T00:00:00Z}, and any other parameter as a
 * free-form property filter.
 *
 * @param query what to list
 * @param linkQuery the request's parameters without the marker, for the first and next links
 */
record ImageListRequest(ImageQuery query, String linkQuery) {
    private static final List<ImageColumn> SORT_KEYS = List.of(ImageColumn.NAME, ImageColumn.STATUS, ImageColumn.CONTAINER_FORMAT,
            ImageColumn.DISK_FORMAT, ImageColumn.SIZE, ImageColumn.ID, ImageColumn.CREATED_AT, ImageColumn.UPDATED_AT);
    private static final List<ImageColumn> OPERATOR_COLUMNS = List.of(ImageColumn.NAME, ImageColumn.ID, ImageColumn.STATUS,
            ImageColumn.CONTAINER_FORMAT, ImageColumn.DISK_FORMAT);
    private static final List<ImageColumn> RANGE_COLUMNS = List.of(ImageColumn.SIZE, ImageColumn.VIRTUAL_SIZE, ImageColumn.MIN_RAM,
            ImageColumn.MIN_DISK);
    private static final List<ImageColumn> EQUALITY_COLUMNS = List.of(ImageColumn.OWNER, ImageColumn.CHECKSUM, ImageColumn.OS_HASH_VALUE,
            ImageColumn.MIN_RAM, ImageColumn.MIN_DISK, ImageColumn.SIZE, ImageColumn.VIRTUAL_SIZE);

    static ImageListRequest parse(String rawQuery) {
        List<Map.Entry<String, String>> params = decode(rawQuery);
        String linkQuery = params.stream().filter(p -> !p.getKey().equals("marker"))
                .map(p -> encode(p.getKey()) + "=" + encode(p.getValue())).collect(Collectors.joining("&"));

        Integer limit = null;
        String marker = null;
        String memberStatus = "accepted";
        String visibility = null;
        String osHidden = "false";
        String sort = null;
        List<String> sortKeys = new ArrayList<>();
        List<String> sortDirs = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        List<ImageQuery.Condition> conditions = new ArrayList<>();
        Map<String, String> properties = new LinkedHashMap<>();
        for (Map.Entry<String, String> param : params) {
            String key = param.getKey();
            String value = param.getValue();
            switch (key) {
                case "limit" -> limit = limit(value);
                case "marker" -> marker = value;
                case "member_status" -> memberStatus = value;
                case "visibility" -> visibility = value;
                case "os_hidden" -> osHidden = value;
                case "tag" -> tags.add(value.strip());
                case "sort" -> sort = value;
                case "sort_key" -> sortKeys.add(value.strip());
                case "sort_dir" -> sortDirs.add(value.strip());
                case "changes-since" -> throw CloudException.badRequest("The \"changes-since\" filter is no longer available on v2.");
                case "deleted" -> { }
                default -> filter(key, value, conditions, properties);
            }
        }
        ImageQuery query = new ImageQuery(
                visibility(visibility),
                memberStatus(memberStatus),
                osHidden(osHidden),
                conditions,
                tags,
                properties,
                sort(sort, sortKeys, sortDirs),
                marker,
                limit == null ? ImageQuery.DEFAULT_LIMIT : Math.min(limit, ImageQuery.MAX_LIMIT));
        return new ImageListRequest(query, linkQuery);
    }

    private static Integer limit(String value) {
        int limit;
        try {
            limit = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw CloudException.badRequest("limit param must be an integer");
        }
        if (limit < 0) {
            throw CloudException.badRequest("limit param must be positive");
        }
        return limit;
    }

    /** "all" and absent both mean no visibility filter; absent also hides others' community images. */
    private static Visibility visibility(String value) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        if (value.equals("all")) {
            return null;
        }
        Visibility visibility = Visibility.parse(value);
        if (visibility == null) {
            throw CloudException.badRequest("Invalid visibility value: %s", value);
        }
        return visibility;
    }

    private static MemberStatus memberStatus(String value) {
        if (value.equals("all")) {
            return null;
        }
        MemberStatus status = MemberStatus.parse(value);
        if (status == null) {
            throw CloudException.badRequest("Invalid status: %s", value);
        }
        return status;
    }

    private static boolean osHidden(String value) {
        String lower = value.toLowerCase(Locale.ROOT);
        if (!lower.equals("true") && !lower.equals("false")) {
            throw CloudException.badRequest("Invalid value '%s' for 'os_hidden' filter. Valid values are 'true' or 'false'.", lower);
        }
        return lower.equals("true");
    }

    private static List<ImageQuery.Sort> sort(String sort, List<String> sortKeys, List<String> sortDirs) {
        List<ImageQuery.Sort> result = new ArrayList<>();
        if (sort != null) {
            if (!sortKeys.isEmpty() || !sortDirs.isEmpty()) {
                throw CloudException.badRequest("Old and new sorting syntax cannot be combined");
            }
            for (String item : sort.strip().split(",")) {
                int colon = item.indexOf(':');
                String key = (colon < 0 ? item : item.substring(0, colon)).strip();
                String dir = colon < 0 ? "" : item.substring(colon + 1).strip();
                result.add(new ImageQuery.Sort(sortKey(key), descending(dir.isEmpty() ? "desc" : dir)));
            }
            return result;
        }
        List<ImageColumn> keys = new ArrayList<>();
        sortKeys.forEach(key -> keys.add(sortKey(key)));
        List<Boolean> dirs = new ArrayList<>();
        sortDirs.forEach(dir -> dirs.add(descending(dir)));
        if (dirs.size() > 1 && dirs.size() != keys.size()) {
            throw CloudException.badRequest("Number of sort dirs does not match the number of sort keys");
        }
        if (keys.isEmpty()) {
            keys.add(ImageColumn.CREATED_AT);
        }
        for (int i = 0; i < keys.size(); i++) {
            boolean descending = dirs.isEmpty() || (dirs.size() == 1 ? dirs.get(0) : dirs.get(i));
            result.add(new ImageQuery.Sort(keys.get(i), descending));
        }
        return result;
    }

    private static ImageColumn sortKey(String key) {
        ImageColumn column = ImageColumn.parse(key);
        if (column == null || !SORT_KEYS.contains(column)) {
            throw CloudException.badRequest("Invalid sort key: %s. It must be one of the following: name, status, container_format, "
                    + "disk_format, size, id, created_at, updated_at.", key);
        }
        return column;
    }

    private static boolean descending(String dir) {
        return switch (dir) {
            case "asc" -> false;
            case "desc" -> true;
            default -> throw CloudException.badRequest("Invalid sort direction: %s", dir);
        };
    }

    private static void filter(String key, String value, List<ImageQuery.Condition> conditions, Map<String, String> properties) {
        if (key.endsWith("_min") || key.endsWith("_max")) {
            ImageColumn column = ImageColumn.parse(key.substring(0, key.length() - 4));
            if (column != null && RANGE_COLUMNS.contains(column)) {
                long bound;
                try {
                    bound = Long.parseLong(value.strip());
                } catch (NumberFormatException e) {
                    throw CloudException.badRequest("Unable to filter on a range with a non-numeric value.");
                }
                conditions.add(new ImageQuery.Condition(column, key.endsWith("_min") ? ImageQuery.Operator.GTE : ImageQuery.Operator.LTE,
                        List.of(bound)));
                return;
            }
        }
        ImageColumn column = ImageColumn.parse(key);
        if (column == ImageColumn.CREATED_AT || column == ImageColumn.UPDATED_AT) {
            conditions.add(timeCondition(column, value));
        } else if (column != null && OPERATOR_COLUMNS.contains(column)) {
            conditions.add(operatorCondition(column, value));
        } else if (column == ImageColumn.PROTECTED) {
            if (!value.equals("true") && !value.equals("false")) {
                throw CloudException.badRequest("Invalid value '%s' for 'protected' filter. Valid values are 'true' or 'false'.", value);
            }
            conditions.add(new ImageQuery.Condition(column, ImageQuery.Operator.EQ, List.of(value.equals("true"))));
        } else if (column != null && EQUALITY_COLUMNS.contains(column)) {
            Object typed = value;
            if (column.type() == Long.class) {
                try {
                    typed = Long.parseLong(value.strip());
                } catch (NumberFormatException e) {
                    throw CloudException.badRequest("Invalid value '%s' for '%s' filter: an integer is required.", value, key);
                }
            }
            conditions.add(new ImageQuery.Condition(column, ImageQuery.Operator.EQ, List.of(typed)));
        } else {
            properties.put(key, value);
        }
    }

    /** Glance's split_filter_op: "op:value", where a bare value (or an ISO time) means eq. */
    private static ImageQuery.Condition operatorCondition(ImageColumn column, String expression) {
        int colon = expression.indexOf(':');
        if (colon < 0) {
            return new ImageQuery.Condition(column, ImageQuery.Operator.EQ, List.of(expression));
        }
        String op = expression.substring(0, colon);
        String operand = expression.substring(colon + 1);
        return switch (op) {
            case "eq" -> new ImageQuery.Condition(column, ImageQuery.Operator.EQ, List.of(operand));
            case "in" -> new ImageQuery.Condition(column, ImageQuery.Operator.IN, List.copyOf(splitQuoted(operand)));
            default -> throw CloudException.badRequest("Unable to filter by unknown operator '%s'.", op);
        };
    }

    private static ImageQuery.Condition timeCondition(ImageColumn column, String expression) {
        String op = "eq";
        String time = expression;
        int colon = expression.indexOf(':');
        if (colon >= 0 && parseTime(expression) == null) {
            op = expression.substring(0, colon);
            time = expression.substring(colon + 1);
        }
        Instant instant = parseTime(time);
        if (instant == null) {
            throw CloudException.badRequest("Bad \"%s\" query filter format. Use ISO 8601 DateTime notation.", column.wireName());
        }
        ImageQuery.Operator operator = switch (op) {
            case "eq" -> ImageQuery.Operator.EQ;
            case "neq" -> ImageQuery.Operator.NEQ;
            case "gt" -> ImageQuery.Operator.GT;
            case "gte" -> ImageQuery.Operator.GTE;
            case "lt" -> ImageQuery.Operator.LT;
            case "lte" -> ImageQuery.Operator.LTE;
            default -> throw CloudException.badRequest("Unable to filter by unknown operator '%s'.", op);
        };
        return new ImageQuery.Condition(column, operator, List.of(instant));
    }

    private static Instant parseTime(String value) {
        try {
            return OffsetDateTime.parse(value).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return java.time.LocalDateTime.parse(value).toInstant(java.time.ZoneOffset.UTC);
            } catch (DateTimeParseException again) {
                return null;
            }
        }
    }

    /** Glance's split_filter_value_for_quotes: commas separate, double quotes protect commas. */
    private static List<Object> splitQuoted(String value) {
        List<Object> items = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                items.add(current.toString());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        if (quoted) {
            throw CloudException.badRequest("Invalid filter value %s. The quote is not closed.", value);
        }
        items.add(current.toString());
        return items;
    }

    private static List<Map.Entry<String, String>> decode(String rawQuery) {
        List<Map.Entry<String, String>> params = new ArrayList<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return params;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            String key = equals < 0 ? pair : pair.substring(0, equals);
            String value = equals < 0 ? "" : pair.substring(equals + 1);
            try {
                params.add(new AbstractMap.SimpleImmutableEntry<>(URLDecoder.decode(key, StandardCharsets.UTF_8),
                        URLDecoder.decode(value, StandardCharsets.UTF_8)));
            } catch (IllegalArgumentException e) {
                throw CloudException.badRequest("Malformed query string: %s", pair);
            }
        }
        return params;
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
