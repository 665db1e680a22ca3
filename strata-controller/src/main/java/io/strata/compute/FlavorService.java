package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/** Flavors: the four standard sizes on first start, admin management, project access to private ones. */
public final class FlavorService {
    private static final Pattern FLAVOR_ID = Pattern.compile("^(?! )[a-zA-Z0-9. _-]+(?<! )$");

    private final FlavorStore store;
    private final Clock clock;

    public FlavorService(FlavorStore store, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Nova's classic m1 flavors (ids 1–4), created once. */
    public void bootstrap() {
        if (!store.list().isEmpty()) {
            return;
        }
        Instant now = now();
        store.insert(new Flavor("1", "m1.tiny", 1, 512, 1, 0, 0, 1.0, true, false, null, Map.of(), now));
        store.insert(new Flavor("2", "m1.small", 1, 2048, 20, 0, 0, 1.0, true, false, null, Map.of(), now));
        store.insert(new Flavor("3", "m1.medium", 2, 4096, 40, 0, 0, 1.0, true, false, null, Map.of(), now));
        store.insert(new Flavor("4", "m1.large", 4, 8192, 80, 0, 0, 1.0, true, false, null, Map.of(), now));
    }

    /** The flavor if the caller may use it; 404 otherwise (private flavors of other projects included). */
    public Flavor get(AuthContext auth, String id) {
        Flavor flavor = store.find(id).orElseThrow(() -> CloudException.notFound("Flavor %s could not be found.", id));
        if (!flavor.isPublic() && !auth.isAdmin() && !store.hasAccess(id, auth.projectId())) {
            throw CloudException.notFound("Flavor %s could not be found.", id);
        }
        return flavor;
    }

    /**
     * Flavors visible to the caller. {@code isPublic}: TRUE public only (plus, for non-admins,
     * private ones shared with their project), FALSE private only, null all (admins).
     */
    public List<Flavor> list(AuthContext auth, Boolean isPublic, Integer minRam, Integer minDisk, String sortKey, boolean ascending,
            String marker, int limit) {
        Comparator<Flavor> order = switch (sortKey) {
            case "name" -> Comparator.comparing(Flavor::name);
            case "memory_mb", "ram" -> Comparator.comparingInt(Flavor::ramMb);
            case "vcpus" -> Comparator.comparingInt(Flavor::vcpus);
            case "root_gb", "disk" -> Comparator.comparingInt(Flavor::diskGb);
            case "id", "flavorid" -> Comparator.comparing(Flavor::id);
            case "created_at" -> Comparator.comparing(Flavor::createdAt);
            default -> throw CloudException.badRequest("Invalid sort_key %s.", sortKey);
        };
        order = order.thenComparing(Flavor::id);
        if (!ascending) {
            order = order.reversed();
        }
        List<Flavor> visible = store.list().stream()
                .filter(f -> visible(auth, f, isPublic))
                .filter(f -> minRam == null || f.ramMb() >= minRam)
                .filter(f -> minDisk == null || f.diskGb() >= minDisk)
                .sorted(order)
                .toList();
        int start = 0;
        if (marker != null) {
            int index = -1;
            for (int i = 0; i < visible.size(); i++) {
                if (visible.get(i).id().equals(marker)) {
                    index = i;
                    break;
                }
            }
            if (index < 0) {
                throw CloudException.badRequest("marker [%s] not found", marker);
            }
            start = index + 1;
        }
        return visible.subList(start, Math.min(visible.size(), start + limit));
    }

    private boolean visible(AuthContext auth, Flavor f, Boolean isPublic) {
        if (auth.isAdmin()) {
            return isPublic == null || f.isPublic() == isPublic;
        }
        if (f.isPublic()) {
            return !Boolean.FALSE.equals(isPublic);
        }
        return store.hasAccess(f.id(), auth.projectId());
    }

    public Flavor create(String id, String name, int vcpus, int ramMb, int diskGb, int ephemeralGb, int swapMb, double rxtxFactor,
            boolean isPublic, String description) {
        String flavorId = id == null || id.equals("auto") ? UUID.randomUUID().toString() : id;
        if (!FLAVOR_ID.matcher(flavorId).matches() || flavorId.length() > 255) {
            throw CloudException.badRequest("Invalid input for field/attribute id. Value: %s. Flavor id must contain only letters, digits, "
                    + "spaces, '.', '_' and '-', and not start or end with a space", flavorId);
        }
        if (name.strip().length() != name.length()) {
            throw CloudException.badRequest("Invalid input for field/attribute name. Value: %s. The name must not start or end with whitespace", name);
        }
        if (store.findByName(name).isPresent()) {
            throw CloudException.conflict("Flavor with name %s already exists.", name);
        }
        if (store.find(flavorId).isPresent()) {
            throw CloudException.conflict("Flavor with ID %s already exists.", flavorId);
        }
        Flavor flavor = new Flavor(flavorId, name, vcpus, ramMb, diskGb, ephemeralGb, swapMb, rxtxFactor, isPublic, false, description,
                Map.of(), now());
        store.insert(flavor);
        return flavor;
    }

    public Flavor updateDescription(AuthContext auth, String id, String description) {
        get(auth, id);
        store.updateDescription(id, description);
        return get(auth, id);
    }

    public void delete(String id) {
        if (store.find(id).isEmpty()) {
            throw CloudException.notFound("Flavor %s could not be found.", id);
        }
        store.delete(id);
    }

    public Map<String, String> extraSpecs(AuthContext auth, String id) {
        return get(auth, id).extraSpecs();
    }

    public void putExtraSpecs(AuthContext auth, String id, Map<String, String> specs) {
        get(auth, id);
        store.putSpecs(id, specs);
    }

    public void deleteExtraSpec(AuthContext auth, String id, String key) {
        get(auth, id);
        if (!store.deleteSpec(id, key)) {
            throw CloudException.notFound("Flavor %s has no extra specs with key %s.", id, key);
        }
    }

    public List<String> access(AuthContext auth, String id) {
        Flavor flavor = get(auth, id);
        if (flavor.isPublic()) {
            throw CloudException.notFound("Access list not available for public flavors.");
        }
        return store.projectsWithAccess(id);
    }

    public void addAccess(AuthContext auth, String id, String projectId) {
        Flavor flavor = get(auth, id);
        if (flavor.isPublic()) {
            throw CloudException.conflict("Can not add access to a public flavor.");
        }
        if (!store.addAccess(id, projectId)) {
            throw CloudException.conflict("Flavor access already exists for flavor %s and project %s combination.", id, projectId);
        }
    }

    public void removeAccess(AuthContext auth, String id, String projectId) {
        get(auth, id);
        if (!store.removeAccess(id, projectId)) {
            throw CloudException.notFound("Flavor access not found for %s / %s combination.", id, projectId);
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
