package io.strata.liveimage;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.hypervisor.LiveImageRef;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Live images and the servers that run from them (tables live_images, live_image_servers). */
public final class LiveImageStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};

    private final Jdbi jdbi;

    public LiveImageStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** A launch of one clone: what it resumes from and what its guest is told. */
    public record Launch(String serverId, String liveImageId, boolean source, Map<String, String> guestParams, int targetMemoryMb) {
        public Launch {
            guestParams = Map.copyOf(guestParams);
        }
    }

    /** Records a bless in progress, in the caller's transaction (the one that inserts the image's row). */
    public void insertBlessing(Handle h, String id, String sourceId, String projectId, String host, Instant now) {
        h.createUpdate("insert into live_images (id, source_id, project_id, host, status, created_at, updated_at) "
                        + "values (:id, :source, :project, :host, 'blessing', :now, :now)")
                .bind("id", id).bind("source", sourceId).bind("project", projectId).bind("host", host).bind("now", now).execute();
    }

    /** Records the host's part of a finished bless, and that the source now runs from the image. */
    public void markBlessed(String id, LiveImageRef ref, Instant now) {
        jdbi.useTransaction(h -> {
            LiveImage image = find(h, id).orElseThrow(() -> new IllegalStateException("live image " + id + " vanished"));
            h.createUpdate("update live_images set status = 'blessed', dir = :dir, vcpus = :vcpus, memory_mb = :memory, "
                            + "attributes = :attributes, updated_at = :now where id = :id")
                    .bind("dir", ref.dir().toString()).bind("vcpus", ref.vcpus()).bind("memory", ref.memoryMb())
                    .bind("attributes", json(ref.attributes())).bind("now", now).bind("id", id).execute();
            h.createUpdate("insert into live_image_servers (server_id, live_image_id, is_source, created_at) "
                            + "values (:server, :image, true, :now)")
                    .bind("server", image.sourceId()).bind("image", id).bind("now", now).execute();
        });
    }

    /** Records that a source runs from an image whose bless was cut short after the host finished it. */
    public void linkSource(String id, String sourceId, Instant now) {
        jdbi.useHandle(h -> h.createUpdate("insert into live_image_servers (server_id, live_image_id, is_source, created_at) "
                        + "values (:server, :image, true, :now)")
                .bind("server", sourceId).bind("image", id).bind("now", now).execute());
    }

    /** How many live images were ever blessed from a server and are still known (Cobalt's per-server counter). */
    public int blessedCount(String sourceId) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from live_images where source_id = :id")
                .bind("id", sourceId).mapTo(Integer.class).one());
    }

    /** The live image a server runs from (as a clone or as a blessed source), if any. */
    public Optional<String> imageRunBy(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select live_image_id from live_image_servers where server_id = :id")
                .bind("id", serverId).mapTo(String.class).findOne());
    }

    public void setStatus(String id, LiveImage.Status status, Instant now) {
        jdbi.useHandle(h -> h.createUpdate("update live_images set status = :status, updated_at = :now where id = :id")
                .bind("status", status.wireName()).bind("now", now).bind("id", id).execute());
    }

    /** Links clones to their live image, in the caller's transaction (the one that inserts the clones' rows). */
    public void insertLaunches(Handle h, List<Launch> launches, Instant now) {
        var batch = h.prepareBatch("insert into live_image_servers (server_id, live_image_id, is_source, guest_params, target_memory_mb, "
                + "created_at) values (:server, :image, false, :params, :target, :now)");
        for (Launch l : launches) {
            batch.bind("server", l.serverId()).bind("image", l.liveImageId()).bind("params", json(l.guestParams()))
                    .bind("target", l.targetMemoryMb()).bind("now", now).add();
        }
        batch.execute();
    }

    public Optional<LiveImage> find(String id) {
        return jdbi.withHandle(h -> find(h, id));
    }

    /** The launch record of a clone (not of a blessed source: a source is not relaunched from its image). */
    public Optional<Launch> findLaunch(String serverId) {
        return jdbi.withHandle(h -> h.createQuery("select * from live_image_servers where server_id = :id and is_source = false")
                .bind("id", serverId).map((rs, ctx) -> launch(rs)).findOne());
    }

    /** Live images blessed from a server (any status but discarded). */
    public List<LiveImage> blessedFrom(String sourceId) {
        return jdbi.withHandle(h -> h.createQuery("select * from live_images where source_id = :id and status <> 'discarded' "
                        + "order by created_at, id")
                .bind("id", sourceId).map((rs, ctx) -> image(rs)).list());
    }

    /** Ids of the live (not deleted) clones launched from a live image, oldest first. */
    public List<String> liveClones(String liveImageId) {
        return jdbi.withHandle(h -> h.createQuery("select l.server_id from live_image_servers l join servers s on s.id = l.server_id "
                        + "where l.live_image_id = :id and l.is_source = false and s.deleted = false order by l.created_at, l.server_id")
                .bind("id", liveImageId).mapTo(String.class).list());
    }

    /** How many live servers (clones or the source) still run from the image's files. */
    public int liveUsers(String liveImageId) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from live_image_servers l join servers s on s.id = l.server_id "
                        + "where l.live_image_id = :id and s.deleted = false")
                .bind("id", liveImageId).mapTo(Integer.class).one());
    }

    public List<LiveImage> withStatus(LiveImage.Status status) {
        return jdbi.withHandle(h -> h.createQuery("select * from live_images where status = :status order by created_at, id")
                .bind("status", status.wireName()).map((rs, ctx) -> image(rs)).list());
    }

    /** Forgets an image whose files are gone (its server row stays, soft-deleted, for history). */
    public void delete(String id) {
        jdbi.useTransaction(h -> {
            h.execute("delete from live_image_servers where live_image_id = ?", id);
            h.execute("delete from live_images where id = ?", id);
        });
    }

    private static Optional<LiveImage> find(org.jdbi.v3.core.Handle h, String id) {
        return h.createQuery("select * from live_images where id = :id").bind("id", id).map((rs, ctx) -> image(rs)).findOne();
    }

    private static LiveImage image(ResultSet rs) throws SQLException {
        return new LiveImage(rs.getString("id"), rs.getString("source_id"), rs.getString("project_id"), rs.getString("host"),
                LiveImage.Status.fromWireName(rs.getString("status")), rs.getString("dir"), rs.getInt("vcpus"), rs.getInt("memory_mb"),
                map(rs.getString("attributes")), instant(rs, "created_at"), instant(rs, "updated_at"));
    }

    private static Launch launch(ResultSet rs) throws SQLException {
        return new Launch(rs.getString("server_id"), rs.getString("live_image_id"), rs.getBoolean("is_source"),
                map(rs.getString("guest_params")), rs.getInt("target_memory_mb"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.withOffsetSameInstant(ZoneOffset.UTC).toInstant();
    }

    /** The most a clone's guest params take as stored (JSON), the size of their column. */
    static final int MAX_GUEST_PARAMS_JSON = 4000;

    /** How many characters {@code params} take as stored. */
    static int storedSize(Map<String, String> params) {
        return json(params).length();
    }

    private static String json(Map<String, String> map) {
        try {
            return JSON.writeValueAsString(map);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> map(String json) {
        try {
            return json == null ? Map.of() : JSON.readValue(json, STRING_MAP);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("unreadable JSON in live_images: " + json, e);
        }
    }
}
