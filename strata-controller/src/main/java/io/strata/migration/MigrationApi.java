package io.strata.migration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.RequestBody;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import io.strata.migration.provider.MigrationProvider;
import io.strata.migration.provider.ProviderRegistry;
import io.strata.migration.provider.ProviderTypes;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/** Coriolis' v1 API (coriolis/api/v1/router.py) under /migration/v1/{project_id}. */
public final class MigrationApi implements ApiArea {
    static final String ROOT = "/migration";
    private static final String P = ROOT + "/v1/{project_id}";

    private final ProviderRegistry providers;
    private final EndpointService endpoints;
    private final TransferService transfers;
    private final ScheduleService schedules;
    private final MinionPoolService pools;
    private final RegionService regions;
    private final WorkerRegistry workers;
    private final Policy policy;

    public MigrationApi(ProviderRegistry providers, EndpointService endpoints, TransferService transfers, ScheduleService schedules,
            MinionPoolService pools, RegionService regions, WorkerRegistry workers, Policy policy) {
        this.providers = requireNonNull(providers, "providers is null");
        this.endpoints = requireNonNull(endpoints, "endpoints is null");
        this.transfers = requireNonNull(transfers, "transfers is null");
        this.schedules = requireNonNull(schedules, "schedules is null");
        this.pools = requireNonNull(pools, "pools is null");
        this.regions = requireNonNull(regions, "regions is null");
        this.workers = requireNonNull(workers, "workers is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    @Override
    public Set<String> publicRoutes() {
        return Set.of("GET " + ROOT, "GET " + ROOT + "/v1");
    }

    @Override
    public void addRoutes(RoutesConfig r) {
        r.get(ROOT, ctx -> ctx.json(versions(ctx)));
        r.get(ROOT + "/v1", ctx -> ctx.json(versions(ctx)));

        r.get(P + "/providers", ctx -> {
            read(ctx);
            ObjectNode body = Json.object();
            ObjectNode all = body.putObject("providers");
            for (MigrationProvider provider : providers.all()) {
                ArrayNode types = all.putObject(provider.platform()).putArray("types");
                provider.types().forEach(types::add);
            }
            ctx.json(body);
        });
        r.get(P + "/providers/{platform}/schemas/{type}", this::schemas);

        r.post(P + "/secrets", ctx -> {
            String project = write(ctx);
            ObjectNode secret = RequestBody.member(RequestBody.parse(ctx), "secret");
            JsonNode payload = secret.get("payload");
            if (payload == null || !payload.isObject()) {
                throw CloudException.badRequest("secret.payload must be an object (the connection info to keep)");
            }
            EndpointService.SecretRef ref = endpoints.createSecret(project, RequestBody.optionalString(secret, "name", 0, 255), payload);
            ObjectNode out = Json.object();
            out.putObject("secret").put("secret_ref", ref.id()).put("name", ref.name());
            ctx.json(out);
        });
        r.delete(P + "/secrets/{id}", ctx -> {
            endpoints.deleteSecret(write(ctx), ctx.pathParam("id"));
            ctx.status(204);
        });

        endpointRoutes(r);
        transferRoutes(r);
        scheduleRoutes(r);
        poolRoutes(r);
        regionAndServiceRoutes(r);
    }

    private void endpointRoutes(RoutesConfig r) {
        r.get(P + "/endpoints", ctx -> ctx.json(endpointList(read(ctx))));
        r.get(P + "/endpoints/detail", ctx -> ctx.json(endpointList(read(ctx))));
        r.post(P + "/endpoints", ctx -> {
            String project = write(ctx);
            ObjectNode e = RequestBody.member(RequestBody.parse(ctx), "endpoint");
            String name = RequestBody.requiredString(e, "name", 1, 255);
            String type = RequestBody.requiredString(e, "type", 1, 255);
            ObjectNode connection = RequestBody.member(e, "connection_info");
            Endpoint created = endpoints.create(project, name, type, RequestBody.optionalString(e, "description", 0, 1024), connection,
                    RequestBody.optionalStringList(e, "mapped_regions", 100, 36));
            ctx.json(Json.object().set("endpoint", MigrationViews.endpoint(created)));
        });
        r.get(P + "/endpoints/{id}", ctx -> ctx.json(Json.object().set("endpoint", MigrationViews.endpoint(endpoints.get(read(ctx), ctx.pathParam("id"))))));
        r.put(P + "/endpoints/{id}", ctx -> {
            String project = write(ctx);
            ObjectNode e = RequestBody.member(RequestBody.parse(ctx), "endpoint");
            RequestBody.onlyKeys(e, Set.of("name", "description", "connection_info", "mapped_regions"), "endpoint");
            Endpoint updated = endpoints.update(project, ctx.pathParam("id"), RequestBody.optionalString(e, "name", 1, 255),
                    RequestBody.optionalString(e, "description", 0, 1024), RequestBody.optionalObject(e, "connection_info"),
                    RequestBody.optionalStringList(e, "mapped_regions", 100, 36));
            ctx.json(Json.object().set("endpoint", MigrationViews.endpoint(updated)));
        });
        r.delete(P + "/endpoints/{id}", ctx -> {
            endpoints.delete(write(ctx), ctx.pathParam("id"));
            ctx.status(204);
        });
        r.post(P + "/endpoints/{id}/actions", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.parse(ctx);
            if (!body.has("validate-connection")) {
                throw CloudException.badRequest("Unknown endpoint action; expected validate-connection");
            }
            EndpointService.Validation result = endpoints.validate(project, ctx.pathParam("id"));
            ObjectNode out = Json.object();
            out.putObject("validate-connection").put("valid", result.valid()).put("message", result.message());
            ctx.json(out);
        });
        r.get(P + "/endpoints/{id}/instances", ctx -> {
            String project = read(ctx);
            JsonNode env = env(ctx);
            List<ObjectNode> instances = endpoints.query(project, ctx.pathParam("id"), (p, c) -> p.instances(c, env));
            String name = ctx.queryParam("name");
            if (name != null) {
                instances = instances.stream().filter(i -> i.path("name").asText().contains(name)).toList();
            }
            String marker = ctx.queryParam("marker");
            if (marker != null) {
                int at = indexOf(instances, marker);
                instances = instances.subList(at + 1, instances.size());
            }
            Integer limit = Requests.intQuery(ctx, "limit", 1, 100_000);
            if (limit != null && instances.size() > limit) {
                instances = instances.subList(0, limit);
            }
            ArrayNode list = Json.array();
            instances.forEach(list::add);
            ctx.json(Json.object().set("instances", list));
        });
        r.get(P + "/endpoints/{id}/instances/{instance}", ctx -> {
            String project = read(ctx);
            String instance = instanceId(ctx.pathParam("instance"));
            JsonNode env = env(ctx);
            ObjectNode info = endpoints.query(project, ctx.pathParam("id"), (p, c) -> {
                try {
                    return p.exportInfo(c, env, instance);
                } catch (java.io.IOException e) {
                    throw new io.strata.migration.provider.ProviderException(e.getMessage(), e);
                }
            });
            ctx.json(Json.object().set("instance", info));
        });
        r.get(P + "/endpoints/{id}/networks", ctx -> {
            String project = read(ctx);
            JsonNode env = env(ctx);
            ArrayNode list = Json.array();
            endpoints.query(project, ctx.pathParam("id"), (p, c) -> p.networks(c, env)).forEach(list::add);
            ctx.json(Json.object().set("networks", list));
        });
        r.get(P + "/endpoints/{id}/storage", ctx -> {
            String project = read(ctx);
            JsonNode env = env(ctx);
            ctx.json(Json.object().set("storage", endpoints.query(project, ctx.pathParam("id"), (p, c) -> p.storage(c, env))));
        });
        r.get(P + "/endpoints/{id}/destination-options", ctx -> options(ctx, "destination_options", (p, c, env) -> p.destinationOptions(c, env)));
        // A pool of either platform boots its minions on its endpoint from the same options.
        r.get(P + "/endpoints/{id}/source-minion-pool-options",
                ctx -> options(ctx, "source_minion_pool_options", (p, c, env) -> p.minionPoolOptions(c, env)));
        r.get(P + "/endpoints/{id}/destination-minion-pool-options",
                ctx -> options(ctx, "destination_minion_pool_options", (p, c, env) -> p.minionPoolOptions(c, env)));
        // Every provider's source environment schema is empty: there is no source option to list.
        r.get(P + "/endpoints/{id}/source-options", ctx -> {
            endpoints.get(read(ctx), ctx.pathParam("id"));
            ctx.json(Json.object().set("source_options", Json.array()));
        });
    }

    /** Lists the provider's options of one kind for the endpoint, filtered by the client's {@code options} names. */
    private void options(Context ctx, String key, OptionLister lister) {
        String project = read(ctx);
        JsonNode env = env(ctx);
        List<String> wanted = optionNames(ctx);
        ArrayNode list = Json.array();
        endpoints.query(project, ctx.pathParam("id"), (p, c) -> lister.list(p, c, env)).stream()
                .filter(o -> wanted.isEmpty() || wanted.contains(o.path("name").asText())).forEach(list::add);
        ctx.json(Json.object().set(key, list));
    }

    private interface OptionLister {
        List<ObjectNode> list(MigrationProvider provider, JsonNode connection, JsonNode environment);
    }

    private void transferRoutes(RoutesConfig r) {
        r.get(P + "/replicas", ctx -> ctx.json(transferList(read(ctx), Transfer.REPLICA, "replicas")));
        r.get(P + "/replicas/detail", ctx -> ctx.json(transferList(read(ctx), Transfer.REPLICA, "replicas")));
        r.post(P + "/replicas", ctx -> {
            String project = write(ctx);
            Transfer replica = transfers.createReplica(project, transferRequest(RequestBody.member(RequestBody.parse(ctx), "replica")));
            ctx.json(Json.object().set("replica", view(replica)));
        });
        r.get(P + "/replicas/{id}", ctx -> ctx.json(Json.object().set("replica", view(transfers.transfer(read(ctx), ctx.pathParam("id"), Transfer.REPLICA)))));
        r.put(P + "/replicas/{id}", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "replica");
            RequestBody.onlyKeys(body, Set.of("source_environment", "destination_environment", "network_map", "storage_mappings", "notes",
                    "origin_minion_pool_id", "destination_minion_pool_id", "instance_osmorphing_minion_pool_mappings", "user_scripts"), "replica");
            Transfer updated = transfers.updateReplica(project, ctx.pathParam("id"), RequestBody.optionalObject(body, "source_environment"),
                    RequestBody.optionalObject(body, "destination_environment"), RequestBody.optionalObject(body, "network_map"),
                    RequestBody.optionalObject(body, "storage_mappings"), RequestBody.optionalString(body, "notes", 0, 65535),
                    body.get("user_scripts"), body.get("instance_osmorphing_minion_pool_mappings"), body.get("origin_minion_pool_id"),
                    body.get("destination_minion_pool_id"));
            ctx.json(Json.object().set("replica", view(updated)));
        });
        r.delete(P + "/replicas/{id}", ctx -> {
            transfers.delete(write(ctx), ctx.pathParam("id"), Transfer.REPLICA);
            ctx.status(204);
        });
        r.post(P + "/replicas/{id}/actions", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.parse(ctx);
            if (!body.has("delete-disks")) {
                throw CloudException.badRequest("Unknown replica action; expected delete-disks");
            }
            ctx.json(Json.object().set("execution", MigrationViews.execution(transfers.deleteDisks(project, ctx.pathParam("id")))));
        });

        r.get(P + "/replicas/{id}/executions", ctx -> ctx.json(executionList(read(ctx), ctx.pathParam("id"))));
        r.get(P + "/replicas/{id}/executions/detail", ctx -> ctx.json(executionList(read(ctx), ctx.pathParam("id"))));
        r.post(P + "/replicas/{id}/executions", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.parse(ctx);
            ObjectNode execution = RequestBody.optionalObject(body, "execution");
            Boolean shutdown = execution == null ? null : RequestBody.optionalBoolean(execution, "shutdown_instances");
            Execution started = transfers.execute(project, ctx.pathParam("id"), Boolean.TRUE.equals(shutdown));
            ctx.json(Json.object().set("execution", MigrationViews.execution(started)));
        });
        r.get(P + "/replicas/{id}/executions/{execution}", ctx -> ctx.json(Json.object().set("execution",
                MigrationViews.execution(transfers.execution(read(ctx), ctx.pathParam("id"), ctx.pathParam("execution"))))));
        r.delete(P + "/replicas/{id}/executions/{execution}", ctx -> {
            transfers.deleteExecution(write(ctx), ctx.pathParam("id"), ctx.pathParam("execution"));
            ctx.status(204);
        });
        r.post(P + "/replicas/{id}/executions/{execution}/actions", ctx -> {
            String project = write(ctx);
            if (!RequestBody.parse(ctx).has("cancel")) {
                throw CloudException.badRequest("Unknown execution action; expected cancel");
            }
            transfers.cancelExecution(project, ctx.pathParam("id"), ctx.pathParam("execution"));
            ctx.status(204);
        });

        r.get(P + "/migrations", ctx -> ctx.json(transferList(read(ctx), Transfer.MIGRATION, "migrations")));
        r.get(P + "/migrations/detail", ctx -> ctx.json(transferList(read(ctx), Transfer.MIGRATION, "migrations")));
        r.post(P + "/migrations", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "migration");
            Transfer migration;
            String replicaId = RequestBody.optionalString(body, "replica_id", 1, 36);
            if (replicaId != null) {
                Boolean clone = RequestBody.optionalBoolean(body, "clone_disks");
                migration = transfers.deployReplica(project, replicaId, clone == null || clone,
                        Boolean.TRUE.equals(RequestBody.optionalBoolean(body, "skip_os_morphing")),
                        RequestBody.optionalObject(body, "destination_environment"), RequestBody.optionalStringList(body, "instances", 1000, 255),
                        Boolean.TRUE.equals(RequestBody.optionalBoolean(body, "force")), body.get("user_scripts"),
                        body.get("instance_osmorphing_minion_pool_mappings"));
            } else {
                migration = transfers.createMigration(project, transferRequest(body));
            }
            ctx.json(Json.object().set("migration", view(migration)));
        });
        r.get(P + "/migrations/{id}", ctx -> ctx.json(Json.object().set("migration",
                view(transfers.transfer(read(ctx), ctx.pathParam("id"), Transfer.MIGRATION)))));
        r.delete(P + "/migrations/{id}", ctx -> {
            transfers.delete(write(ctx), ctx.pathParam("id"), Transfer.MIGRATION);
            ctx.status(204);
        });
        r.post(P + "/migrations/{id}/actions", ctx -> {
            String project = write(ctx);
            if (!RequestBody.parse(ctx).has("cancel")) {
                throw CloudException.badRequest("Unknown migration action; expected cancel");
            }
            transfers.cancelMigration(project, ctx.pathParam("id"));
            ctx.status(204);
        });
    }

    private void scheduleRoutes(RoutesConfig r) {
        r.get(P + "/replicas/{id}/schedules", ctx -> {
            String project = read(ctx);
            Boolean showExpired = Requests.boolQuery(ctx, "show_expired");
            ArrayNode list = Json.array();
            schedules.list(project, ctx.pathParam("id"), showExpired == null || showExpired).forEach(s -> list.add(MigrationViews.schedule(s)));
            ctx.json(Json.object().set("schedules", list));
        });
        r.post(P + "/replicas/{id}/schedules", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.parse(ctx);
            RequestBody.onlyKeys(body, Set.of("schedule", "enabled", "expiration_date", "shutdown_instance"), "schedule");
            Boolean enabled = RequestBody.optionalBoolean(body, "enabled");
            Boolean shutdown = RequestBody.optionalBoolean(body, "shutdown_instance");
            Schedule created = schedules.create(project, ctx.pathParam("id"), RequestBody.optionalObject(body, "schedule"),
                    enabled == null || enabled, date(body, "expiration_date"), Boolean.TRUE.equals(shutdown));
            ctx.json(Json.object().set("schedule", MigrationViews.schedule(created)));
        });
        r.get(P + "/replicas/{id}/schedules/{schedule}", ctx -> ctx.json(Json.object().set("schedule",
                MigrationViews.schedule(schedules.get(read(ctx), ctx.pathParam("id"), ctx.pathParam("schedule"))))));
        r.put(P + "/replicas/{id}/schedules/{schedule}", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.parse(ctx);
            RequestBody.onlyKeys(body, Set.of("schedule", "enabled", "expiration_date", "shutdown_instance"), "schedule");
            boolean clear = body.has("expiration_date") && body.get("expiration_date").isNull();
            Schedule updated = schedules.update(project, ctx.pathParam("id"), ctx.pathParam("schedule"), RequestBody.optionalObject(body, "schedule"),
                    RequestBody.optionalBoolean(body, "enabled"), date(body, "expiration_date"), clear,
                    RequestBody.optionalBoolean(body, "shutdown_instance"));
            ctx.json(Json.object().set("schedule", MigrationViews.schedule(updated)));
        });
        r.delete(P + "/replicas/{id}/schedules/{schedule}", ctx -> {
            schedules.delete(write(ctx), ctx.pathParam("id"), ctx.pathParam("schedule"));
            ctx.status(204);
        });
    }

    private void poolRoutes(RoutesConfig r) {
        r.get(P + "/minion_pools", ctx -> ctx.json(poolList(read(ctx))));
        r.get(P + "/minion_pools/detail", ctx -> ctx.json(poolList(read(ctx))));
        r.post(P + "/minion_pools", ctx -> {
            String project = write(ctx);
            ObjectNode p = RequestBody.member(RequestBody.parse(ctx), "minion_pool");
            Integer minimum = RequestBody.optionalInt(p, "minimum_minions", 0, 1000);
            Integer maximum = RequestBody.optionalInt(p, "maximum_minions", 1, 1000);
            Integer idle = RequestBody.optionalInt(p, "minion_max_idle_time", 0, Integer.MAX_VALUE);
            String retention = RequestBody.optionalString(p, "minion_retention_strategy", 1, 32);
            Boolean skip = RequestBody.optionalBoolean(p, "skip_allocation");
            MinionPool pool = pools.create(project, RequestBody.requiredString(p, "name", 1, 255), RequestBody.requiredString(p, "endpoint_id", 1, 36),
                    RequestBody.requiredString(p, "platform", 1, 32), orDefault(RequestBody.optionalString(p, "os_type", 1, 32), "linux"),
                    RequestBody.optionalObject(p, "environment_options"), minimum == null ? 1 : minimum, maximum == null ? 1 : maximum,
                    idle == null ? 3600 : idle, orDefault(retention, "delete"), RequestBody.optionalString(p, "notes", 0, 65535),
                    Boolean.TRUE.equals(skip));
            ctx.json(Json.object().set("minion_pool", MigrationViews.minionPool(pool)));
        });
        r.get(P + "/minion_pools/{id}", ctx -> ctx.json(Json.object().set("minion_pool", MigrationViews.minionPool(pools.get(read(ctx), ctx.pathParam("id"))))));
        r.put(P + "/minion_pools/{id}", ctx -> {
            String project = write(ctx);
            ObjectNode p = RequestBody.member(RequestBody.parse(ctx), "minion_pool");
            MinionPool pool = pools.update(project, ctx.pathParam("id"), RequestBody.optionalString(p, "name", 1, 255),
                    RequestBody.optionalObject(p, "environment_options"), RequestBody.optionalInt(p, "minimum_minions", 0, 1000),
                    RequestBody.optionalInt(p, "maximum_minions", 1, 1000), RequestBody.optionalInt(p, "minion_max_idle_time", 0, Integer.MAX_VALUE),
                    RequestBody.optionalString(p, "minion_retention_strategy", 1, 32), RequestBody.optionalString(p, "notes", 0, 65535));
            ctx.json(Json.object().set("minion_pool", MigrationViews.minionPool(pool)));
        });
        r.delete(P + "/minion_pools/{id}", ctx -> {
            pools.delete(write(ctx), ctx.pathParam("id"));
            ctx.status(204);
        });
        r.post(P + "/minion_pools/{id}/actions", ctx -> {
            String project = write(ctx);
            ObjectNode body = RequestBody.parse(ctx);
            String id = ctx.pathParam("id");
            MinionPool pool;
            if (body.has("allocate")) {
                pool = pools.allocate(project, id);
            } else if (body.has("deallocate")) {
                JsonNode options = body.get("deallocate");
                pool = pools.deallocate(project, id, options != null && options.path("force").asBoolean(false));
            } else if (body.has("refresh")) {
                pool = pools.refresh(project, id);
            } else {
                throw CloudException.badRequest("Unknown minion pool action; expected allocate, deallocate or refresh");
            }
            ctx.json(Json.object().set("minion_pool", MigrationViews.minionPool(pool)));
        });
    }

    private void regionAndServiceRoutes(RoutesConfig r) {
        r.get(P + "/regions", ctx -> ctx.json(regionList(read(ctx))));
        r.get(P + "/regions/detail", ctx -> ctx.json(regionList(read(ctx))));
        r.post(P + "/regions", ctx -> {
            admin(ctx);
            ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "region");
            Boolean enabled = RequestBody.optionalBoolean(body, "enabled");
            Region region = regions.create(RequestBody.requiredString(body, "name", 1, 255), RequestBody.optionalString(body, "description", 0, 1024),
                    enabled == null || enabled);
            ctx.json(Json.object().set("region", regionView(region)));
        });
        r.get(P + "/regions/{id}", ctx -> {
            read(ctx);
            ctx.json(Json.object().set("region", regionView(regions.get(ctx.pathParam("id")))));
        });
        r.put(P + "/regions/{id}", ctx -> {
            admin(ctx);
            ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "region");
            Region region = regions.update(ctx.pathParam("id"), RequestBody.optionalString(body, "name", 1, 255),
                    RequestBody.optionalString(body, "description", 0, 1024), RequestBody.optionalBoolean(body, "enabled"));
            ctx.json(Json.object().set("region", regionView(region)));
        });
        r.delete(P + "/regions/{id}", ctx -> {
            admin(ctx);
            regions.delete(ctx.pathParam("id"));
            ctx.status(204);
        });

        r.get(P + "/services", ctx -> ctx.json(serviceList(ctx)));
        r.get(P + "/services/detail", ctx -> ctx.json(serviceList(ctx)));
        r.get(P + "/services/{id}", ctx -> {
            read(ctx);
            ctx.json(Json.object().set("service", MigrationViews.service(workers.get(ctx.pathParam("id")))));
        });
        r.put(P + "/services/{id}", ctx -> {
            admin(ctx);
            ObjectNode body = RequestBody.member(RequestBody.parse(ctx), "service");
            RequestBody.onlyKeys(body, Set.of("enabled", "mapped_regions"), "service");
            WorkerService service = workers.update(ctx.pathParam("id"), RequestBody.optionalBoolean(body, "enabled"),
                    RequestBody.optionalStringList(body, "mapped_regions", 100, 36));
            ctx.json(Json.object().set("service", MigrationViews.service(service)));
        });
        r.delete(P + "/services/{id}", ctx -> {
            admin(ctx);
            workers.delete(ctx.pathParam("id"));
            ctx.status(204);
        });
    }

    private void schemas(Context ctx) {
        read(ctx);
        MigrationProvider provider = providers.get(ctx.pathParam("platform"));
        int type;
        try {
            type = Integer.parseInt(ctx.pathParam("type"));
        } catch (NumberFormatException e) {
            throw CloudException.badRequest("Provider type must be an integer, not '%s'", ctx.pathParam("type"));
        }
        if (!provider.types().contains(type)) {
            throw CloudException.notFound("Provider %s has no type %d", provider.platform(), type);
        }
        ObjectNode schemas = Json.object();
        switch (type) {
            case ProviderTypes.ENDPOINT -> schemas.set("connection_info_schema", provider.connectionInfoSchema());
            case ProviderTypes.IMPORT, ProviderTypes.REPLICA_IMPORT, ProviderTypes.DESTINATION_ENDPOINT_OPTIONS ->
                    schemas.set("destination_environment_schema", provider.destinationEnvironmentSchema());
            case ProviderTypes.EXPORT, ProviderTypes.REPLICA_EXPORT, ProviderTypes.SOURCE_ENDPOINT_OPTIONS ->
                    schemas.set("source_environment_schema", provider.sourceEnvironmentSchema());
            default -> { }
        }
        ctx.json(Json.object().set("schemas", schemas));
    }

    private TransferService.Request transferRequest(ObjectNode body) {
        List<String> instances = RequestBody.optionalStringList(body, "instances", 1000, 255);
        Boolean shutdown = RequestBody.optionalBoolean(body, "shutdown_instances");
        return new TransferService.Request(RequestBody.requiredString(body, "origin_endpoint_id", 1, 36),
                RequestBody.requiredString(body, "destination_endpoint_id", 1, 36),
                RequestBody.optionalString(body, "origin_minion_pool_id", 1, 36), RequestBody.optionalString(body, "destination_minion_pool_id", 1, 36),
                instances == null ? List.of() : instances, RequestBody.optionalObject(body, "source_environment"),
                RequestBody.optionalObject(body, "destination_environment"), RequestBody.optionalObject(body, "network_map"),
                RequestBody.optionalObject(body, "storage_mappings"), RequestBody.optionalString(body, "notes", 0, 65535), Boolean.TRUE.equals(shutdown),
                Boolean.TRUE.equals(RequestBody.optionalBoolean(body, "skip_os_morphing")),
                RequestBody.optionalInt(body, "replication_count", 1, TransferService.MAX_REPLICATION_COUNT), body.get("user_scripts"),
                body.get("instance_osmorphing_minion_pool_mappings"));
    }

    private ObjectNode view(Transfer transfer) {
        return MigrationViews.transfer(transfer, transfers.executions(transfer.id()));
    }

    private ObjectNode transferList(String project, String scenario, String key) {
        ArrayNode list = Json.array();
        transfers.list(project, scenario).forEach(t -> list.add(view(t)));
        return (ObjectNode) Json.object().set(key, list);
    }

    private ObjectNode executionList(String project, String replicaId) {
        transfers.transfer(project, replicaId, Transfer.REPLICA);
        ArrayNode list = Json.array();
        transfers.executions(replicaId).forEach(e -> list.add(MigrationViews.execution(e)));
        return (ObjectNode) Json.object().set("executions", list);
    }

    private ObjectNode endpointList(String project) {
        ArrayNode list = Json.array();
        endpoints.list(project).forEach(e -> list.add(MigrationViews.endpoint(e)));
        return (ObjectNode) Json.object().set("endpoints", list);
    }

    private ObjectNode poolList(String project) {
        ArrayNode list = Json.array();
        pools.list(project).forEach(p -> list.add(MigrationViews.minionPool(p)));
        return (ObjectNode) Json.object().set("minion_pools", list);
    }

    private ObjectNode regionList(String project) {
        ArrayNode list = Json.array();
        regions.list().forEach(region -> list.add(regionView(region)));
        return (ObjectNode) Json.object().set("regions", list);
    }

    private ObjectNode regionView(Region region) {
        return MigrationViews.region(region, regions.endpointsOf(region.id()), regions.servicesOf(region.id()));
    }

    private ObjectNode serviceList(Context ctx) {
        read(ctx);
        ArrayNode list = Json.array();
        workers.list().forEach(s -> list.add(MigrationViews.service(s)));
        return (ObjectNode) Json.object().set("services", list);
    }

    private static ObjectNode versions(Context ctx) {
        ObjectNode body = Json.object();
        ObjectNode version = body.putArray("versions").addObject();
        version.put("id", "v1");
        version.put("status", "CURRENT");
        version.putArray("links").addObject().put("rel", "self").put("href", Requests.baseUrl(ctx) + ROOT + "/v1/");
        return body;
    }

    /** The project in the path, which must be the token's (admins may name any). */
    private String project(Context ctx, String operation) {
        AuthContext auth = Requests.auth(ctx);
        policy.enforce(auth, operation);
        String project = ctx.pathParam("project_id");
        if (!project.equals(auth.projectId()) && !auth.isAdmin()) {
            throw CloudException.forbidden("Token is not scoped to project %s", project);
        }
        return project;
    }

    private String read(Context ctx) {
        return project(ctx, "migration:read");
    }

    private String write(Context ctx) {
        return project(ctx, "migration:write");
    }

    private void admin(Context ctx) {
        project(ctx, "migration:admin");
    }

    /** Coriolis clients pass listing environments as base64-encoded JSON in {@code env}. */
    private static JsonNode env(Context ctx) {
        String env = ctx.queryParam("env");
        if (env == null || env.isEmpty()) {
            return Json.object();
        }
        try {
            return Json.MAPPER.readTree(new String(Base64.getDecoder().decode(env), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException | java.io.IOException e) {
            throw CloudException.badRequest("env must be base64-encoded JSON");
        }
    }

    /** The option names to list: coriolisclient sends them as a base64-encoded JSON list in {@code options}. */
    private static List<String> optionNames(Context ctx) {
        String options = ctx.queryParam("options");
        if (options == null || options.isEmpty()) {
            return List.of();
        }
        try {
            JsonNode names = Json.MAPPER.readTree(new String(Base64.getDecoder().decode(options), StandardCharsets.UTF_8));
            if (!names.isArray()) {
                throw CloudException.badRequest("options must be a base64-encoded JSON list of names");
            }
            List<String> list = new java.util.ArrayList<>();
            names.forEach(n -> list.add(n.asText()));
            return list;
        } catch (IllegalArgumentException | java.io.IOException e) {
            throw CloudException.badRequest("options must be a base64-encoded JSON list of names");
        }
    }

    /** coriolisclient sends instance ids base64-encoded; plain names work too. */
    private static String instanceId(String raw) {
        try {
            String decoded = new String(Base64.getDecoder().decode(raw), StandardCharsets.UTF_8);
            if (!decoded.isEmpty() && decoded.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                return decoded;
            }
        } catch (IllegalArgumentException e) {
            // Not base64: a plain name.
        }
        return raw;
    }

    private static int indexOf(List<ObjectNode> instances, String marker) {
        for (int i = 0; i < instances.size(); i++) {
            if (instances.get(i).path("id").asText().equals(marker)) {
                return i;
            }
        }
        throw CloudException.badRequest("Marker %s not found", marker);
    }

    private static Instant date(ObjectNode body, String key) {
        String text = RequestBody.optionalString(body, key, 1, 64);
        if (text == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                throw CloudException.badRequest("%s '%s' is not an ISO 8601 date and time", key, text);
            }
        }
    }

    private static String orDefault(String value, String fallback) {
        return value == null ? fallback : value;
    }
}
