package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Aggregate rows with their hosts and metadata; an aggregate is always read whole. */
public final class AggregateStore {
    private final Jdbi jdbi;

    public AggregateStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** Inserts a new aggregate; empty when the name is taken. */
    public Optional<Aggregate> insert(String uuid, String name, Map<String, String> metadata, Instant now) {
        return jdbi.inTransaction(h -> {
            if (nameTaken(h, name, -1)) {
                return Optional.empty();
            }
            int id = h.createUpdate("insert into aggregates (uuid, name, created_at) values (:uuid, :name, :now)")
                    .bind("uuid", uuid).bind("name", name).bind("now", now)
                    .executeAndReturnGeneratedKeys("id").mapTo(Integer.class).one();
            metadata.forEach((key, value) -> insertMetadata(h, id, key, value));
            return find(h, id);
        });
    }

    public Optional<Aggregate> find(int id) {
        return jdbi.withHandle(h -> find(h, id));
    }

    public List<Aggregate> list() {
        return jdbi.withHandle(h -> {
            Map<Integer, List<String>> hosts = new HashMap<>();
            h.createQuery("select aggregate_id, host from aggregate_hosts order by host").map((rs, c) -> {
                hosts.computeIfAbsent(rs.getInt(1), k -> new ArrayList<>()).add(rs.getString(2));
                return null;
            }).list();
            Map<Integer, Map<String, String>> metadata = new HashMap<>();
            h.createQuery("select aggregate_id, meta_key, value from aggregate_metadata").map((rs, c) -> {
                metadata.computeIfAbsent(rs.getInt(1), k -> new TreeMap<>()).put(rs.getString(2), rs.getString(3));
                return null;
            }).list();
            return h.createQuery("select * from aggregates order by id")
                    .map((rs, c) -> new Aggregate(rs.getInt("id"), rs.getString("uuid"), rs.getString("name"),
                            hosts.getOrDefault(rs.getInt("id"), List.of()), metadata.getOrDefault(rs.getInt("id"), Map.of()),
                            ServerStore.instant(rs, "created_at"), ServerStore.instant(rs, "updated_at")))
                    .list();
        });
    }

    /**
     * Each host's aggregate metadata (key to the values its aggregates give it), for the
     * scheduler's filters: one query per placement instead of {@link #list}'s three. Hosts whose
     * aggregates have no metadata are absent, as if in no aggregate.
     */
    public Map<String, Map<String, Set<String>>> metadataByHost() {
        return jdbi.withHandle(h -> {
            Map<String, Map<String, Set<String>>> byHost = new HashMap<>();
            h.createQuery("select h.host, m.meta_key, m.value from aggregate_hosts h join aggregate_metadata m on m.aggregate_id = h.aggregate_id")
                    .map((rs, c) -> byHost.computeIfAbsent(rs.getString(1), k -> new HashMap<>())
                            .computeIfAbsent(rs.getString(2), k -> new HashSet<>()).add(rs.getString(3)))
                    .list();
            return byHost;
        });
    }

    /** Renames; false when another aggregate has the name. */
    public boolean rename(int id, String name, Instant now) {
        return jdbi.inTransaction(h -> {
            if (nameTaken(h, name, id)) {
                return false;
            }
            h.execute("update aggregates set name = ?, updated_at = ? where id = ?", name, now, id);
            return true;
        });
    }

    /** Sets (non-null value) or removes (null value) metadata keys. */
    public void updateMetadata(int id, Map<String, String> changes, Instant now) {
        jdbi.useTransaction(h -> {
            for (Map.Entry<String, String> change : changes.entrySet()) {
                h.execute("delete from aggregate_metadata where aggregate_id = ? and meta_key = ?", id, change.getKey());
                if (change.getValue() != null) {
                    insertMetadata(h, id, change.getKey(), change.getValue());
                }
            }
            h.execute("update aggregates set updated_at = ? where id = ?", now, id);
        });
    }

    /** Adds a host; false when it is already a member. */
    public boolean addHost(int id, String host, Instant now) {
        return jdbi.inTransaction(h -> {
            if (h.createQuery("select count(*) from aggregate_hosts where aggregate_id = :id and host = :host").bind("id", id)
                    .bind("host", host).mapTo(Integer.class).one() > 0) {
                return false;
            }
            h.execute("insert into aggregate_hosts (aggregate_id, host) values (?, ?)", id, host);
            h.execute("update aggregates set updated_at = ? where id = ?", now, id);
            return true;
        });
    }

    /** Removes a host; false when it was not a member. */
    public boolean removeHost(int id, String host, Instant now) {
        return jdbi.inTransaction(h -> {
            boolean removed = h.execute("delete from aggregate_hosts where aggregate_id = ? and host = ?", id, host) > 0;
            if (removed) {
                h.execute("update aggregates set updated_at = ? where id = ?", now, id);
            }
            return removed;
        });
    }

    public boolean delete(int id) {
        return jdbi.withHandle(h -> h.execute("delete from aggregates where id = ?", id) > 0);
    }

    private static boolean nameTaken(Handle h, String name, int exceptId) {
        return h.createQuery("select count(*) from aggregates where name = :name and id <> :id").bind("name", name).bind("id", exceptId)
                .mapTo(Integer.class).one() > 0;
    }

    private static void insertMetadata(Handle h, int id, String key, String value) {
        h.execute("insert into aggregate_metadata (aggregate_id, meta_key, value) values (?, ?, ?)", id, key, value);
    }

    private static Optional<Aggregate> find(Handle h, int id) {
        List<String> hosts = h.createQuery("select host from aggregate_hosts where aggregate_id = :id order by host").bind("id", id)
                .mapTo(String.class).list();
        Map<String, String> metadata = new LinkedHashMap<>();
        h.createQuery("select meta_key, value from aggregate_metadata where aggregate_id = :id order by meta_key").bind("id", id)
                .map((rs, c) -> metadata.put(rs.getString(1), rs.getString(2))).list();
        return h.createQuery("select * from aggregates where id = :id").bind("id", id)
                .map((rs, c) -> new Aggregate(rs.getInt("id"), rs.getString("uuid"), rs.getString("name"), hosts, metadata,
                        ServerStore.instant(rs, "created_at"), ServerStore.instant(rs, "updated_at")))
                .findOne();
    }
}
