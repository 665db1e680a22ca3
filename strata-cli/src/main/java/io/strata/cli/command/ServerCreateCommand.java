package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata server create}: boots a server, and with --wait follows it to ACTIVE. */
@Command(name = "create", description = "Create a server.")
final class ServerCreateCommand implements Callable<Integer> {
    @Mixin
    ShowOptions format;

    @Mixin
    WaitOptions wait;

    @Option(names = "--flavor", required = true, paramLabel = "<flavor>", description = "Flavor (name or ID).")
    String flavor;

    @Option(names = "--image", required = true, paramLabel = "<image>", description = "Image to boot (name or ID).")
    String image;

    @Option(names = "--key-name", paramLabel = "<key-name>", description = "Keypair to inject.")
    String keyName;

    @Option(names = "--user-data", paramLabel = "<user-data>", description = "File served to the guest as user data.")
    Path userData;

    @Option(names = "--property", paramLabel = "<key=value>", description = "Metadata (repeat for several).")
    Map<String, String> properties;

    @Option(names = "--availability-zone", paramLabel = "<zone-name>", description = "zone, zone:host or zone::node.")
    String zone;

    @Option(names = "--security-group", paramLabel = "<security-group>", description = "Security group (repeat for several).")
    List<String> securityGroups;

    @Option(names = "--network", paramLabel = "<network>", description = "Network to attach (repeat for several).")
    List<String> networks;

    @Option(names = "--nic", paramLabel = "<net-id=net-uuid,v4-fixed-ip=ip-addr,auto,none>", description = "A NIC (repeat for several).")
    List<String> nics;

    @Option(names = "--hint", paramLabel = "<key=value>", description = "Scheduler hint (repeat for several).")
    Map<String, String> hints;

    @Option(names = "--password", paramLabel = "<password>", description = "Administrator password of the guest.")
    String password;

    @Option(names = "--description", paramLabel = "<description>", description = "Description of the server.")
    String description;

    @Option(names = "--use-config-drive", description = "Give the guest a config drive.")
    boolean configDrive;

    @Option(names = "--min", paramLabel = "<count>", defaultValue = "1", description = "Create at least this many (default 1).")
    int min;

    @Option(names = "--max", paramLabel = "<count>", defaultValue = "1", description = "Create at most this many (default 1).")
    int max;

    @Parameters(paramLabel = "<server-name>", description = "Name of the new server.")
    String name;

    private final Cli cli;

    ServerCreateCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Override
    public Integer call() {
        if (min < 1 || max < min) {
            throw new CliException("min instances should be <= max instances and >= 1");
        }
        JsonNode created = cli.compute().post("/servers", body()).path("server");
        String id = created.path("id").asText();
        JsonNode server = wait.enabled()
                ? new ServerWaiter(cli.compute(), cli.terminal(), wait.timeout()).untilStatus(id, name, Set.of("ACTIVE"))
                : cli.compute().get("/servers/" + id).path("server");
        Map<String, Object> fields = new ServerView(cli.image()).detail(server);
        // The one chance to learn the generated password: Nova returns it only here.
        if (created.has("adminPass")) {
            fields.put("adminPass", created.path("adminPass").asText());
        }
        cli.show(format, fields);
        return 0;
    }

    private ObjectNode body() {
        ObjectNode server = Json.object();
        server.put("name", name);
        server.put("imageRef", cli.find().image(image).path("id").asText());
        server.put("flavorRef", cli.find().flavor(flavor).path("id").asText());
        server.set("networks", networks());
        Requests.putIfGiven(server, "key_name", keyName);
        if (userData != null) {
            server.put("user_data", Base64.getEncoder().encodeToString(read(userData)));
        }
        if (properties != null) {
            ObjectNode metadata = server.putObject("metadata");
            properties.forEach(metadata::put);
        }
        Requests.putIfGiven(server, "availability_zone", zone);
        Requests.putIfGiven(server, "description", description);
        Requests.putIfGiven(server, "adminPass", password);
        if (securityGroups != null) {
            ArrayNode groups = server.putArray("security_groups");
            securityGroups.forEach(group -> groups.addObject().put("name", group));
        }
        if (configDrive) {
            server.put("config_drive", true);
        }
        server.put("min_count", min);
        server.put("max_count", max);
        ObjectNode body = Json.object();
        body.set("server", server);
        if (hints != null) {
            ObjectNode schedulerHints = body.putObject("os:scheduler_hints");
            hints.forEach(schedulerHints::put);
        }
        return body;
    }

    /** {@code networks}: "auto" (microversion 2.37 requires the key) unless --network or --nic say otherwise. */
    private JsonNode networks() {
        List<String> all = new ArrayList<>();
        if (networks != null) {
            networks.forEach(network -> all.add("net-id=" + network));
        }
        if (nics != null) {
            all.addAll(nics);
        }
        if (all.isEmpty()) {
            return TextNode.valueOf("auto");
        }
        if (all.size() == 1 && (all.get(0).equals("auto") || all.get(0).equals("none"))) {
            return TextNode.valueOf(all.get(0));
        }
        ArrayNode list = Json.array();
        for (String nic : all) {
            ObjectNode entry = list.addObject();
            for (String part : nic.split(",")) {
                String[] keyValue = part.split("=", 2);
                String key = switch (keyValue.length == 2 ? keyValue[0] : "") {
                    case "net-id" -> {
                        // As the openstack client does: the network may be named; the API takes its id.
                        keyValue[1] = cli.find().network(keyValue[1]).path("id").asText();
                        yield "uuid";
                    }
                    case "port-id" -> "port";
                    case "v4-fixed-ip", "v6-fixed-ip" -> "fixed_ip";
                    case "tag" -> "tag";
                    default -> throw new CliException("Invalid --nic argument '" + nic
                            + "': expected net-id=<uuid>,port-id=<uuid>,v4-fixed-ip=<ip>,v6-fixed-ip=<ip>,tag=<tag>, auto or none");
                };
                entry.put(key, keyValue[1]);
            }
        }
        return list;
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CliException("Can't open '" + file + "': No such file or directory");
        } catch (IOException e) {
            throw new CliException("Can't open '" + file + "': " + e.getMessage());
        }
    }
}
