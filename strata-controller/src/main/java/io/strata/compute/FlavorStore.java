package io.strata.compute;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** Flavor rows with their extra specs and project access lists. */
public final class FlavorStore {
    private final Jdbi jdbi;

    public FlavorStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    public void insert(Flavor f) {
        jdbi.useTransaction(h -> {
            h.createUpdate("insert into flavors (id, name, vcpus, ram_mb, disk_gb, ephemeral_gb, swap_mb, rxtx_factor, is_public, disabled, "
                            + "description, created_at) values (:id, :name, :vcpus, :ramMb, :diskGb, :ephemeralGb, :swapMb, :rxtxFactor, "
                            + ":isPublic, :disabled, :description, :createdAt)")
                    .bindMethods(f).execute();
            putSpecs(h, f.id(), f.extraSpecs());
        });
    }

    public Optional<Flavor> find(String id) {
        return jdbi.withHandle(h -> load(h, h.createQuery("select * from flavors where id = :id").bind("id", id).map((rs, c) -> row(rs)).list())
                .stream().findFirst());
    }

    public Optional<Flavor> findByName(String name) {
        return jdbi.withHandle(h -> load(h, h.createQuery("select * from flavors where name = :n").bind("n", name).map((rs, c) -> row(rs)).list())
                .stream().findFirst());
    }

    public List<Flavor> list() {
        return jdbi.withHandle(h -> load(h, h.createQuery("select * from flavors").map((rs, c) -> row(rs)).list()));
    }

    public void updateDescription(String id, String description) {
        jdbi.useHandle(h -> h.execute("update flavors set description = ? where id = ?", description, id));
    }

    public void delete(String id) {
        jdbi.useHandle(h -> h.execute("delete from flavors where id = ?", id));
    }

    public void putSpecs(String id, Map<String, String> specs) {
        jdbi.useTransaction(h -> putSpecs(h, id, specs));
    }

    public boolean deleteSpec(String id, String key) {
        return jdbi.withHandle(h -> h.execute("delete from flavor_extra_specs where flavor_id = ? and spec_key = ?", id, key) > 0);
    }

    public List<String> projectsWithAccess(String id) {
        return jdbi.withHandle(h -> h.createQuery("select project_id from flavor_projects where flavor_id = :id order by project_id")
                .bind("id", id).mapTo(String.class).list());
    }

    public boolean hasAccess(String id, String projectId) {
        return jdbi.withHandle(h -> h.createQuery("select count(*) from flavor_projects where flavor_id = :id and project_id = :p")
                .bind("id", id).bind("p", projectId).mapTo(Integer.class).one() > 0);
    }

    public boolean addAccess(String id, String projectId) {
        return jdbi.inTransaction(h -> {
            if (h.createQuery("select count(*) from flavor_projects where flavor_id = :id and project_id = :p")
                    .bind("id", id).bind("p", projectId).mapTo(Integer.class).one() > 0) {
                return false;
            }
            h.execute("insert into flavor_projects (flavor_id, project_id) values (?, ?)", id, projectId);
            return true;
        });
    }

    public boolean removeAccess(String id, String projectId) {
        return jdbi.withHandle(h -> h.execute("delete from flavor_projects where flavor_id = ? and project_id = ?", id, projectId) > 0);
    }

    private static void putSpecs(Handle h, String id, Map<String, String> specs) {
        for (Map.Entry<String, String> e : specs.entrySet()) {
            h.execute("delete from flavor_extra_specs where flavor_id = ? and spec_key = ?", id, e.getKey());
            h.execute("insert into flavor_extra_specs (flavor_id, spec_key, value) values (?, ?, ?)", id, e.getKey(), e.getValue());
        }
    }

    private static List<Flavor> load(Handle h, List<Flavor> flavors) {
        if (flavors.isEmpty()) {
            return flavors;
        }
        Map<String, Map<String, String>> specs = new HashMap<>();
        h.createQuery("select flavor_id, spec_key, value from flavor_extra_specs where flavor_id in (<ids>) order by spec_key")
                .bindList("ids", flavors.stream().map(Flavor::id).toList())
                .map((rs, c) -> new String[] {rs.getString(1), rs.getString(2), rs.getString(3)})
                .forEach(s -> specs.computeIfAbsent(s[0], k -> new LinkedHashMap<>()).put(s[1], s[2]));
        List<Flavor> out = new ArrayList<>(flavors.size());
        for (Flavor f : flavors) {
            out.add(f.withExtraSpecs(specs.getOrDefault(f.id(), Map.of())));
        }
        return out;
    }

    private static Flavor row(ResultSet rs) throws SQLException {
        return new Flavor(rs.getString("id"), rs.getString("name"), rs.getInt("vcpus"), rs.getInt("ram_mb"), rs.getInt("disk_gb"),
                rs.getInt("ephemeral_gb"), rs.getInt("swap_mb"), rs.getDouble("rxtx_factor"), rs.getBoolean("is_public"),
                rs.getBoolean("disabled"), rs.getString("description"), Map.of(), ServerStore.instant(rs, "created_at"));
    }
}
