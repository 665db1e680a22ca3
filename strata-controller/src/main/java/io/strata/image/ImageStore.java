package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/** Image rows with their properties, tags and members. */
public final class ImageStore {
    private static final Map<String, String> SORT_COLUMNS = Map.ofEntries(
            Map.entry("created_at", "created_at"), Map.entry("updated_at", "updated_at"), Map.entry("name", "name"),
            Map.entry("id", "id"), Map.entry("status", "status"), Map.entry("size", "size_bytes"),
            Map.entry("disk_format", "disk_format"), Map.entry("container_format", "container_format"),
            Map.entry("visibility", "visibility"), Map.entry("min_disk", "min_disk"), Map.entry("min_ram", "min_ram"),
            Map.entry("owner", "owner"));

    private final Jdbi jdbi;

    /** Filters of a list; null means unfiltered. {@code viewer} null lists as admin. */
    public record ListQuery(
            String viewer,
            String visibility,
            String name,
            String status,
            String owner,
            Set<String> tags,
            String memberStatus,
            Boolean osHidden,
            List<String[]> sort,
            String marker,
            int limit) {}

    public ImageStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    public static boolean isSortKey(String key) {
        return SORT_COLUMNS.containsKey(key);
    }

    public void insert(Image image) {
        jdbi.useTransaction(h -> {
            h.createUpdate("insert into images (id, name, owner, status, visibility, container_format, disk_format, size_bytes, "
                            + "virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, protected, os_hidden, created_at, "
                            + "updated_at) values (:id, :name, :owner, :status, :visibility, :containerFormat, :diskFormat, :sizeBytes, "
                            + ":virtualSize, :checksum, :osHashAlgo, :osHashValue, :minDisk, :minRam, :protectedImage, :osHidden, "
                            + ":createdAt, :updatedAt)")
                    .bindMethods(image).execute();
            writeProperties(h, image.id(), image.properties());
            writeTags(h, image.id(), image.tags());
        });
    }

    /** Replaces every mutable attribute, properties and tags of an image. */
    public void update(Image image) {
        jdbi.useTransaction(h -> {
            h.createUpdate("update images set name = :name, visibility = :visibility, container_format = :containerFormat, "
                            + "disk_format = :diskFormat, min_disk = :minDisk, min_ram = :minRam, protected = :protectedImage, "
                            + "os_hidden = :osHidden, updated_at = :updatedAt where id = :id")
                    .bindMethods(image).execute();
            h.execute("delete from image_properties where image_id = ?", image.id());
            writeProperties(h, image.id(), image.properties());
            h.execute("delete from image_tags where image_id = ?", image.id());
            writeTags(h, image.id(), image.tags());
        });
    }

    /** Moves an image from one status to another; false if it was not in {@code from} any more. */
    public boolean transition(String id, String from, String to, Instant now) {
        return jdbi.withHandle(h -> h.execute("update images set status = ?, updated_at = ? where id = ? and status = ?", to, now, id, from) == 1);
    }

    /** Records a finished upload and activates the image. */
    public boolean activate(String id, long size, String checksum, String sha512, Instant now) {
        return jdbi.withHandle(h -> h.execute("update images set status = 'active', size_bytes = ?, virtual_size = ?, checksum = ?, "
                        + "os_hash_algo = 'sha512', os_hash_value = ?, updated_at = ? where id = ? and status = 'saving'",
                size, size, checksum, sha512, now, id) == 1);
    }

    public Optional<Image> find(String id) {
        return jdbi.withHandle(h -> load(h, h.createQuery("select * from images where id = :id").bind("id", id)).stream().findFirst());
    }

    public void delete(String id) {
        jdbi.useHandle(h -> h.execute("delete from images where id = ?", id));
    }

    public List<Image> list(ListQuery q) {
        return jdbi.withHandle(h -> {
            StringBuilder sql = new StringBuilder("select * from images i where 1 = 1");
            Map<String, Object> args = new HashMap<>();
            if (q.viewer() != null) {
                args.put("viewer", q.viewer());
                String member = "exists (select 1 from image_members m where m.image_id = i.id and m.member_id = :viewer%s)";
                if (q.visibility() == null) {
                    // Glance's default list: public, the caller's own, and shares it accepted (not community).
                    sql.append(" and (i.visibility = 'public' or i.owner = :viewer or (i.visibility = 'shared' and ")
                            .append(member.formatted(q.memberStatus() == null ? " and m.status = 'accepted'"
                                    : q.memberStatus().equals("all") ? "" : " and m.status = :memberStatus"))
                            .append("))");
                } else {
                    sql.append(" and (i.visibility in ('public', 'community') or i.owner = :viewer or (i.visibility = 'shared' and ")
                            .append(member.formatted("")).append("))");
                }
                if (q.memberStatus() != null && !q.memberStatus().equals("all")) {
                    args.put("memberStatus", q.memberStatus());
                }
            }
            if (q.visibility() != null && !q.visibility().equals("all")) {
                sql.append(" and i.visibility = :visibility");
                args.put("visibility", q.visibility());
            }
            if (q.name() != null) {
                sql.append(" and i.name = :name");
                args.put("name", q.name());
            }
            if (q.status() != null) {
                sql.append(" and i.status = :status");
                args.put("status", q.status());
            }
            if (q.owner() != null) {
                sql.append(" and i.owner = :owner");
                args.put("owner", q.owner());
            }
            if (q.osHidden() != null) {
                sql.append(" and i.os_hidden = :osHidden");
                args.put("osHidden", q.osHidden());
            }
            if (q.tags() != null) {
                int n = 0;
                for (String tag : q.tags()) {
                    sql.append(" and exists (select 1 from image_tags t where t.image_id = i.id and t.tag = :tag").append(n).append(')');
                    args.put("tag" + n++, tag);
                }
            }
            List<String[]> sort = q.sort().isEmpty() ? List.<String[]>of(new String[] {"created_at", "desc"}) : q.sort();
            if (q.marker() != null) {
                Map<String, Object> marker = h.createQuery("select * from images where id = :m").bind("m", q.marker()).mapToMap()
                        .findOne().orElseThrow(() -> CloudException.badRequest("marker %s not found", q.marker()));
                String[] first = sort.get(0);
                String column = SORT_COLUMNS.get(first[0]);
                String cmp = first[1].equals("asc") ? ">" : "<";
                Object value = marker.get(column);
                if (value == null) {
                    sql.append(" and i.id ").append(cmp).append(" :markerId");
                } else {
                    sql.append(" and (i.").append(column).append(' ').append(cmp).append(" :markerValue or (i.").append(column)
                            .append(" = :markerValue and i.id ").append(cmp).append(" :markerId))");
                    args.put("markerValue", value);
                }
                args.put("markerId", q.marker());
            }
            sql.append(" order by ");
            for (String[] key : sort) {
                sql.append("i.").append(SORT_COLUMNS.get(key[0])).append(' ').append(key[1]).append(", ");
            }
            sql.append("i.id ").append(sort.get(0)[1]).append(" limit ").append(q.limit());
            Query query = h.createQuery(sql.toString());
            args.forEach(query::bind);
            return load(h, query);
        });
    }

    // --- members

    public List<ImageMember> members(String imageId) {
        return jdbi.withHandle(h -> h.createQuery("select * from image_members where image_id = :id order by member_id").bind("id", imageId)
                .map((rs, c) -> member(rs)).list());
    }

    public Optional<ImageMember> member(String imageId, String memberId) {
        return jdbi.withHandle(h -> h.createQuery("select * from image_members where image_id = :id and member_id = :m")
                .bind("id", imageId).bind("m", memberId).map((rs, c) -> member(rs)).findOne());
    }

    public void addMember(ImageMember member) {
        jdbi.useHandle(h -> h.createUpdate("insert into image_members (image_id, member_id, status, created_at, updated_at) "
                + "values (:imageId, :memberId, :status, :createdAt, :updatedAt)").bindMethods(member).execute());
    }

    public void setMemberStatus(String imageId, String memberId, String status, Instant now) {
        jdbi.useHandle(h -> h.execute("update image_members set status = ?, updated_at = ? where image_id = ? and member_id = ?",
                status, now, imageId, memberId));
    }

    public void removeMember(String imageId, String memberId) {
        jdbi.useHandle(h -> h.execute("delete from image_members where image_id = ? and member_id = ?", imageId, memberId));
    }

    // --- mapping

    private static void writeProperties(Handle h, String id, Map<String, String> properties) {
        for (Map.Entry<String, String> e : properties.entrySet()) {
            h.execute("insert into image_properties (image_id, name, value) values (?, ?, ?)", id, e.getKey(), e.getValue());
        }
    }

    private static void writeTags(Handle h, String id, List<String> tags) {
        for (String tag : tags) {
            h.execute("insert into image_tags (image_id, tag) values (?, ?)", id, tag);
        }
    }

    private static List<Image> load(Handle h, Query query) {
        List<Image> rows = query.map((rs, c) -> row(rs)).list();
        if (rows.isEmpty()) {
            return rows;
        }
        List<String> ids = rows.stream().map(Image::id).toList();
        Map<String, Map<String, String>> properties = new HashMap<>();
        Map<String, List<String>> tags = new HashMap<>();
        h.createQuery("select image_id, name, value from image_properties where image_id in (<ids>) order by name").bindList("ids", ids)
                .map((rs, c) -> new String[] {rs.getString(1), rs.getString(2), rs.getString(3)})
                .forEach(p -> properties.computeIfAbsent(p[0], k -> new LinkedHashMap<>()).put(p[1], p[2]));
        h.createQuery("select image_id, tag from image_tags where image_id in (<ids>) order by tag").bindList("ids", ids)
                .map((rs, c) -> new String[] {rs.getString(1), rs.getString(2)})
                .forEach(t -> tags.computeIfAbsent(t[0], k -> new ArrayList<>()).add(t[1]));
        List<Image> images = new ArrayList<>(rows.size());
        for (Image i : rows) {
            images.add(new Image(i.id(), i.name(), i.owner(), i.status(), i.visibility(), i.containerFormat(), i.diskFormat(), i.sizeBytes(),
                    i.virtualSize(), i.checksum(), i.osHashAlgo(), i.osHashValue(), i.minDisk(), i.minRam(), i.protectedImage(),
                    i.osHidden(), properties.getOrDefault(i.id(), Map.of()), tags.getOrDefault(i.id(), List.of()), i.createdAt(),
                    i.updatedAt()));
        }
        return images;
    }

    private static Image row(ResultSet rs) throws SQLException {
        return new Image(rs.getString("id"), rs.getString("name"), rs.getString("owner"), rs.getString("status"),
                rs.getString("visibility"), rs.getString("container_format"), rs.getString("disk_format"),
                (Long) rs.getObject("size_bytes", Long.class), (Long) rs.getObject("virtual_size", Long.class), rs.getString("checksum"),
                rs.getString("os_hash_algo"), rs.getString("os_hash_value"), rs.getInt("min_disk"), rs.getInt("min_ram"),
                rs.getBoolean("protected"), rs.getBoolean("os_hidden"), Map.of(), List.of(), instant(rs, "created_at"),
                instant(rs, "updated_at"));
    }

    private static ImageMember member(ResultSet rs) throws SQLException {
        return new ImageMember(rs.getString("image_id"), rs.getString("member_id"), rs.getString("status"), instant(rs, "created_at"),
                instant(rs, "updated_at"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }
}
