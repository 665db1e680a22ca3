package io.strata.server;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.strata.api.ApiArea;
import io.strata.network.Network;
import io.strata.network.NetworkApi;
import io.strata.api.ApiServer;
import io.strata.agent.LocalController;
import io.strata.compute.AddressPool;
import io.strata.compute.MigrationsApi;
import io.strata.compute.ServerMigrationStore;
import io.strata.compute.ServerMigrationsApi;
import io.strata.compute.ServerMoves;
import io.strata.compute.ServerDiagnosticsApi;
import io.strata.compute.AggregateFilters;
import io.strata.compute.AggregateService;
import io.strata.compute.AggregateStore;
import io.strata.compute.AggregatesApi;
import io.strata.compute.BootInputsResolver;
import io.strata.compute.ComputeApi;
import io.strata.compute.ComputeManager;
import io.strata.compute.FlavorService;
import io.strata.compute.FlavorStore;
import io.strata.compute.FlavorsApi;
import io.strata.agent.remote.RemoteAgent;
import io.strata.compute.AgentLinkApi;
import io.strata.compute.HostMonitor;
import io.strata.compute.HostRegistry;
import io.strata.compute.OperationOwners;
import io.strata.compute.HostStore;
import io.strata.compute.HostsApi;
import io.strata.compute.ImageCatalog;
import io.strata.compute.KeypairService;
import io.strata.compute.KeypairStore;
import io.strata.compute.KeypairsApi;
import io.strata.compute.QuotaService;
import io.strata.compute.SecurityGroupService;
import io.strata.compute.SecurityGroupStore;
import io.strata.compute.SecurityGroupsApi;
import io.strata.compute.InstanceActionStore;
import io.strata.compute.InstanceActionsApi;
import io.strata.compute.ServerAdminActions;
import io.strata.compute.ServerBackups;
import io.strata.compute.ServerEvacuation;
import io.strata.compute.ServerGroupFilter;
import io.strata.compute.ServerGroupService;
import io.strata.compute.ServerGroupStore;
import io.strata.compute.ServerGroupsApi;
import io.strata.compute.QuotaStore;
import io.strata.compute.QuotasApi;
import io.strata.compute.Scheduler;
import io.strata.compute.ServerService;
import io.strata.compute.ServerStore;
import io.strata.compute.ServerView;
import io.strata.compute.ServersApi;
import io.strata.identity.Catalog;
import io.strata.hierarchy.GroupManagers;
import io.strata.hierarchy.HierarchyCoordinator;
import io.strata.hierarchy.HierarchyReader;
import io.strata.hierarchy.HierarchySettings;
import io.strata.hierarchy.Operator;
import io.strata.hierarchy.energy.EnergySaver;
import io.strata.hierarchy.energy.WakeupDrivers;
import io.strata.hierarchy.zk.DistributedLeadership;
import io.strata.hierarchy.SnoozeApi;
import io.strata.hierarchy.SnoozeService;
import io.strata.hierarchy.SubmissionStore;
import io.strata.image.ImageServiceCatalog;
import io.strata.liveimage.LiveImageApi;
import io.strata.liveimage.LiveImageLaunches;
import io.strata.liveimage.LiveImageService;
import io.strata.liveimage.LiveImageStore;
import io.strata.identity.IdentityApi;
import io.strata.identity.IdentityService;
import io.strata.identity.IdentityStore;
import io.strata.identity.PasswordHasher;
import io.strata.identity.Policy;
import io.strata.image.ImageApi;
import io.strata.image.ImageFiles;
import io.strata.image.ImageMembers;
import io.strata.image.ImageService;
import io.strata.image.ImageStore;
import io.strata.migration.MigrationModule;
import io.strata.store.Database;
import io.strata.store.DatabaseConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller process, wired by plain constructors in this one place: database, identity,
 * compute, image, scheduler, the local agent of the all-in-one mode, and the HTTP API.
 */
public final class ControllerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControllerServer.class);

    private final StrataConfig config;
    private final List<AutoCloseable> resources;
    private final ApiServer api;
    private final String adminPassword;
    private final String baseUrl;

    private ControllerServer(StrataConfig config, List<AutoCloseable> resources, ApiServer api, String adminPassword, String baseUrl) {
        this.config = config;
        this.resources = resources;
        this.api = api;
        this.adminPassword = adminPassword;
        this.baseUrl = baseUrl;
    }

    public static ControllerServer start(StrataConfig config) {
        requireNonNull(config, "config is null");
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            Files.createDirectories(config.dataDir());
            Clock clock = Clock.systemUTC();
            ClusterSettings cluster = config.cluster();
            String agentToken = agentToken(config);
            // Distributed when a ZooKeeper is named (on the command line, or in hierarchy.properties).
            HierarchySettings hierarchySettings = HierarchySettings.load(config.dataDir());
            String zookeeper = cluster.zookeeper() != null ? cluster.zookeeper() : hierarchySettings.zookeeper();
            Duration zookeeperSessionTimeout = cluster.zookeeper() != null ? cluster.zookeeperSessionTimeout()
                    : hierarchySettings.zookeeperSessionTimeout();
            // New at every start: the operations of a dead incarnation are orphans, even if it comes back at the same address.
            String incarnation = java.util.UUID.randomUUID().toString();
            DatabaseConfig databaseConfig = config.databaseUrl() == null
                    ? DatabaseConfig.embedded(config.dataDir())
                    : new DatabaseConfig(config.databaseUrl(), config.databaseUser(), config.databasePassword(), 16, 5_000);
            Database database = Database.open(databaseConfig);
            resources.add(database);

            PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new JvmMemoryMetrics().bindTo(metrics);
            new JvmThreadMetrics().bindTo(metrics);
            new ProcessorMetrics().bindTo(metrics);
            JvmGcMetrics gcMetrics = new JvmGcMetrics();
            gcMetrics.bindTo(metrics);
            resources.add(gcMetrics);

            IdentityStore identityStore = new IdentityStore(database.jdbi());
            IdentityService identity = new IdentityService(identityStore, new PasswordHasher(config.passwordHashCost()), clock,
                    config.tokenTtl());
            String adminPassword = bootstrapAdmin(config, identity, database);
            Policy policy = Policy.defaults();

            // The API needs its real port before the catalog can name it, so bind first when port is 0.
            int port = config.port() == 0 ? FreePort.find() : config.port();
            // This controller's own address (its identity among controllers, its Snooze group
            // manager address) and the address clients use, which behind a load balancer is shared.
            String ownUrl = ownUrl(config, port);
            String baseUrl = config.publicUrl() != null ? config.publicUrl() : ownUrl;
            Catalog catalog = Catalog.standard(baseUrl, config.region()).withService(NetworkApi.CATALOG_SERVICE)
                    .withService(MigrationModule.CATALOG_SERVICE);

            // Compute: stores, hosts and their agents, scheduler, manager, services.
            ServerStore serverStore = new ServerStore(database.jdbi(), database.dialect(), database.groupCommit());
            HostRegistry hosts = new HostRegistry(new HostStore(database.jdbi()), clock, cluster.downAfter(),
                    (host, url) -> new RemoteAgent(host, url, agentToken));
            FlavorService flavors = new FlavorService(new FlavorStore(database.jdbi()), clock);
            database.exclusively(flavors::bootstrap);
            QuotaStore quotaStore = new QuotaStore(database.jdbi());
            KeypairService keypairs = new KeypairService(new KeypairStore(database.jdbi()), quotaStore, clock);
            ImageStore imageStore = new ImageStore(database.jdbi());
            ImageFiles imageFiles = new ImageFiles(config.dataDir().resolve("images"));
            ImageService imageService;
            if (zookeeper != null) {
                // Controllers may keep images on storage of their own: each copies what another holds.
                io.strata.image.ImageReplication replication = new io.strata.image.ImageReplication(imageStore, imageFiles,
                        ownUrl(config, port), agentToken, IMAGE_REPLICATION_INTERVAL);
                resources.add(replication);
                imageService = new ImageService(imageStore, imageFiles, policy, clock, replication, config.imageSizeCap());
                replication.start();
            } else {
                imageService = new ImageService(imageStore, imageFiles, policy, clock, ImageService.DataLocations.SHARED,
                        config.imageSizeCap());
            }
            imageService.recover();
            ImageCatalog images = new ImageServiceCatalog(imageService);
            AddressPool addresses = new AddressPool("10.0.0.0/16", serverStore.takenAddresses());
            Network network = Network.flat(Network.DEFAULT_NAME, addresses.cidr(), addresses.gateway());
            List<LocalController> agents = LocalAgents.create(config, ref -> images.file(ref.id()), agentToken);
            agents.forEach(agent -> {
                hosts.register(agent, null);
                resources.add(agent);
            });
            AggregateService aggregates = new AggregateService(new AggregateStore(database.jdbi()), hosts, clock);
            ServerGroupStore serverGroupStore = new ServerGroupStore(database.jdbi());
            Scheduler scheduler = new Scheduler(hosts, serverStore, config.scheduler(), metrics,
                    List.of(new AggregateFilters(aggregates), new ServerGroupFilter(serverGroupStore)));
            LiveImageStore liveImageStore = new LiveImageStore(database.jdbi());
            BootInputsResolver bootInputs = new BootInputsResolver(images, keypairs, new LiveImageLaunches(liveImageStore));
            ServerMigrationStore migrationStore = new ServerMigrationStore(database.jdbi());
            InstanceActionStore instanceActions = new InstanceActionStore(database.jdbi(), database.groupCommit());
            ComputeManager manager = zookeeper == null
                    ? new ComputeManager(serverStore, migrationStore, instanceActions, hosts, scheduler, addresses, bootInputs::resolve, clock)
                    : new ComputeManager(serverStore, migrationStore, instanceActions, hosts, scheduler, addresses, bootInputs::resolve, clock,
                            new OperationOwners(database.jdbi()), incarnation);
            resources.add(manager);
            SecurityGroupStore securityGroupStore = new SecurityGroupStore(database.jdbi());
            QuotaService quotas = new QuotaService(quotaStore, serverStore, serverGroupStore, securityGroupStore,
                    config.quotas());
            SecurityGroupService securityGroups = new SecurityGroupService(securityGroupStore, quotas, clock);
            ServerGroupService serverGroups = new ServerGroupService(serverGroupStore, quotas, clock);
            ServerService servers = new ServerService(serverStore, flavors, keypairs, images, hosts, addresses, manager, bootInputs, policy,
                    config.dataDir().resolve("scratch"), clock, quotas, serverGroups, securityGroups, instanceActions);
            for (LocalController agent : agents) {
                agent.subscribe(event -> manager.onVmEvent(agent.hostName(), event));
                manager.reconcile(agent);
            }
            LiveImageService liveImages = new LiveImageService(servers, serverStore, liveImageStore, hosts, addresses, manager, bootInputs,
                    clock);
            resources.add(liveImages);
            if (zookeeper == null) {
                manager.recoverInFlight();
            }   // else the leader takes over what dead controllers left (below), never what a live one runs
            liveImages.start();
            scheduler.resync();
            manager.claimKeptSources();
            ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("heartbeat").factory());
            resources.add(heartbeats::shutdownNow);
            List<String> localHosts = agents.stream().map(LocalController::hostName).toList();
            heartbeats.scheduleWithFixedDelay(() -> {
                try {
                    hosts.heartbeat(localHosts);
                } catch (RuntimeException e) {
                    log.warn("heartbeat failed: {}", e.getMessage());
                }
            }, cluster.heartbeatInterval().toMillis(), cluster.heartbeatInterval().toMillis(), TimeUnit.MILLISECONDS);
            ServerStateGauges.register(metrics, serverStore);
            MigrationModule migration = MigrationModule.start(database.jdbi(), config.dataDir(), policy, clock, config.effectiveOsMorphingImage(),
                    // As the QEMU driver decides (and with its cached verdict): where nested KVM
                    // hangs, an appliance under KVM would never boot.
                    () -> io.strata.hypervisor.qemu.QemuAppliance.accelerator(Path.of("qemu-system-x86_64"),
                            io.strata.hypervisor.qemu.AccelMode.valueOf(config.accel().toUpperCase(java.util.Locale.ROOT)),
                            config.kvmProbeImage(), config.dataDir()),
                    cluster.downAfter());
            // Snooze: virtual clusters become Compute servers of the cloud admin; in one process the
            // hierarchy is one group manager per hostsPerGroupManager hosts, the first leading.
            EnergySaver energy = new EnergySaver(WakeupDrivers.named(hierarchySettings.wakeupDriver()), hierarchySettings.idleThreshold(),
                    hierarchySettings.reservedNodes(), clock);
            HierarchyCoordinator coordinator = new HierarchyCoordinator(hierarchySettings, hosts, energy);
            resources.add(coordinator);
            SubmissionStore submissions = new SubmissionStore(database.jdbi());
            // Distributed, the group managers are the controllers in the election (known once joined, below).
            java.util.concurrent.atomic.AtomicReference<DistributedLeadership> joined = new java.util.concurrent.atomic.AtomicReference<>();
            HierarchyReader hierarchy = new HierarchyReader(hosts, serverStore, submissions,
                    new GroupManagers(hierarchySettings.hostsPerGroupManager(),
                            () -> joined.get() == null ? List.of() : joined.get().members()), coordinator::poweredOffInStore);
            io.strata.identity.AuthContext snoozeOperator = Operator.cloudAdmin(identityStore);
            SnoozeService snooze = new SnoozeService(submissions, servers, serverStore, flavors, hosts, hierarchy, coordinator,
                    snoozeOperator, clock);
            HierarchyCoordinator.Migrator migrator = (server, host) -> servers.liveMigrate(snoozeOperator, server, host,
                    ServerService.MigrationRules.NOVA);
            DistributedLeadership leadership = null;
            if (zookeeper != null) {
                // Distributed: this controller is one group manager; the elected leader runs the
                // rounds and, on taking over, starts what a dead leader accepted but had not started.
                String groupManagerId = java.util.UUID.nameUUIDFromBytes(ownUrl.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
                leadership = DistributedLeadership.join(zookeeper, zookeeperSessionTimeout, groupManagerId, publicHost(config.bindHost()),
                        port, incarnation);
                resources.add(leadership);
                joined.set(leadership);
                leadership.election().onLeadership(leading -> {
                    if (leading) {
                        Thread.ofVirtual().name("snooze-takeover").start(snooze::resumeUnfinished);
                    }
                });
                // Every controller runs the periodic rounds for its own group's local controllers.
                DistributedLeadership member = leadership;
                coordinator.start(hierarchy, migrator, leadership::isLeader,
                        () -> member.members().isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(groupManagerId));
            } else {
                coordinator.start(hierarchy, migrator);
                snooze.resumeUnfinished();
            }
            DistributedLeadership elected = leadership;
            // Host monitoring and the takeover of dead controllers' operations: every controller
            // refreshes its view of the hosts, only the leader acts (all of it, in one process).
            HostMonitor monitor = new HostMonitor(hosts, serverStore, manager, evacuationPolicy(cluster.evacuate(), hosts),
                    elected == null ? () -> true : elected::isLeader, clock);
            java.util.concurrent.atomic.AtomicLong rounds = new java.util.concurrent.atomic.AtomicLong();
            Runnable leaderRound = () -> {
                try {
                    monitor.check();
                    if (elected != null && rounds.get() % RECONCILE_EVERY_ROUNDS == RECONCILE_EVERY_ROUNDS - 1) {
                        // Other controllers place servers too: re-read what every host holds now and then,
                        // so that this one's capacity claims do not drift from theirs.
                        scheduler.resync();
                    }
                    if (elected != null && elected.isLeader()) {
                        manager.recoverOrphans(elected.liveIncarnations(), clock.instant().minus(UNOWNED_GRACE));
                        // Now and then, make every remote host agree with the store: a spawn a dead
                        // controller had asked for may finish after its build was taken over elsewhere.
                        if (rounds.get() % RECONCILE_EVERY_ROUNDS == 0) {
                            for (io.strata.compute.Host host : hosts.hosts()) {
                                if (host.agentUrl() != null && hosts.isUp(host)) {
                                    hosts.findAgent(host.name()).ifPresent(manager::reconcile);
                                }
                            }
                        }
                    }
                } catch (Exception e) {
                    // ZooKeeper unreachable: judge nobody this round rather than take live controllers' work.
                    log.warn("leader round skipped: {}", e.toString());
                } finally {
                    rounds.incrementAndGet();
                }
            };
            heartbeats.scheduleWithFixedDelay(leaderRound, cluster.heartbeatInterval().toMillis(), cluster.heartbeatInterval().toMillis(),
                    TimeUnit.MILLISECONDS);
            if (elected != null) {
                elected.election().onLeadership(leading -> {
                    if (leading) {
                        log.info("this controller leads now");
                        heartbeats.execute(leaderRound);
                    }
                });
            }

            List<ApiArea> areas = new ArrayList<>();
            areas.add(new RootApi(catalog));
            areas.add(new IdentityApi(identity, policy, catalog));
            areas.add(new ComputeApi(policy, baseUrl));
            ServersApi serversApi = new ServersApi(servers, new ServerView(baseUrl, hosts, securityGroups::namesOfServers, network.name()), policy,
                    network);
            areas.add(serversApi);
            areas.add(new LiveImageApi(liveImages, serversApi));
            areas.add(new FlavorsApi(flavors, policy, baseUrl));
            areas.add(new KeypairsApi(keypairs, policy, quotas));
            areas.add(new HostsApi(hosts, serverStore, policy));
            areas.add(new AggregatesApi(aggregates, policy));
            areas.add(new QuotasApi(quotas, policy));
            areas.add(new ServerGroupsApi(serverGroups, policy));
            areas.add(new SecurityGroupsApi(securityGroups, servers, serversApi, policy));
            new ServerAdminActions(servers, serverStore, policy, clock, serversApi); // registers lock, unlock, os-resetState
            new ServerBackups(servers, images, policy, serversApi); // registers createBackup
            new ServerEvacuation(servers, serverStore, hosts, manager, policy, clock, serversApi); // registers evacuate
            // registers migrate, resize, confirmResize, revertResize
            new ServerMoves(servers, serverStore, migrationStore, flavors, quotas, hosts, manager, policy, clock, serversApi);
            areas.add(new MigrationsApi(migrationStore, hosts, policy, baseUrl));
            areas.add(new ServerMigrationsApi(servers, migrationStore, hosts, policy));
            areas.add(new ServerDiagnosticsApi(servers, hosts, policy));
            areas.add(new InstanceActionsApi(instanceActions, servers, policy, clock));
            SnoozeApi snoozeApi = new SnoozeApi(snooze, ownUrl, () -> elected == null ? java.util.Optional.empty() : elected.leader());
            areas.add(snoozeApi);
            // Distributed, each agent heartbeats the controller that is its group manager.
            areas.add(new AgentLinkApi(hosts, manager, images, agentToken, host -> hierarchy.placementOf(host)
                    .filter(placement -> placement.groupManagerAddress() != null)
                    .map(placement -> new io.strata.agent.remote.AgentWire.HeartbeatReply(placement.groupManagerId(),
                            "http://" + placement.groupManagerAddress() + ":" + placement.groupManagerPort()))
                    .orElse(new io.strata.agent.remote.AgentWire.HeartbeatReply(null, null)), metrics));
            areas.add(new NetworkApi(network, policy));
            areas.add(new io.strata.network.SecurityGroupsApi(securityGroups, quotas, policy));
            areas.add(new ImageApi(imageService, new ImageMembers(imageStore, policy, clock), catalog));
            areas.add(migration.api());

            ApiServer api = new ApiServer(config.bindHost(), port, areas, identity::validate, metrics);
            resources.add(api);
            // Closed before the API (resources close in reverse): running executions stop at once, to resume on the next start.
            resources.add(migration);
            api.start();
            // Snooze-style separate ports (its bootstrap and group manager listen on their own).
            for (int snoozePort : new int[] {cluster.snoozeBootstrapPort(), cluster.snoozeGroupManagerPort()}) {
                if (snoozePort > 0) {
                    ApiServer snoozeServer = new ApiServer(config.bindHost(), snoozePort, List.of(snoozeApi), identity::validate, metrics);
                    snoozeServer.start();
                    resources.add(snoozeServer);
                    log.info("Snooze API also on port {}", snoozePort);
                }
            }
            writeOpenrc(config.dataDir(), baseUrl, config.region(), adminPassword);
            log.info("Strata is up at {} (data in {}, database {})", baseUrl, config.dataDir(),
                    config.databaseUrl() == null ? "embedded H2" : "PostgreSQL");
            return new ControllerServer(config, resources, api, adminPassword, baseUrl);
        } catch (RuntimeException | IOException e) {
            closeAll(resources);
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException("cannot start: " + e.getMessage(), e);
        }
    }

    /** How often a controller copies the image data other controllers received. */
    private static final Duration IMAGE_REPLICATION_INTERVAL = Duration.ofSeconds(2);

    private static String ownUrl(StrataConfig config, int port) {
        return "http://" + publicHost(config.bindHost()) + ":" + port;
    }

    /** How long an in-flight operation nobody claimed may be its controller's, between accepting and claiming it. */
    private static final Duration UNOWNED_GRACE = Duration.ofSeconds(10);
    /** How many leader rounds (heartbeat intervals) between reconciliations of the remote hosts. */
    private static final long RECONCILE_EVERY_ROUNDS = 10;

    private static HostMonitor.EvacuationPolicy evacuationPolicy(ClusterSettings.Evacuate evacuate, HostRegistry hosts) {
        return switch (evacuate) {
            case ALWAYS -> (host, server) -> true;
            case NEVER -> (host, server) -> false;
            // A fake host's VMs have nothing to lose; a live-image clone restarts from its image,
            // which is on the image's host; a VM whose disk is on instance storage another live
            // host shares is rebuilt there from that disk. Anything else would lose its local disk.
            case AUTO -> (host, server) -> "fake".equals(host.hypervisorType())
                    || server.metadata().containsKey(LiveImageService.LAUNCHED_FROM)
                    || hosts.hosts().stream().anyMatch(other -> host.sharesStorageWith(other) && other.serviceEnabled() && hosts.isUp(other));
        };
    }

    /** The secret agents and controllers share: configured, else the one in the data directory (created on first start). */
    private static String agentToken(StrataConfig config) throws IOException {
        if (config.cluster().agentToken() != null) {
            return config.cluster().agentToken();
        }
        Path file = config.dataDir().resolve("agent-token");
        if (Files.exists(file)) {
            String token = Files.readString(file).strip();
            if (!token.isEmpty()) {
                return token;
            }
        }
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Files.writeString(file, token + "\n");
        try {
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system
        }
        return token;
    }

    /**
     * Creates the admin on first start. The password comes from configuration, else from the
     * openrc an earlier start wrote, else is generated (and only then written to openrc).
     */
    private static String bootstrapAdmin(StrataConfig config, IdentityService identity, Database database) throws IOException {
        String password = config.adminPassword();
        if (password == null) {
            password = Openrc.readPassword(config.dataDir().resolve("openrc"));
        }
        if (password == null) {
            byte[] secret = new byte[18];
            new SecureRandom().nextBytes(secret);
            password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        }
        String chosen = password;
        database.exclusively(() -> identity.bootstrap(chosen));
        return password;
    }

    private static void writeOpenrc(Path dataDir, String baseUrl, String region, String password) throws IOException {
        Openrc.write(dataDir.resolve("openrc"), baseUrl, region, "admin", password, "admin");
    }

    private static String publicHost(String bindHost) {
        return bindHost.equals("0.0.0.0") || bindHost.equals("::") ? "127.0.0.1" : bindHost;
    }

    public int port() {
        return api.port();
    }

    public String baseUrl() {
        return baseUrl;
    }

    public String adminPassword() {
        return adminPassword;
    }

    public StrataConfig config() {
        return config;
    }

    @Override
    public void close() {
        closeAll(resources);
    }

    private static void closeAll(List<AutoCloseable> resources) {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                log.warn("error while shutting down {}: {}", resources.get(i).getClass().getSimpleName(), e.toString());
            }
        }
        resources.clear();
    }
}
