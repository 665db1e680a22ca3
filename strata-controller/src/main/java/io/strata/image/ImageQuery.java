package io.strata.image;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * One page of an image list, as Glance's GET /v2/images asks for it.
 *
 * @param visibility only images of this visibility; null means Glance's default (everything the
 *     caller may see except other projects' community images)
 * @param memberStatus shared images appear when the caller's membership has this status; null means any
 * @param osHidden list hidden images (true) or the others (false)
 * @param conditions filters on core attributes, all of which must hold
 * @param tags tags the image must all carry
 * @param properties free-form properties the image must carry with exactly these values
 * @param sort sort keys, most significant first
 * @param marker id of the last image of the previous page, or null
 * @param limit most images to return
 */
public record ImageQuery(
        Visibility visibility,
        MemberStatus memberStatus,
        boolean osHidden,
        List<Condition> conditions,
        List<String> tags,
        Map<String, String> properties,
        List<Sort> sort,
        String marker,
        int limit) {
    public static final int DEFAULT_LIMIT = 25;
    public static final int MAX_LIMIT = 1000;

    public ImageQuery {
        conditions = List.copyOf(conditions);
        tags = List.copyOf(tags);
        properties = Map.copyOf(properties);
        sort = List.copyOf(sort);
        if (limit < 0) {
            throw new IllegalArgumentException("limit must not be negative");
        }
    }

    /** Everything the caller sees by default, newest first. */
    public static ImageQuery all() {
        return new ImageQuery(null, MemberStatus.ACCEPTED, false, List.of(), List.of(), Map.of(),
                List.of(new Sort(ImageColumn.CREATED_AT, true)), null, DEFAULT_LIMIT);
    }

    /** How a filter compares: Glance's eq/neq/in and the gt/gte/lt/lte of its time and size filters. */
    public enum Operator {
        EQ("="),
        NEQ("<>"),
        IN("in"),
        GT(">"),
        GTE(">="),
        LT("<"),
        LTE("<=");

        private final String sql;

        Operator(String sql) {
            this.sql = sql;
        }

        String sql() {
            return sql;
        }
    }

    /** {@code column operator values}; every operator but IN takes exactly one value. */
    public record Condition(ImageColumn column, Operator operator, List<Object> values) {
        public Condition {
            requireNonNull(column, "column is null");
            requireNonNull(operator, "operator is null");
            values = List.copyOf(values);
            if (values.isEmpty() || (operator != Operator.IN && values.size() != 1)) {
                throw new IllegalArgumentException(operator + " takes " + (operator == Operator.IN ? "values" : "one value"));
            }
            for (Object value : values) {
                if (!column.type().isInstance(value)) {
                    throw new IllegalArgumentException(column + " compares " + column.type().getSimpleName() + " values");
                }
            }
        }
    }

    public record Sort(ImageColumn column, boolean descending) {
        public Sort {
            requireNonNull(column, "column is null");
        }
    }
}
