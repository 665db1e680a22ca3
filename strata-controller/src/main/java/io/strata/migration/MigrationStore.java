package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.jdbi.v3.core.Jdbi;

/**
 * Migration objects as JSON documents keyed by (kind, id). Updates are compare-and-set on a
 * version column and retried, so concurrent writers (the API and an execution's worker thread,
 * or two controllers) never overwrite each other's changes.
 */
public final class MigrationStore {
    static final ObjectMapper MAPPER = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The kinds of documents, each with its record type. */
    public enum Kind {
        ENDPOINT(Endpoint.class),
        TRANSFER(Transfer.class),
        EXECUTION(Execution.class),
        SCHEDULE(Schedule.class),
        MINION_POOL(MinionPool.class),
        REGION(Region.class),
        SERVICE(WorkerService.class);

        final Class<?> type;

        Kind(Class<?> type) {
            this.type = type;
        }
    }

    /** Records stored here expose their identity so the store can index them. */
    public interface Document {
        String id();

        String projectId();

        /** The owning object's id (an execution's transfer, a schedule's replica), or null. */
        default String parentId() {
            return null;
        }
    }

    private final Jdbi jdbi;
    private final Clock clock;

    public MigrationStore(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public void insert(Kind kind, Document document) {
        OffsetDateTime now = OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC);
        jdbi.useHandle(h -> h.createUpdate("insert into migration_objects (kind, id, project_id, parent_id, version, body, created_at, updated_at) "
                        + "values (:kind, :id, :project, :parent, 1, :body, :now, :now)")
                .bind("kind", kind.name()).bind("id", document.id()).bind("project", document.projectId())
                .bind("parent", document.parentId()).bind("body", write(document)).bind("now", now).execute());
    }

    public <T extends Document> Optional<T> find(Kind kind, String id, Class<T> type) {
        return jdbi.withHandle(h -> h.createQuery("select body from migration_objects where kind = :kind and id = :id")
                .bind("kind", kind.name()).bind("id", id).mapTo(String.class).findOne()).map(body -> read(body, type));
    }

    /** Documents of a kind, oldest first; a null project lists every project's. */
    public <T extends Document> List<T> list(Kind kind, String projectId, Class<T> type) {
        return jdbi.withHandle(h -> h.createQuery("select body from migration_objects where kind = :kind"
                        + (projectId == null ? "" : " and project_id = :project") + " order by created_at, id")
                .bind("kind", kind.name()).bind("project", projectId).mapTo(String.class).list())
                .stream().map(body -> read(body, type)).toList();
    }

    public <T extends Document> List<T> children(Kind kind, String parentId, Class<T> type) {
        return jdbi.withHandle(h -> h.createQuery("select body from migration_objects where kind = :kind and parent_id = :parent order by created_at, id")
                .bind("kind", kind.name()).bind("parent", parentId).mapTo(String.class).list())
                .stream().map(body -> read(body, type)).toList();
    }

    /**
     * Applies {@code change} to the stored document and writes the result if nobody wrote in
     * between, else reads again and retries. Returns the written document, or empty if absent.
     */
    public <T extends Document> Optional<T> update(Kind kind, String id, Class<T> type, UnaryOperator<T> change) {
        for (int attempt = 0; attempt < 100; attempt++) {
            Optional<Versioned> current = jdbi.withHandle(h -> h.createQuery("select version, body from migration_objects where kind = :kind and id = :id")
                    .bind("kind", kind.name()).bind("id", id).map((rs, ctx) -> versioned(rs)).findOne());
            if (current.isEmpty()) {
                return Optional.empty();
            }
            T changed = change.apply(read(current.get().body(), type));
            OffsetDateTime now = OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC);
            int rows = jdbi.withHandle(h -> h.createUpdate("update migration_objects set body = :body, version = version + 1, updated_at = :now "
                            + "where kind = :kind and id = :id and version = :version")
                    .bind("body", write(changed)).bind("now", now).bind("kind", kind.name()).bind("id", id)
                    .bind("version", current.get().version()).execute());
            if (rows == 1) {
                return Optional.of(changed);
            }
        }
        throw new IllegalStateException("could not update " + kind + " " + id + ": too many concurrent writers");
    }

    public boolean delete(Kind kind, String id) {
        return jdbi.withHandle(h -> h.execute("delete from migration_objects where kind = ? and id = ?", kind.name(), id) > 0);
    }

    /** Ciphertext of a stored secret. */
    public record SealedSecret(String id, String projectId, String name, String nonce, String ciphertext) {}

    public void insertSecret(SealedSecret secret) {
        OffsetDateTime now = OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC);
        jdbi.useHandle(h -> h.createUpdate("insert into migration_secrets (id, project_id, name, nonce, ciphertext, created_at) "
                + "values (:id, :projectId, :name, :nonce, :ciphertext, :now)").bindMethods(secret).bind("now", now).execute());
    }

    public Optional<SealedSecret> findSecret(String id) {
        return jdbi.withHandle(h -> h.createQuery("select * from migration_secrets where id = :id").bind("id", id)
                .map((rs, ctx) -> new SealedSecret(rs.getString("id"), rs.getString("project_id"), rs.getString("name"),
                        rs.getString("nonce"), rs.getString("ciphertext"))).findOne());
    }

    public boolean deleteSecret(String id) {
        return jdbi.withHandle(h -> h.execute("delete from migration_secrets where id = ?", id) > 0);
    }

    private record Versioned(long version, String body) {}

    private static Versioned versioned(ResultSet rs) throws SQLException {
        return new Versioned(rs.getLong("version"), rs.getString("body"));
    }

    private static String write(Object document) {
        try {
            return MAPPER.writeValueAsString(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + document.getClass().getSimpleName(), e);
        }
    }

    private static <T> T read(String body, Class<T> type) {
        try {
            return MAPPER.readValue(body, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt " + type.getSimpleName() + " document: " + e.getOriginalMessage(), e);
        }
    }
}
