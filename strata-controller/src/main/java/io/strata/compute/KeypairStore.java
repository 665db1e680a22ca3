package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Keypair rows; the (user, name) pair is unique. */
public final class KeypairStore {
    private final Jdbi jdbi;

    public KeypairStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** Inserts; false if the user already has a keypair of that name. */
    public boolean insert(Keypair k) {
        return jdbi.inTransaction(h -> insert(h, k));
    }

    /** As {@link #insert(Keypair)}, in the caller's transaction. */
    static boolean insert(Handle h, Keypair k) {
        if (h.createQuery("select count(*) from keypairs where user_id = :u and name = :n").bind("u", k.userId()).bind("n", k.name())
                .mapTo(Integer.class).one() > 0) {
            return false;
        }
        h.createUpdate("insert into keypairs (user_id, name, key_type, public_key, fingerprint, created_at) "
                        + "values (:userId, :name, :type, :publicKey, :fingerprint, :createdAt)")
                .bindMethods(k).execute();
        return true;
    }

    public Optional<Keypair> find(String userId, String name) {
        return jdbi.withHandle(h -> h.createQuery("select * from keypairs where user_id = :u and name = :n").bind("u", userId).bind("n", name)
                .map((rs, c) -> row(rs)).findOne());
    }

    public List<Keypair> list(String userId) {
        return jdbi.withHandle(h -> h.createQuery("select * from keypairs where user_id = :u order by name").bind("u", userId)
                .map((rs, c) -> row(rs)).list());
    }

    public int count(String userId) {
        return jdbi.withHandle(h -> count(h, userId));
    }

    static int count(Handle h, String userId) {
        return h.createQuery("select count(*) from keypairs where user_id = :u").bind("u", userId).mapTo(Integer.class).one();
    }

    public boolean delete(String userId, String name) {
        return jdbi.withHandle(h -> h.execute("delete from keypairs where user_id = ? and name = ?", userId, name) > 0);
    }

    private static Keypair row(ResultSet rs) throws SQLException {
        return new Keypair(rs.getLong("id"), rs.getString("user_id"), rs.getString("name"), rs.getString("key_type"),
                rs.getString("public_key"), rs.getString("fingerprint"), ServerStore.instant(rs, "created_at"));
    }
}
