package io.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.store.DatabaseConfig;
import io.strata.store.TestDatabases;
import io.strata.testing.ApiClient;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Strata in its distributed form, every part its own process: a real ZooKeeper, two
 * {@code strata controller}s on a fresh PostgreSQL database behind one address (a real HAProxy
 * doing round robin with health checks, as docs/production.md describes) and a third one that
 * is only a group manager, three {@code strata agent}s with the fake driver. Clients, including
 * the real openstack CLI, use only the one address. Kills a group manager, the leader and an
 * agent with SIGKILL and checks what must survive.
 */
class DistributedCloudTest {
    private static final String ADMIN_PASSWORD = "distributed-secret";
    private static final Duration BOOT = Duration.ofSeconds(60);
    private static final byte[] IMAGE_DATA = imageData();

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();
    private final Map<Process, Path> logs = new HashMap<>();
    private TestingServer zookeeper;

    @AfterEach
    void stop() throws IOException {
        processes.forEach(Process::destroyForcibly);
        for (Process process : processes) {
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (zookeeper != null) {
            zookeeper.close();
        }
    }

    @Test
    void survivesTheDeathOfTheLeaderAndOfAnAgent() throws Exception {
        // Tick 500 ms: ZooKeeper then allows sessions as short as 1 s.
        zookeeper = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 500, -1), true);
        DatabaseConfig database = TestDatabases.config(TestDatabases.Kind.POSTGRESQL);
        String token = UUID.randomUUID().toString();
        // Each controller keeps images on storage of its own: they copy each other's (ImageReplication).
        int portA = freePort();
        int portB = freePort();
        int lbPort = freePort();
        String urlA = "http://127.0.0.1:" + portA;
        String urlB = "http://127.0.0.1:" + portB;
        String lbUrl = "http://127.0.0.1:" + lbPort;
        // Every controller puts the one address in the service catalog.
        Process controllerA = controller(portA, dir.resolve("controller-a"), database, token, "--public-url", lbUrl);
        awaitHealthy(urlA, controllerA);
        int snoozePort = freePort();
        Process controllerB = controller(portB, dir.resolve("controller-b"), database, token, "--public-url", lbUrl, "--snooze-bootstrap-port",
                Integer.toString(snoozePort));
        // A third controller outside the balancer and outside the agents' lists: a group manager only.
        int portC = freePort();
        String urlC = "http://127.0.0.1:" + portC;
        Process controllerC = controller(portC, dir.resolve("controller-c"), database, token, "--public-url", lbUrl);
        Process balancer = loadBalancer(lbPort, portA, portB);
        List<String> hostNames = List.of("lc-1", "lc-2", "lc-3");
        Map<String, Process> agents = new HashMap<>();
        for (String host : hostNames) {
            agents.put(host, agent(host, urlA + "," + urlB, token));
        }
        awaitHealthy(urlB, controllerB);
        awaitHealthy(urlC, controllerC);
        awaitHealthy(lbUrl, balancer);

        // Everything a client does goes through the one address; round robin spreads it over both.
        ApiClient admin = ApiClient.login(lbUrl, "admin", ADMIN_PASSWORD, "admin");
        assertThat(admin.get("/identity/v3/auth/catalog").expect(200).text()).contains(lbUrl + "/compute/v2.1").doesNotContain(urlA)
                .doesNotContain(urlB);
        await().atMost(BOOT).pollInterval(Duration.ofMillis(300)).until(() -> upHosts(admin).containsAll(hostNames));
        assertThat(leaderPort(urlA)).isEqualTo(portA);
        // Controller B also serves the Snooze bootstrap on a port of its own; every controller names the same leader.
        assertThat(leaderPort("http://127.0.0.1:" + snoozePort)).isEqualTo(portA);
        // strata status through the one address: API, store, the ZooKeeper coordinator and its leader, every agent up.
        StrataCli cli = StrataCli.withEnvironment(Map.of("OS_AUTH_URL", lbUrl + "/identity", "OS_IDENTITY_API_VERSION", "3",
                "OS_USERNAME", "admin", "OS_PASSWORD", ADMIN_PASSWORD, "OS_PROJECT_NAME", "admin", "OS_USER_DOMAIN_NAME", "Default",
                "OS_PROJECT_DOMAIN_NAME", "Default", "OS_REGION_NAME", "RegionOne", "OS_INTERFACE", "public"));
        StrataCli.Run status = cli.run("status", "-f", "value");
        assertThat(status.exit()).as("strata status: %s %s", status.out(), status.err()).isZero();
        assertThat(status.out().lines()).anyMatch(line -> line.startsWith("api up " + lbUrl + "/compute"))
                .anyMatch(line -> line.startsWith("store up"))
                .contains("coordinator up ZooKeeper; group leader 127.0.0.1:" + portA);
        for (String host : hostNames) {
            assertThat(status.out().lines()).anyMatch(line -> line.startsWith("agent " + host + " up"));
        }

        // An image uploaded to A alone (its own address) is downloadable through B at once, and
        // B keeps its own copy, so the image outlives A.
        String image = createImage(new ApiClient(urlA, admin.token()));
        byte[] throughB = new ApiClient(urlB, admin.token()).get("/image/v2/images/" + image + "/file").expect(200).body();
        assertThat(throughB).isEqualTo(IMAGE_DATA);
        assertThat(dir.resolve("controller-b").resolve("images").resolve(image)).exists();
        // An image deleted through A loses B's copy too, within a few replication rounds (2 s each).
        String doomed = createImage(new ApiClient(urlA, admin.token()));
        Path doomedOnB = dir.resolve("controller-b").resolve("images").resolve(doomed);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> Files.exists(doomedOnB));
        new ApiClient(urlA, admin.token()).delete("/image/v2/images/" + doomed).expect(204);
        assertThat(dir.resolve("controller-a").resolve("images").resolve(doomed)).doesNotExist();
        await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(200)).until(() -> !Files.exists(doomedOnB));
        assertThat(dir.resolve("controller-b").resolve("images").resolve(image)).exists();
        List<String> servers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            servers.add(createServer(admin, image, "vm-" + i));
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> servers.stream().allMatch(id -> "ACTIVE".equals(server(admin, id).path("status").asText())));

        // Each controller is a group manager; the local controllers are spread over all three, and
        // every controller answers the same hierarchy.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(300))
                .until(() -> groupManagers(urlB).keySet().equals(Set.of(portA, portB, portC)));
        Map<Integer, Set<String>> managed = groupManagers(urlB);
        assertThat(groupManagers(urlA)).isEqualTo(managed);
        assertThat(groupManagers(urlC)).isEqualTo(managed);
        assertThat(managed.values().stream().flatMap(Set::stream).toList()).containsExactlyInAnyOrderElementsOf(hostNames);
        assertThat(managed.values()).allMatch(lcs -> lcs.size() == 1);
        // Each local controller heartbeats its own group manager, C included, though no agent was told its address.
        Map<Integer, String> controllerUrls = Map.of(portA, urlA, portB, urlB, portC, urlC);
        awaitHeartbeatsAtTheirGroupManagers(urlB, controllerUrls);

        // A group manager that is not the leader dies: its local controller rejoins another one,
        // without its host ever being seen down, and the VM on it stays managed.
        String orphan = managed.get(portC).iterator().next();
        String onOrphan = createServer(admin, image, "on-" + orphan, orphan);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                .until(() -> "ACTIVE".equals(server(admin, onOrphan).path("status").asText()));
        servers.add(onOrphan);
        controllerC.destroyForcibly().waitFor();
        long gmKilled = System.nanoTime();
        Map<Integer, String> survivors = Map.of(portA, urlA, portB, urlB);
        while (!groupManagers(urlA).keySet().equals(survivors.keySet())) {
            assertThat(upHosts(admin)).as("hosts up while group manager C's session expires").containsAll(hostNames);
            assertThat(System.nanoTime() - gmKilled).as("C leaves the hierarchy").isLessThan(Duration.ofSeconds(15).toNanos());
            Thread.sleep(200);
        }
        System.out.printf("group manager C left the hierarchy %d ms after its SIGKILL%n", (System.nanoTime() - gmKilled) / 1_000_000);
        assertThat(groupManagers(urlA).values().stream().flatMap(Set::stream).toList()).containsExactlyInAnyOrderElementsOf(hostNames);
        awaitHeartbeatsAtTheirGroupManagers(urlA, survivors);
        assertThat(upHosts(admin)).containsAll(hostNames);
        admin.post("/compute/v2.1/servers/" + onOrphan + "/action", "{\"os-stop\": null}").expect(202);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                .until(() -> "SHUTOFF".equals(server(admin, onOrphan).path("status").asText()));
        admin.post("/compute/v2.1/servers/" + onOrphan + "/action", "{\"os-start\": null}").expect(202);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                .until(() -> "ACTIVE".equals(server(admin, onOrphan).path("status").asText()));
        assertThat(server(admin, onOrphan).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(orphan);

        // A submission the leader accepted (sent to it directly), then the leader dies at once.
        String late = createServer(new ApiClient(urlA, admin.token()), image, "accepted-before-the-crash");
        long killed = System.nanoTime();
        controllerA.destroyForcibly().waitFor();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> leaderPort(urlB) == portB);
        System.out.printf("failover: controller B leads %d ms after SIGKILL of leader A%n", (System.nanoTime() - killed) / 1_000_000);
        // The dead group manager's local controllers rejoin the survivor.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(300))
                .until(() -> groupManagers(urlB).equals(Map.of(portB, Set.copyOf(hostNames))));

        // The API keeps working at the same address, now served by B alone (tokens live in the
        // shared database, the balancer's health checks took A out), and nothing accepted is lost.
        ApiClient viaB = admin;
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> "ACTIVE".equals(server(viaB, late).path("status").asText()));
        servers.add(late);
        // Each spawn takes 0.3 s on the agents, so A's build was still in flight when it died: B took it over.
        List<String> takeover = Files.readAllLines(logs.get(controllerB)).stream().filter(line -> line.contains(late)).toList();
        takeover.forEach(System.out::println);
        assertThat(takeover).anyMatch(line -> line.contains("taking over"));
        String created = createServer(viaB, image, "after-failover");
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                .until(() -> "ACTIVE".equals(server(viaB, created).path("status").asText()));
        servers.add(created);
        // The real openstack CLI, given only the one address, finds everything through its catalog.
        String listed = openstack(lbUrl, "server", "list", "-f", "value", "-c", "ID");
        assertThat(listed.lines().toList()).containsAll(servers);

        // An agent dies: its host goes down, its servers are faulted and rebuilt on the others.
        Map<String, String> hostOf = hostsOf(viaB, servers);
        String victim = hostOf.values().stream().filter(h -> hostNames.contains(h)).findFirst().orElseThrow();
        List<String> onVictim = servers.stream().filter(id -> victim.equals(hostOf.get(id))).toList();
        agents.get(victim).destroyForcibly().waitFor();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> !upHosts(viaB).contains(victim));
        assertThat(serviceState(viaB, victim)).isEqualTo("down");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> onVictim.stream().allMatch(id -> {
            JsonNode server = server(viaB, id);
            String host = server.path("OS-EXT-SRV-ATTR:host").asText();
            return "ACTIVE".equals(server.path("status").asText()) && !host.isEmpty() && !host.equals(victim) && !host.equals("null");
        }));

        // It comes back with the VMs it had: those of evacuated servers are removed, none runs twice.
        agents.put(victim, agent(victim, urlA + "," + urlB, token));
        await().atMost(BOOT).pollInterval(Duration.ofMillis(300)).until(() -> upHosts(viaB).contains(victim));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> vmsOn(victim).stream().noneMatch(onVictim::contains));
        Map<String, String> finalHosts = hostsOf(viaB, servers);
        Set<String> seen = new HashSet<>();
        for (String host : hostNames) {
            for (String vm : vmsOn(host)) {
                assertThat(seen.add(vm)).as("VM %s runs only once", vm).isTrue();
                assertThat(finalHosts.get(vm)).as("VM %s runs where its server says", vm).isEqualTo(host);
            }
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(servers);
    }

    /**
     * Every controller is a group manager that runs the periodic rounds for its own local
     * controllers: each powers off only its own idle hosts and consolidates only inside its group,
     * while the leader wakes any group's host for a placement.
     */
    @Test
    void eachGroupManagerRunsTheRoundsOfItsOwnLocalControllers() throws Exception {
        zookeeper = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 500, -1), true);
        DatabaseConfig database = TestDatabases.config(TestDatabases.Kind.POSTGRESQL);
        String token = UUID.randomUUID().toString();
        String settings = String.join("\n", "placement=FirstFit", "dispatching=FirstFit", "monitoringInterval=PT0.3S",
                "consolidationInterval=PT1S", "energySaver=true", "wakeupDriver=test", "idleThreshold=PT1S", "reservedNodes=0",
                "relocation=false");
        Map<Integer, String> urls = new HashMap<>();
        Map<Integer, Process> controllers = new HashMap<>();
        for (String name : List.of("a", "b")) {
            Path data = dir.resolve("controller-" + name);
            Files.createDirectories(data);
            Files.writeString(data.resolve("hierarchy.properties"), settings);
            int port = freePort();
            urls.put(port, "http://127.0.0.1:" + port);
            controllers.put(port, controller(port, data, database, token));
        }
        controllers.forEach((port, process) -> awaitHealthy(urls.get(port), process));
        String any = urls.values().iterator().next();
        // Both group managers are in the hierarchy before any local controller exists, so none
        // is managed by a lone group manager at first.
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> groupManagers(any).keySet().equals(urls.keySet()));
        // A host may still change group while the others join (each group's even share grows
        // with the number of hosts), and by then it may have been idle long enough to be powered
        // off by the group manager it had: record which hosts each group manager's own hierarchy
        // put in its group, as often as its rounds could act on it.
        Map<Integer, Set<String>> ownedOnceBy = new java.util.concurrent.ConcurrentHashMap<>();
        List<String> hostNames = List.of("lc-1", "lc-2", "lc-3", "lc-4");
        for (String host : hostNames) {
            agent(host, String.join(",", urls.values()), token, "--fake-vcpus", "4", "--fake-memory-mb", "4096");
        }
        await().atMost(BOOT).pollInterval(Duration.ofMillis(100)).until(() -> {
            recordOwnGroups(urls, ownedOnceBy);
            Map<Integer, Set<String>> managed = groupManagers(any);
            return managed.values().stream().mapToInt(Set::size).sum() == 4 && managed.values().stream().allMatch(lcs -> lcs.size() == 2);
        });
        Map<Integer, Set<String>> managed = groupManagers(any);
        Map<String, Integer> groupOf = new HashMap<>();
        managed.forEach((port, lcs) -> lcs.forEach(lc -> groupOf.put(lc, port)));
        int leader = leaderPort(any);
        ApiClient snooze = new ApiClient(urls.get(leader), null);

        // All idle, no reserve: every host goes off once, each through a group manager it belonged to.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            recordOwnGroups(urls, ownedOnceBy);
            return lcStatuses(snooze).values().stream().allMatch("PASSIVE"::equals);
        });
        Map<String, Integer> poweredOffBy = new HashMap<>();
        for (int port : urls.keySet()) {
            Set<String> off = logged(controllers.get(port), "powered off idle host ");
            assertThat(ownedOnceBy.getOrDefault(port, Set.of())).as("hosts powered off by group manager %d were in its group", port)
                    .containsAll(off);
            off.forEach(host -> assertThat(poweredOffBy.put(host, port)).as("%s powered off by one group manager", host).isNull());
        }
        assertThat(poweredOffBy.keySet()).containsExactlyInAnyOrderElementsOf(hostNames);

        // Nine VMs of 1 core / 1 GiB (three fit under MID on a 4 GiB host): the leader wakes three
        // hosts, of both groups (each group has two), whoever powered them off.
        StringBuilder body = new StringBuilder("{\"virtualMachineTemplates\": [");
        for (int i = 0; i < 9; i++) {
            body.append(i == 0 ? "" : ",").append("{\"name\": \"packed-").append(i).append("\", \"vcpus\": 1, \"memory\": 1048576}");
        }
        String task = snooze.post("/groupmanager?startVirtualCluster", body + "]}").expect(200).text();
        Map<String, List<String>> vmsByHost = new HashMap<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> {
            vmsByHost.clear();
            ApiClient.Response pending = snooze.post("/groupmanager?getVirtualClusterResponse", task).expect(200);
            if (pending.body().length == 0) {
                return false;   // not settled yet
            }
            JsonNode response = pending.json();
            int running = 0;
            for (JsonNode vm : response.path("virtualMachineMetaData")) {
                running += "RUNNING".equals(vm.path("status").asText()) ? 1 : 0;
                vmsByHost.computeIfAbsent(vm.at("/virtualMachineLocation/localControllerId").asText(), k -> new ArrayList<>())
                        .add(vm.at("/virtualMachineLocation/virtualMachineId").asText());
            }
            return running == 9;
        });
        Map<String, String> hostById = new HashMap<>();
        for (JsonNode lc : snooze.get("/bootstrap?getLocalControllerList").expect(200).json().path("localControllers")) {
            hostById.put(lc.path("id").asText(), lc.path("hostname").asText());
        }
        Set<String> woken = new HashSet<>();
        vmsByHost.keySet().forEach(id -> woken.add(hostById.get(id)));
        assertThat(woken).hasSize(3);
        assertThat(woken.stream().map(groupOf::get).distinct()).hasSize(2);

        // Two VMs leave each host: three hosts with one VM each. Consolidation could pack all three
        // onto one host, but each group manager packs only its own: the group with two busy hosts
        // empties one of them, the other group keeps its one.
        Map<String, String> originalHost = new HashMap<>();
        List<String> kept = new ArrayList<>();
        vmsByHost.forEach((id, vms) -> {
            vms.forEach(vm -> originalHost.put(vm, hostById.get(id)));
            kept.add(vms.get(0));
            vms.subList(1, vms.size()).forEach(vm -> snooze.post("/groupmanager?destroyVirtualMachine", vm).expect(200));
        });
        ApiClient admin = ApiClient.login(urls.get(leader), "admin", ADMIN_PASSWORD, "admin");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Map<String, String> hosts = hostsOf(admin, kept);
            assertThat(hosts.values().stream().distinct().count()).as("hosts with VMs: %s", hosts).isEqualTo(2);
            assertThat(hosts.values().stream().map(groupOf::get).distinct().count()).isEqualTo(2);
        });
        Map<String, String> finalHost = hostsOf(admin, kept);
        for (String vm : kept) {
            assertThat(groupOf.get(finalHost.get(vm))).as("VM %s stays in its group", vm).isEqualTo(groupOf.get(originalHost.get(vm)));
        }
        // and the emptied host is powered off again by its group manager
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> lcStatuses(snooze).values().stream().filter("PASSIVE"::equals).count() == 2);
    }

    /** Adds to {@code owned} the local controllers each group manager's own getCompleteHierarchy puts in its group now. */
    private static void recordOwnGroups(Map<Integer, String> urls, Map<Integer, Set<String>> owned) {
        urls.forEach((port, url) -> owned.computeIfAbsent(port, p -> java.util.concurrent.ConcurrentHashMap.newKeySet())
                .addAll(groupManagers(url).getOrDefault(port, Set.of())));
    }

    /** Host name → status (ACTIVE, PASSIVE) from getLocalControllerList. */
    private static Map<String, String> lcStatuses(ApiClient snooze) {
        Map<String, String> statuses = new HashMap<>();
        for (JsonNode lc : snooze.get("/bootstrap?getLocalControllerList").expect(200).json().path("localControllers")) {
            statuses.put(lc.path("hostname").asText(), lc.path("status").asText());
        }
        return statuses;
    }

    /** The host names a process logged right after {@code prefix} (e.g. the energy saver's power-offs). */
    private Set<String> logged(Process process, String prefix) throws IOException {
        Set<String> hosts = new HashSet<>();
        for (String line : Files.readAllLines(logs.get(process))) {
            int at = line.indexOf(prefix);
            if (at >= 0) {
                hosts.add(line.substring(at + prefix.length()).split(" ")[0]);
            }
        }
        return hosts;
    }

    // ------------------------------------------------------------------ processes

    private Process controller(int port, Path dataDir, DatabaseConfig database, String token, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("controller", "--port", Integer.toString(port), "--bind", "127.0.0.1", "--data-dir",
                dataDir.toString(), "--db", database.url(), "--db-user", database.user(), "--db-password", database.password(),
                "--admin-password", ADMIN_PASSWORD, "--zookeeper", zookeeper.getConnectString(), "--zookeeper-session-timeout", "2",
                "--heartbeat-interval", "0.5", "--missed-heartbeats", "4", "--agent-token", token, "--evacuate", "auto"));
        args.addAll(List.of(extra));
        return start("controller-" + port, args.toArray(String[]::new));
    }

    /**
     * HAProxy in front of both controllers: round robin, /healthz checks every 300 ms, and a
     * request that cannot reach its controller is sent to the other one (redispatch).
     */
    private Process loadBalancer(int port, int... controllers) throws IOException {
        StringBuilder config = new StringBuilder("""
                global
                    maxconn 256
                defaults
                    mode http
                    timeout connect 1s
                    timeout client 60s
                    timeout server 60s
                    retries 3
                    option redispatch
                frontend api
                    bind 127.0.0.1:%d
                    default_backend controllers
                backend controllers
                    balance roundrobin
                    option httpchk GET /healthz
                    default-server inter 300ms fall 2 rise 2
                """.formatted(port));
        for (int controller : controllers) {
            config.append("    server c").append(controller).append(" 127.0.0.1:").append(controller).append(" check\n");
        }
        Path file = dir.resolve("haproxy.cfg");
        Files.writeString(file, config.toString());
        Path log = dir.resolve("haproxy.log");
        Process process = new ProcessBuilder("haproxy", "-db", "-f", file.toString()).redirectErrorStream(true).redirectOutput(log.toFile())
                .start();
        processes.add(process);
        logs.put(process, log);
        return process;
    }

    /** Runs the real openstack CLI against {@code authBase} as admin; returns its output, fails on a non-zero exit. */
    private String openstack(String authBase, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openstack", "--os-auth-url", authBase + "/identity/v3", "--os-identity-api-version", "3",
                "--os-username", "admin", "--os-password", ADMIN_PASSWORD, "--os-project-name", "admin", "--os-user-domain-name", "Default",
                "--os-project-domain-name", "Default"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor()).as("openstack %s: %s", String.join(" ", args), output).isZero();
        return output;
    }

    private Process agent(String host, String controllers, String token, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("agent", "--controller", controllers, "--host-name", host, "--listen",
                "127.0.0.1:0", "--data-dir", dir.resolve(host).toString(), "--token", token, "--heartbeat-interval", "0.5",
                "--fake-action-delay", "0.3"));
        args.addAll(List.of(extra));
        return start("agent-" + host + "-" + System.nanoTime(), args.toArray(String[]::new));
    }

    private Process start(String name, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m", "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
                "-Dlogback.configurationFile=" + Path.of(URI.create(DistributedCloudTest.class.getResource("/process-logback.xml").toString())),
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        Path log = dir.resolve(name + ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(process);
        logs.put(process, log);
        return process;
    }

    private void awaitHealthy(String url, Process process) {
        await().atMost(BOOT).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!process.isAlive()) {
                throw new AssertionError("process exited: " + Files.readString(logs.get(process), StandardCharsets.UTF_8));
            }
            try {
                return new ApiClient(url, null).get("/healthz").status() == 200;
            } catch (RuntimeException e) {
                return false;
            }
        });
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    // ------------------------------------------------------------------ API

    private static int leaderPort(String url) {
        try {
            JsonNode leader = new ApiClient(url, null).get("/bootstrap?getGroupLeaderDescription").json();
            return leader.path("listenSettings").path("controlDataAddress").path("port").asInt(-1);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** getCompleteHierarchy as group manager port → the host names of its local controllers. */
    private static Map<Integer, Set<String>> groupManagers(String url) {
        JsonNode hierarchy = new ApiClient(url, null).get("/bootstrap?getCompleteHierarchy").expect(200).json();
        Map<Integer, Set<String>> managers = new HashMap<>();
        for (JsonNode gm : hierarchy.path("groupManagers")) {
            Set<String> hosts = new HashSet<>();
            gm.path("localControllers").forEach(lc -> hosts.add(lc.path("hostname").asText()));
            managers.put(gm.at("/listenSettings/controlDataAddress/port").asInt(), hosts);
        }
        return managers;
    }

    private static Set<String> upHosts(ApiClient api) {
        Set<String> up = new HashSet<>();
        for (JsonNode hypervisor : api.get("/compute/v2.1/os-hypervisors/detail").expect(200).json().path("hypervisors")) {
            if ("up".equals(hypervisor.path("state").asText())) {
                up.add(hypervisor.path("hypervisor_hostname").asText());
            }
        }
        return up;
    }

    private static String serviceState(ApiClient api, String host) {
        for (JsonNode service : api.get("/compute/v2.1/os-services").expect(200).json().path("services")) {
            if (host.equals(service.path("host").asText())) {
                return service.path("state").asText();
            }
        }
        return null;
    }

    private static byte[] imageData() {
        byte[] data = new byte[256 * 1024];
        new java.util.Random(7).nextBytes(data);
        return data;
    }

    private static String createImage(ApiClient api) {
        String id = api.post("/image/v2/images", "{\"name\": \"tiny\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}")
                .expect(201).json().path("id").asText();
        api.sendBytes("PUT", "/image/v2/images/" + id + "/file", IMAGE_DATA,
                Map.of("Content-Type", "application/octet-stream")).expect(204);
        return id;
    }

    private static String createServer(ApiClient api, String image, String name) {
        return api.post("/compute/v2.1/servers", """
                {"server": {"name": "%s", "flavorRef": "1", "imageRef": "%s"}}""".formatted(name, image))
                .expect(202).json().path("server").path("id").asText();
    }

    /** A server on the given host (admins name it in the availability zone, as in Nova). */
    private static String createServer(ApiClient api, String image, String name, String host) {
        return api.post("/compute/v2.1/servers", """
                {"server": {"name": "%s", "flavorRef": "1", "imageRef": "%s", "availability_zone": "nova:%s"}}"""
                .formatted(name, image, host)).expect(202).json().path("server").path("id").asText();
    }

    /**
     * Waits until, over two seconds, every local controller's heartbeats arrive at its group
     * manager (as the hierarchy read from {@code url} says) and at no other controller, from
     * the per-host heartbeat counters each controller exposes on /metrics.
     */
    private static void awaitHeartbeatsAtTheirGroupManagers(String url, Map<Integer, String> controllers) {
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> {
            Map<Integer, Set<String>> managed = groupManagers(url);
            Map<Integer, Map<String, Double>> before = new HashMap<>();
            controllers.forEach((port, controller) -> before.put(port, heartbeatCounts(controller)));
            Thread.sleep(2000);
            for (Map.Entry<Integer, String> controller : controllers.entrySet()) {
                Map<String, Double> after = heartbeatCounts(controller.getValue());
                for (Map.Entry<Integer, Set<String>> gm : managed.entrySet()) {
                    for (String host : gm.getValue()) {
                        double received = after.getOrDefault(host, 0.0) - before.get(controller.getKey()).getOrDefault(host, 0.0);
                        boolean itsManager = gm.getKey().equals(controller.getKey());
                        if (itsManager ? received < 2 : received > 0) {
                            return false;
                        }
                    }
                }
            }
            return groupManagers(url).equals(managed);
        });
    }

    private static final java.util.regex.Pattern HEARTBEATS =
            java.util.regex.Pattern.compile("^strata_agent_heartbeats_total\\{host=\"([^\"]+)\"\\} ([0-9.E]+)$", java.util.regex.Pattern.MULTILINE);

    private static Map<String, Double> heartbeatCounts(String controller) {
        Map<String, Double> counts = new HashMap<>();
        java.util.regex.Matcher matcher = HEARTBEATS.matcher(new ApiClient(controller, null).get("/metrics").expect(200).text());
        while (matcher.find()) {
            counts.put(matcher.group(1), Double.parseDouble(matcher.group(2)));
        }
        return counts;
    }

    private static JsonNode server(ApiClient api, String id) {
        return api.get("/compute/v2.1/servers/" + id).expect(200).json().path("server");
    }

    private static Map<String, String> hostsOf(ApiClient api, List<String> ids) {
        Map<String, String> hosts = new HashMap<>();
        for (String id : ids) {
            hosts.put(id, server(api, id).path("OS-EXT-SRV-ATTR:host").asText());
        }
        return hosts;
    }

    /** The VMs a fake host has, from the state file its hypervisor keeps. */
    private List<String> vmsOn(String host) throws IOException {
        Path state = dir.resolve(host).resolve("fake").resolve(host + ".json");
        if (!Files.exists(state)) {
            return List.of();
        }
        List<String> ids = new ArrayList<>();
        for (JsonNode vm : io.strata.api.Json.MAPPER.readTree(state.toFile())) {
            ids.add(vm.path("id").asText());
        }
        return ids;
    }
}
