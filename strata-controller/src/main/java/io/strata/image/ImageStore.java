package io.strata.image;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.StatementException;

/**
 * Rows of the image tables. Callers decide who may see or change what; this class reads and
 * writes, each public method in one transaction.
 */
public final class ImageStore {
    private static final String COLUMNS = "i.id, i.name, i.owner, i.status, i.visibility, i.container_format, i.disk_format, "
            + "i.size_bytes, i.virtual_size, i.checksum, i.os_hash_algo, i.os_hash_value, i.min_disk, i.min_ram, i.protected, "
            + "i.os_hidden, i.created_at, i.updated_at";

    private final Jdbi jdbi;

    public ImageStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** Who is listing: admins see every image; others what their project may see. */
    public record Viewer(String projectId, boolean admin) {}

    // ------------------------------------------------------------------ images

    /** Inserts the image with its properties and tags; false if its id is taken. */
    public boolean insert(Image image) {
        try {
            jdbi.useTransaction(h -> {
                h.createUpdate("insert into images (id, name, owner, status, visibility, container_format, disk_format, size_bytes, "
                                + "virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, protected, os_hidden, "
                                + "created_at, updated_at) values (:id, :name, :owner, :status, :visibility, :containerFormat, "
                                + ":diskFormat, :sizeBytes, :virtualSize, :checksum, :osHashAlgo, :osHashValue, :minDisk, :minRam, "
                                + ":protectedImage, :osHidden, :createdAt, :updatedAt)")
                        .bindMap(row(image))
                        .execute();
                writeProperties(h, image);
                writeTags(h, image);
            });
            return true;
        } catch (StatementException e) {
            if (isUniqueViolation(e)) {
                return false;
            }
            throw e;
        }
    }

    public Optional<Image> find(String id) {
        return jdbi.withHandle(h -> find(h, id, false));
    }

    /** The image row alone: empty properties and tags (one query instead of three). */
    public Optional<Image> findWithoutDetails(String id) {
        return jdbi.withHandle(h -> h.createQuery("select " + COLUMNS + " from images i where i.id = :id")
                .bind("id", id).map((rs, ctx) -> bareImage(rs)).findOne());
    }

    /**
     * Reads the image with its row locked, lets {@code change} compute the new image (it may throw
     * to refuse, which rolls everything back), writes it and returns it; empty if there is no image.
     */
    public Optional<Image> update(String id, UnaryOperator<Image> change) {
        return jdbi.inTransaction(h -> {
            Optional<Image> current = find(h, id, true);
            if (current.isEmpty()) {
                return Optional.<Image>empty();
            }
            Image updated = change.apply(current.get());
            if (updated == current.get()) {
                return current;
            }
            write(h, updated);
            return Optional.of(updated);
        });
    }

    /**
     * Moves the image from status {@code from} to the image {@code change} computes, only if it is
     * still in {@code from}; empty otherwise (it moved on, or is gone).
     */
    public Optional<Image> transition(String id, ImageStatus from, UnaryOperator<Image> change) {
        return jdbi.inTransaction(h -> {
            Optional<Image> current = find(h, id, true);
            if (current.isEmpty() || current.get().status() != from) {
                return Optional.<Image>empty();
            }
            Image updated = change.apply(current.get());
            write(h, updated);
            return Optional.of(updated);
        });
    }

    public boolean delete(String id) {
        return jdbi.withHandle(h -> h.execute("delete from images where id = ?", id) > 0);
    }

    /** Ids of images whose data should be on disk. */
    public Set<String> idsWithData() {
        return jdbi.withHandle(h -> Set.copyOf(h.createQuery("select id from images where status in ('active', 'deactivated')")
                .mapTo(String.class).list()));
    }

    /** Which of {@code ids} still have an image row (of any status); the others were deleted. */
    public Set<String> existing(java.util.Collection<String> ids) {
        if (ids.isEmpty()) {
            return Set.of();
        }
        return jdbi.withHandle(h -> Set.copyOf(h.createQuery("select id from images where id in (<ids>)")
                .bindList("ids", List.copyOf(ids)).mapTo(String.class).list()));
    }

    /** Where an image's data is, for controllers that hold their own copies. */
    public record Location(String id, String storedAt, String md5) {}

    /** Active images with their data's location (null: not claimed by any controller yet). */
    public List<Location> activeLocations() {
        return jdbi.withHandle(h -> h.createQuery("select id, stored_at, checksum from images where status = 'active'")
                .map((rs, ctx) -> new Location(rs.getString("id"), rs.getString("stored_at"), rs.getString("checksum"))).list());
    }

    /** Records that {@code url}'s controller holds the image's data, unless another one already said so. */
    public void claimLocation(String id, String url) {
        jdbi.useHandle(h -> h.execute("update images set stored_at = ? where id = ? and stored_at is null", url, id));
    }

    /** Puts images stuck in saving (the process died mid-upload) back to queued; returns their ids. */
    public List<String> resetSaving(Instant now) {
        return jdbi.inTransaction(h -> {
            List<String> ids = h.createQuery("select id from images where status = 'saving'").mapTo(String.class).list();
            h.createUpdate("update images set status = 'queued', size_bytes = null, virtual_size = null, checksum = null, "
                            + "os_hash_algo = null, os_hash_value = null, updated_at = :now where status = 'saving'")
                    .bind("now", time(now)).execute();
            return ids;
        });
    }

    public int countOwnedBy(String owner) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from images where owner = :o").bind("o", owner)
                .mapTo(Integer.class).one());
    }

    /** One page of the images {@code viewer} may see that match {@code query}, after {@code marker}. */
    public List<Image> list(ImageQuery query, Viewer viewer, Image marker) {
        return jdbi.withHandle(h -> {
            Map<String, Object> binds = new HashMap<>();
            StringBuilder sql = new StringBuilder("select ").append(COLUMNS).append(" from images i where i.os_hidden = :osHidden");
            binds.put("osHidden", query.osHidden());
            appendScope(sql, binds, query, viewer);
            appendConditions(sql, binds, query);
            List<ImageQuery.Sort> sort = withTieBreakers(query.sort());
            if (marker != null) {
                appendAfterMarker(sql, binds, sort, marker);
            }
            sql.append(" order by ").append(sort.stream()
                    .map(s -> s.column().sql() + (s.descending() ? " desc" : " asc")).collect(Collectors.joining(", ")));
            sql.append(" limit :limit");
            binds.put("limit", query.limit());
            Query statement = h.createQuery(sql.toString());
            binds.forEach((name, value) -> statement.bind(name, bindable(value)));
            List<Image> bare = statement.map((rs, ctx) -> bareImage(rs)).list();
            return withDetails(h, bare);
        });
    }

    // ------------------------------------------------------------------ members

    /** Adds the membership; false if the project is a member already. */
    public boolean insertMember(ImageMember member) {
        try {
            jdbi.useHandle(h -> h.createUpdate("insert into image_members (image_id, member_id, status, created_at, updated_at) "
                            + "values (:image, :member, :status, :created, :updated)")
                    .bind("image", member.imageId()).bind("member", member.memberId()).bind("status", member.status().wireName())
                    .bind("created", time(member.createdAt())).bind("updated", time(member.updatedAt()))
                    .execute());
            return true;
        } catch (StatementException e) {
            if (isUniqueViolation(e)) {
                return false;
            }
            throw e;
        }
    }

    public Optional<ImageMember> findMember(String imageId, String memberId) {
        return jdbi.withHandle(h -> findMember(h, imageId, memberId));
    }

    public List<ImageMember> listMembers(String imageId) {
        return jdbi.withHandle(h -> h.createQuery("select * from image_members where image_id = :i order by created_at, member_id")
                .bind("i", imageId).map((rs, ctx) -> member(rs)).list());
    }

    public int countMembers(String imageId) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from image_members where image_id = :i").bind("i", imageId)
                .mapTo(Integer.class).one());
    }

    public void updateMember(ImageMember member) {
        jdbi.useHandle(h -> h.createUpdate("update image_members set status = :status, updated_at = :updated "
                        + "where image_id = :image and member_id = :member")
                .bind("status", member.status().wireName()).bind("updated", time(member.updatedAt()))
                .bind("image", member.imageId()).bind("member", member.memberId())
                .execute());
    }

    public boolean deleteMember(String imageId, String memberId) {
        return jdbi.withHandle(h -> h.execute("delete from image_members where image_id = ? and member_id = ?", imageId, memberId) > 0);
    }

    // ------------------------------------------------------------------ SQL pieces

    /** Glance's visibility rules for lists (glance.db.sqlalchemy.api._select_images_query). */
    private static void appendScope(StringBuilder sql, Map<String, Object> binds, ImageQuery query, ImageStore.Viewer viewer) {
        String project = viewer.projectId();
        if (!viewer.admin()) {
            sql.append(" and (i.visibility in ('public', 'community')");
            if (project != null) {
                binds.put("viewer", project);
                sql.append(" or i.owner = :viewer or (i.visibility = 'shared' and exists (select 1 from image_members m "
                        + "where m.image_id = i.id and m.member_id = :viewer");
                if (query.memberStatus() != null) {
                    sql.append(" and m.status = :memberStatus");
                    binds.put("memberStatus", query.memberStatus().wireName());
                }
                sql.append("))");
            }
            sql.append(")");
        }
        if (query.visibility() != null) {
            sql.append(" and i.visibility = :visibility");
            binds.put("visibility", query.visibility().wireName());
        } else if (project == null) {
            sql.append(" and i.visibility <> 'community'");
        } else {
            // Community images are listed by default only to their owner.
            binds.put("viewer", project);
            sql.append(" and (i.owner = :viewer or i.visibility <> 'community')");
        }
    }

    private static void appendConditions(StringBuilder sql, Map<String, Object> binds, ImageQuery query) {
        int n = 0;
        for (ImageQuery.Condition condition : query.conditions()) {
            String column = rawColumn(condition.column());
            if (condition.operator() == ImageQuery.Operator.IN) {
                List<String> names = new ArrayList<>();
                for (Object value : condition.values()) {
                    String name = "c" + n++;
                    names.add(":" + name);
                    binds.put(name, value);
                }
                sql.append(" and ").append(column).append(" in (").append(String.join(", ", names)).append(")");
            } else {
                String name = "c" + n++;
                binds.put(name, condition.values().get(0));
                sql.append(" and ").append(column).append(' ').append(condition.operator().sql()).append(" :").append(name);
            }
        }
        int t = 0;
        for (String tag : query.tags()) {
            String name = "t" + t++;
            binds.put(name, tag);
            sql.append(" and exists (select 1 from image_tags g where g.image_id = i.id and g.tag = :").append(name).append(")");
        }
        int p = 0;
        for (Map.Entry<String, String> property : query.properties().entrySet()) {
            String name = "pn" + p;
            String value = "pv" + p++;
            binds.put(name, property.getKey());
            binds.put(value, property.getValue());
            sql.append(" and exists (select 1 from image_properties p where p.image_id = i.id and p.name = :").append(name)
                    .append(" and p.value = :").append(value).append(")");
        }
    }

    /** Filters compare the stored value (a NULL name matches no name), unlike sorting. */
    private static String rawColumn(ImageColumn column) {
        return switch (column) {
            case NAME -> "i.name";
            case CONTAINER_FORMAT -> "i.container_format";
            case DISK_FORMAT -> "i.disk_format";
            case SIZE -> "i.size_bytes";
            case VIRTUAL_SIZE -> "i.virtual_size";
            case ID, STATUS, OWNER, CHECKSUM, OS_HASH_VALUE, PROTECTED, MIN_RAM, MIN_DISK, CREATED_AT, UPDATED_AT -> column.sql();
        };
    }

    /** Glance appends created_at and id so that the order is total and a marker is unambiguous. */
    private static List<ImageQuery.Sort> withTieBreakers(List<ImageQuery.Sort> sort) {
        List<ImageQuery.Sort> all = new ArrayList<>(sort);
        boolean descending = sort.isEmpty() || sort.get(0).descending();
        for (ImageColumn column : List.of(ImageColumn.CREATED_AT, ImageColumn.ID)) {
            if (all.stream().noneMatch(s -> s.column() == column)) {
                all.add(new ImageQuery.Sort(column, descending));
            }
        }
        return all;
    }

    /** Keyset paging: (k1 after v1) or (k1 = v1 and k2 after v2) or … */
    private static void appendAfterMarker(StringBuilder sql, Map<String, Object> binds, List<ImageQuery.Sort> sort, Image marker) {
        List<String> alternatives = new ArrayList<>();
        for (int i = 0; i < sort.size(); i++) {
            List<String> terms = new ArrayList<>();
            for (int j = 0; j < i; j++) {
                terms.add(sort.get(j).column().sql() + " = :m" + j);
            }
            ImageQuery.Sort key = sort.get(i);
            terms.add(key.column().sql() + (key.descending() ? " < :m" : " > :m") + i);
            alternatives.add("(" + String.join(" and ", terms) + ")");
        }
        for (int i = 0; i < sort.size(); i++) {
            binds.put("m" + i, sort.get(i).column().valueOf(marker));
        }
        sql.append(" and (").append(String.join(" or ", alternatives)).append(")");
    }

    // ------------------------------------------------------------------ reading and writing rows

    /** SQLState class 23 (integrity constraint violation): a primary key that is taken, on H2 and PostgreSQL alike. */
    private static boolean isUniqueViolation(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("23")) {
                return true;
            }
        }
        return false;
    }

    private static Optional<Image> find(Handle h, String id, boolean forUpdate) {
        Optional<Image> bare = h.createQuery("select " + COLUMNS + " from images i where i.id = :id" + (forUpdate ? " for update" : ""))
                .bind("id", id).map((rs, ctx) -> bareImage(rs)).findOne();
        return bare.map(image -> withDetails(h, List.of(image)).get(0));
    }

    private static Optional<ImageMember> findMember(Handle h, String imageId, String memberId) {
        return h.createQuery("select * from image_members where image_id = :i and member_id = :m")
                .bind("i", imageId).bind("m", memberId).map((rs, ctx) -> member(rs)).findOne();
    }

    private static void write(Handle h, Image image) {
        h.createUpdate("update images set name = :name, owner = :owner, status = :status, visibility = :visibility, "
                        + "container_format = :containerFormat, disk_format = :diskFormat, size_bytes = :sizeBytes, "
                        + "virtual_size = :virtualSize, checksum = :checksum, os_hash_algo = :osHashAlgo, os_hash_value = :osHashValue, "
                        + "min_disk = :minDisk, min_ram = :minRam, protected = :protectedImage, os_hidden = :osHidden, "
                        + "updated_at = :updatedAt where id = :id")
                .bindMap(row(image))
                .execute();
        h.execute("delete from image_properties where image_id = ?", image.id());
        h.execute("delete from image_tags where image_id = ?", image.id());
        writeProperties(h, image);
        writeTags(h, image);
    }

    private static void writeProperties(Handle h, Image image) {
        if (image.properties().isEmpty()) {
            return;
        }
        var batch = h.prepareBatch("insert into image_properties (image_id, name, value) values (:image, :name, :value)");
        image.properties().forEach((name, value) -> batch.bind("image", image.id()).bind("name", name).bind("value", value).add());
        batch.execute();
    }

    private static void writeTags(Handle h, Image image) {
        if (image.tags().isEmpty()) {
            return;
        }
        var batch = h.prepareBatch("insert into image_tags (image_id, tag) values (:image, :tag)");
        image.tags().forEach(tag -> batch.bind("image", image.id()).bind("tag", tag).add());
        batch.execute();
    }

    private static Map<String, Object> row(Image image) {
        Map<String, Object> row = new HashMap<>();
        row.put("id", image.id());
        row.put("name", image.name());
        row.put("owner", image.owner());
        row.put("status", image.status().wireName());
        row.put("visibility", image.visibility().wireName());
        row.put("containerFormat", image.containerFormat());
        row.put("diskFormat", image.diskFormat());
        row.put("sizeBytes", image.sizeBytes());
        row.put("virtualSize", image.virtualSize());
        row.put("checksum", image.checksum());
        row.put("osHashAlgo", image.osHashAlgo());
        row.put("osHashValue", image.osHashValue());
        row.put("minDisk", image.minDisk());
        row.put("minRam", image.minRam());
        row.put("protectedImage", image.protectedImage());
        row.put("osHidden", image.osHidden());
        row.put("createdAt", time(image.createdAt()));
        row.put("updatedAt", time(image.updatedAt()));
        return row;
    }

    /** Adds properties and tags to images read without them, with one query each for the whole page. */
    private static List<Image> withDetails(Handle h, List<Image> images) {
        if (images.isEmpty()) {
            return images;
        }
        List<String> ids = images.stream().map(Image::id).toList();
        Map<String, Map<String, String>> properties = new HashMap<>();
        h.createQuery("select image_id, name, value from image_properties where image_id in (<ids>)")
                .bindList("ids", ids)
                .map((rs, ctx) -> {
                    properties.computeIfAbsent(rs.getString("image_id"), k -> new LinkedHashMap<>())
                            .put(rs.getString("name"), rs.getString("value"));
                    return null;
                })
                .list();
        Map<String, List<String>> tags = new HashMap<>();
        h.createQuery("select image_id, tag from image_tags where image_id in (<ids>)")
                .bindList("ids", ids)
                .map((rs, ctx) -> {
                    tags.computeIfAbsent(rs.getString("image_id"), k -> new ArrayList<>()).add(rs.getString("tag"));
                    return null;
                })
                .list();
        List<Image> detailed = new ArrayList<>(images.size());
        for (Image image : images) {
            detailed.add(new Image(image.id(), image.name(), image.owner(), image.status(), image.visibility(), image.containerFormat(),
                    image.diskFormat(), image.sizeBytes(), image.virtualSize(), image.checksum(), image.osHashAlgo(),
                    image.osHashValue(), image.minDisk(), image.minRam(), image.protectedImage(), image.osHidden(),
                    properties.getOrDefault(image.id(), Map.of()), tags.getOrDefault(image.id(), List.of()), image.createdAt(),
                    image.updatedAt()));
        }
        return detailed;
    }

    private static Image bareImage(ResultSet rs) throws SQLException {
        return new Image(rs.getString("id"), rs.getString("name"), rs.getString("owner"), ImageStatus.fromWire(rs.getString("status")),
                Visibility.parse(rs.getString("visibility")), rs.getString("container_format"), rs.getString("disk_format"),
                nullableLong(rs, "size_bytes"), nullableLong(rs, "virtual_size"), rs.getString("checksum"),
                rs.getString("os_hash_algo"), rs.getString("os_hash_value"), rs.getInt("min_disk"), rs.getInt("min_ram"),
                rs.getBoolean("protected"), rs.getBoolean("os_hidden"), Map.of(), List.of(), instant(rs, "created_at"),
                instant(rs, "updated_at"));
    }

    private static ImageMember member(ResultSet rs) throws SQLException {
        return new ImageMember(rs.getString("image_id"), rs.getString("member_id"), MemberStatus.parse(rs.getString("status")),
                instant(rs, "created_at"), instant(rs, "updated_at"));
    }

    private static Long nullableLong(ResultSet rs, String column) throws SQLException {
        long value = rs.getLong(column);
        return rs.wasNull() ? null : value;
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    private static OffsetDateTime time(Instant instant) {
        return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
    }

    /** Instants bind as UTC timestamps with zone, the same on H2 and PostgreSQL. */
    private static Object bindable(Object value) {
        return value instanceof Instant instant ? time(instant) : value;
    }
}
