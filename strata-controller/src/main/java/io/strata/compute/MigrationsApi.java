package io.strata.compute;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * GET /os-migrations (admins): every move of a server between hosts, cold migrations, resizes,
 * live migrations and evacuations, newest first, filtered as Nova filters them.
 *
 * <p>Fields follow Nova's microversions: {@code migration_type} from 2.23, with {@code links} to
 * the server migrations sub-resource on live migrations still under way; {@code uuid} from 2.59;
 * {@code user_id} and {@code project_id} from 2.80. Paging ({@code limit}, {@code marker} = a
 * migration's uuid, {@code migrations_links} with the next page) and the {@code changes-since},
 * {@code changes-before}, {@code user_id} and {@code project_id} filters are Nova's from 2.59,
 * 2.66 and 2.80. Nova's older microversions accept any query parameter and ignore these; Strata
 * applies them at every microversion (no client sends them below Nova's version, so none is
 * surprised) and adds {@code migrations_links} only to a page that a {@code limit} filled.
 */
public final class MigrationsApi implements ApiArea {
    /** Nova's osapi_max_limit: the longest page, and the page size when no limit is asked for. */
    static final int MAX_LIMIT = 1000;

    private final ServerMigrationStore store;
    private final HostRegistry hosts;
    private final Policy policy;
    private final String computeUrl;
    private final String bookmarkUrl;

    public MigrationsApi(ServerMigrationStore store, HostRegistry hosts, Policy policy, String baseUrl) {
        this.store = requireNonNull(store, "store is null");
        this.hosts = requireNonNull(hosts, "hosts is null");
        this.policy = requireNonNull(policy, "policy is null");
        requireNonNull(baseUrl, "baseUrl is null");
        this.computeUrl = baseUrl + "/compute/v2.1";
        this.bookmarkUrl = baseUrl + "/compute";
    }

    @Override
    public void addRoutes(RoutesConfig routes) {
        ComputeRoutes.each(routes, (r, p) -> r.get(p + "/os-migrations", this::list));
    }

    private void list(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, "os_compute_api:os-migrations:index");
        Instant since = time(ctx, "changes-since");
        Instant before = time(ctx, "changes-before");
        if (since != null && before != null && before.isBefore(since)) {
            throw CloudException.badRequest("The value of changes-since must be less than or equal to changes-before.");
        }
        ServerMigrationStore.Query query = new ServerMigrationStore.Query(ctx.queryParam("host"), ctx.queryParam("status"),
                ctx.queryParam("instance_uuid"), ctx.queryParam("migration_type"), ctx.queryParam("source_compute"),
                ctx.queryParam("project_id"), ctx.queryParam("user_id"), since, before);
        Integer asked = Requests.intQuery(ctx, "limit", 0, Integer.MAX_VALUE);
        int limit = asked == null ? MAX_LIMIT : Math.min(asked, MAX_LIMIT);
        String marker = ctx.queryParam("marker");
        List<ServerMigration> page;
        try {
            page = store.list(query, marker, limit);
        } catch (NoSuchElementException e) {
            throw CloudException.badRequest("Marker %s could not be found.", marker);
        }
        ApiVersion v = ComputeRoutes.version(ctx);
        ArrayNode list = Json.array();
        for (ServerMigration m : page) {
            list.add(view(m, v));
        }
        ObjectNode body = Json.object();
        body.set("migrations", list);
        // Nova's next link: whenever a page is as long as its limit. Below 2.59 only when the caller paged.
        if (!page.isEmpty() && page.size() == limit && (asked != null || v.atLeast(2, 59))) {
            body.putArray("migrations_links").addObject().put("rel", "next").put("href", next(ctx, page.getLast().uuid()));
        }
        ctx.json(body);
    }

    private ObjectNode view(ServerMigration m, ApiVersion v) {
        ObjectNode n = Json.object();
        n.put("created_at", Json.isoMicrosNoZone(m.createdAt()));
        n.put("dest_compute", m.destCompute());
        n.put("dest_host", m.destCompute() == null ? null : hosts.find(m.destCompute()).map(Host::hostIp).orElse(null));
        n.put("dest_node", m.destCompute());
        n.put("id", m.id());
        n.put("instance_uuid", m.serverId());
        flavorId(n, "new_instance_type_id", m.newFlavor());
        flavorId(n, "old_instance_type_id", m.oldFlavor());
        n.put("source_compute", m.sourceCompute());
        n.put("source_node", m.sourceCompute());
        n.put("status", m.status());
        n.put("updated_at", Json.isoMicrosNoZone(m.updatedAt()));
        if (v.atLeast(2, 23)) {
            n.put("migration_type", m.type());
            if (m.type().equals(ServerMigration.LIVE) && ServerMigrationStore.LIVE_IN_PROGRESS.contains(m.status())) {
                String path = "/servers/" + m.serverId() + "/migrations/" + m.id();
                ArrayNode links = n.putArray("links");
                links.addObject().put("rel", "self").put("href", computeUrl + path);
                links.addObject().put("rel", "bookmark").put("href", bookmarkUrl + path);
            }
        }
        if (v.atLeast(2, 59)) {
            n.put("uuid", m.uuid());
        }
        if (v.atLeast(2, 80)) {
            n.put("user_id", m.userId());
            n.put("project_id", m.projectId());
        }
        return n;
    }

    /** This request's URL with the marker moved to the last migration shown. */
    private static String next(Context ctx, String marker) {
        StringBuilder url = new StringBuilder(Requests.baseUrl(ctx)).append(ctx.path()).append("?");
        ctx.queryParamMap().forEach((key, values) -> {
            if (!key.equals("marker")) {
                values.forEach(value -> url.append(encode(key)).append('=').append(encode(value)).append('&'));
            }
        });
        return url.append("marker=").append(encode(marker)).toString();
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static Instant time(Context ctx, String name) {
        String value = ctx.queryParam(name);
        if (value == null || value.isEmpty()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return java.time.LocalDateTime.parse(value).toInstant(java.time.ZoneOffset.UTC);
            } catch (DateTimeParseException again) {
                throw CloudException.badRequest("Invalid input for query parameters %s. Value: %s. '%s' is not a 'date-time'", name, value,
                        value);
            }
        }
    }

    /** Nova shows the flavor's internal integer id; ours are the flavor ids, numeric for the default flavors. */
    private static void flavorId(ObjectNode n, String key, Flavor flavor) {
        if (flavor == null) {
            n.putNull(key);
            return;
        }
        try {
            n.put(key, Integer.parseInt(flavor.id()));
        } catch (NumberFormatException e) {
            n.put(key, flavor.id());
        }
    }
}
