package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import io.strata.cli.output.Output;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata server …}: the openstack client's server commands. */
@Command(name = "server", description = "Servers (Compute).", mixinStandardHelpOptions = true,
        subcommands = {ServerCommand.Console.class, ServerCommand.Image.class})
final class ServerCommand {
    private static final Duration WAIT = Duration.ofMinutes(10);

    @Command(name = "list", description = "List servers.")
    int list(@Mixin ClientOptions o,
            @Option(names = "--all-projects", description = "Servers of every project (admin).") boolean all,
            @Option(names = "--name", description = "Regular expression matched against the name.") String name,
            @Option(names = "--status", description = "Only servers in this status.") String status,
            @Option(names = "--host", description = "Only servers on this host (admin).") String host,
            @Option(names = "--limit", description = "At most this many servers.") Integer limit,
            @Option(names = "--long", description = "More columns.") boolean longFormat) {
        CloudClient c = o.client();
        StringBuilder query = new StringBuilder("/servers/detail?");
        if (all) {
            query.append("all_tenants=1&");
        }
        if (name != null) {
            query.append("name=").append(CloudClient.encode(name)).append('&');
        }
        if (status != null) {
            query.append("status=").append(CloudClient.encode(status)).append('&');
        }
        if (host != null) {
            query.append("host=").append(CloudClient.encode(host)).append('&');
        }
        List<List<Object>> rows = new ArrayList<>();
        Map<String, String> imageNames = new LinkedHashMap<>();
        String marker = null;
        do {
            String page = query + (limit != null ? "limit=" + limit : "") + (marker == null ? "" : "&marker=" + marker);
            JsonNode servers = c.get("compute", page).path("servers");
            for (JsonNode s : servers) {
                List<Object> row = new ArrayList<>(List.of(s.path("id").asText(), s.path("name").asText(), s.path("status").asText(),
                        networks(s), imageName(c, s, imageNames), s.path("flavor").path("original_name").asText()));
                if (longFormat) {
                    row.add(s.path("OS-EXT-STS:task_state").isNull() ? "None" : s.path("OS-EXT-STS:task_state").asText());
                    row.add(powerState(s.path("OS-EXT-STS:power_state").asInt()));
                    row.add(s.path("OS-EXT-AZ:availability_zone").asText());
                    row.add(s.path("OS-EXT-SRV-ATTR:host").asText(""));
                    row.add(s.path("metadata"));
                }
                rows.add(row);
            }
            marker = limit == null && servers.size() == 1000 ? servers.get(servers.size() - 1).path("id").asText() : null;
        } while (marker != null);
        List<String> header = new ArrayList<>(List.of("ID", "Name", "Status", "Networks", "Image", "Flavor"));
        if (longFormat) {
            header.addAll(List.of("Task State", "Power State", "Availability Zone", "Host", "Properties"));
        }
        o.output().list(header, rows);
        return 0;
    }

    @Command(name = "show", description = "Show a server.")
    int show(@Mixin ClientOptions o, @Parameters(paramLabel = "<server>") String server) {
        print(o, Resolve.server(o.client(), server));
        return 0;
    }

    @Command(name = "create", description = "Create a server.")
    int create(@Mixin ClientOptions o,
            @Option(names = "--flavor", required = true, description = "Flavor name or id.") String flavor,
            @Option(names = "--image", required = true, description = "Image name or id.") String image,
            @Option(names = "--key-name", description = "Keypair to inject.") String keyName,
            @Option(names = "--user-data", description = "File whose content is passed as user data.") Path userData,
            @Option(names = "--property", description = "key=value metadata (repeatable).") Map<String, String> properties,
            @Option(names = "--availability-zone", description = "zone, zone:host or zone::node.") String zone,
            @Option(names = "--min", defaultValue = "1", description = "Create at least this many servers.") int min,
            @Option(names = "--max", defaultValue = "1", description = "Create at most this many servers.") int max,
            @Option(names = "--description") String description,
            @Option(names = "--wait", description = "Wait until the server is ACTIVE.") boolean await,
            @Parameters(paramLabel = "<server-name>") String name) throws IOException {
        CloudClient c = o.client();
        ObjectNode s = CloudClient.object();
        s.put("name", name);
        s.put("flavorRef", Resolve.flavor(c, flavor).path("id").asText());
        s.put("imageRef", Resolve.image(c, image).path("id").asText());
        s.put("networks", "auto");
        if (keyName != null) {
            s.put("key_name", keyName);
        }
        if (userData != null) {
            s.put("user_data", Base64.getEncoder().encodeToString(Files.readAllBytes(userData)));
        }
        if (properties != null) {
            ObjectNode metadata = s.putObject("metadata");
            properties.forEach(metadata::put);
        }
        if (zone != null) {
            s.put("availability_zone", zone);
        }
        if (description != null) {
            s.put("description", description);
        }
        s.put("min_count", min);
        s.put("max_count", Math.max(min, max));
        ObjectNode body = CloudClient.object();
        body.set("server", s);
        JsonNode created = c.post("compute", "/servers", body).path("server");
        String id = created.path("id").asText();
        JsonNode server = await ? new Progress(c).waitFor(id, "server " + name, x -> x.path("status").asText().equals("ACTIVE")
                && x.path("OS-EXT-STS:task_state").isNull(), WAIT) : c.get("compute", "/servers/" + id).path("server");
        Map<String, Object> fields = fields(c, server);
        fields.put("adminPass", created.path("adminPass").asText());
        o.output().show(fields);
        return 0;
    }

    @Command(name = "delete", description = "Delete servers.")
    int delete(@Mixin ClientOptions o, @Option(names = "--wait", description = "Wait until they are gone.") boolean await,
            @Parameters(paramLabel = "<server>", arity = "1..*") List<String> servers) {
        CloudClient c = o.client();
        List<String[]> deleted = new ArrayList<>();
        for (String name : servers) {
            JsonNode s = Resolve.server(c, name);
            c.delete("compute", "/servers/" + s.path("id").asText());
            deleted.add(new String[] {s.path("id").asText(), name});
        }
        if (await) {
            for (String[] s : deleted) {
                new Progress(c).waitGone(s[0], "server " + s[1], WAIT);
            }
        }
        return 0;
    }

    @Command(name = "start", description = "Start servers.")
    int start(@Mixin ClientOptions o, @Option(names = "--wait") boolean await, @Parameters(arity = "1..*") List<String> servers) {
        return power(o, servers, "{\"os-start\": null}", "ACTIVE", await);
    }

    @Command(name = "stop", description = "Stop servers.")
    int stop(@Mixin ClientOptions o, @Option(names = "--wait") boolean await, @Parameters(arity = "1..*") List<String> servers) {
        return power(o, servers, "{\"os-stop\": null}", "SHUTOFF", await);
    }

    @Command(name = "pause", description = "Pause servers.")
    int pause(@Mixin ClientOptions o, @Option(names = "--wait") boolean await, @Parameters(arity = "1..*") List<String> servers) {
        return power(o, servers, "{\"pause\": null}", "PAUSED", await);
    }

    @Command(name = "unpause", description = "Unpause servers.")
    int unpause(@Mixin ClientOptions o, @Option(names = "--wait") boolean await, @Parameters(arity = "1..*") List<String> servers) {
        return power(o, servers, "{\"unpause\": null}", "ACTIVE", await);
    }

    @Command(name = "suspend", description = "Suspend servers (state saved to disk).")
    int suspend(@Mixin ClientOptions o, @Option(names = "--wait") boolean await, @Parameters(arity = "1..*") List<String> servers) {
        return power(o, servers, "{\"suspend\": null}", "SUSPENDED", await);
    }

    @Command(name = "resume", description = "Resume suspended servers.")
    int resume(@Mixin ClientOptions o, @Option(names = "--wait") boolean await, @Parameters(arity = "1..*") List<String> servers) {
        return power(o, servers, "{\"resume\": null}", "ACTIVE", await);
    }

    @Command(name = "reboot", description = "Reboot a server.")
    int reboot(@Mixin ClientOptions o, @Option(names = "--hard", description = "Reset instead of asking the guest.") boolean hard,
            @Option(names = "--soft", description = "Ask the guest to reboot (default).") boolean soft,
            @Option(names = "--wait") boolean await, @Parameters(paramLabel = "<server>") String server) {
        return power(o, List.of(server), "{\"reboot\": {\"type\": \"" + (hard ? "HARD" : "SOFT") + "\"}}", "ACTIVE", await);
    }

    private static int power(ClientOptions o, List<String> servers, String action, String target, boolean await) {
        CloudClient c = o.client();
        for (String name : servers) {
            String id = Resolve.server(c, name).path("id").asText();
            c.post("compute", "/servers/" + id + "/action", parse(action));
            if (await) {
                // A reboot passes through REBOOT; wait for the task to end, not only for the status.
                new Progress(c).waitFor(id, "server " + name, s -> s.path("status").asText().equals(target)
                        && s.path("OS-EXT-STS:task_state").isNull(), WAIT);
            }
        }
        return 0;
    }

    @Command(name = "set", description = "Change a server's name or properties.")
    int set(@Mixin ClientOptions o, @Option(names = "--name") String newName,
            @Option(names = "--property", description = "key=value metadata (repeatable).") Map<String, String> properties,
            @Option(names = "--description") String description, @Parameters(paramLabel = "<server>") String server) {
        CloudClient c = o.client();
        String id = Resolve.server(c, server).path("id").asText();
        if (newName != null || description != null) {
            ObjectNode s = CloudClient.object();
            if (newName != null) {
                s.put("name", newName);
            }
            if (description != null) {
                s.put("description", description);
            }
            ObjectNode body = CloudClient.object();
            body.set("server", s);
            c.put("compute", "/servers/" + id, body);
        }
        if (properties != null) {
            ObjectNode body = CloudClient.object();
            ObjectNode metadata = body.putObject("metadata");
            properties.forEach(metadata::put);
            c.post("compute", "/servers/" + id + "/metadata", body);
        }
        return 0;
    }

    @Command(name = "console", description = "Server consoles.", subcommands = {ConsoleLog.class})
    static final class Console {
    }

    @Command(name = "log", description = "Console logs.")
    static final class ConsoleLog {
        @Command(name = "show", description = "Show the server's console log.")
        int show(@Mixin ClientOptions o, @Option(names = "--lines", description = "Only the last N lines.") Integer lines,
                @Parameters(paramLabel = "<server>") String server) {
            return ConsoleCommand.printLog(o, server, lines);
        }
    }

    @Command(name = "image", description = "Images of servers.")
    static final class Image {
        @Command(name = "create", description = "Create an image (snapshot) of a server.")
        int create(@Mixin ClientOptions o, @Option(names = "--name", description = "Image name (default: the server's).") String name,
                @Option(names = "--wait", description = "Wait until the image is active.") boolean await,
                @Parameters(paramLabel = "<server>") String server) {
            CloudClient c = o.client();
            JsonNode s = Resolve.server(c, server);
            ObjectNode action = CloudClient.object();
            action.putObject("createImage").put("name", name == null ? s.path("name").asText() : name);
            String imageId = c.post("compute", "/servers/" + s.path("id").asText() + "/action", action).path("image_id").asText();
            JsonNode image = c.get("image", "/images/" + imageId);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (await && !image.path("status").asText().equals("active")) {
                if (System.nanoTime() > deadline) {
                    throw new CloudException(0, "Timed out waiting for image " + imageId);
                }
                sleep();
                image = c.get("image", "/images/" + imageId);
            }
            ImageCommand.print(o, image);
            return 0;
        }
    }

    // ------------------------------------------------------------------ rendering

    static void print(ClientOptions o, JsonNode server) {
        o.output().show(fields(o.client(), server));
    }

    private static Map<String, Object> fields(CloudClient c, JsonNode s) {
        Map<String, Object> f = new LinkedHashMap<>();
        s.fields().forEachRemaining(e -> {
            switch (e.getKey()) {
                case "links", "tenant_id", "metadata", "flavor", "image", "addresses", "os-extended-volumes:volumes_attached" -> { }
                case "security_groups" -> {
                    List<String> names = new ArrayList<>();
                    e.getValue().forEach(g -> names.add("name='" + g.path("name").asText() + "'"));
                    f.put("security_groups", String.join("\n", names));
                }
                default -> f.put(e.getKey(), e.getValue());
            }
        });
        f.put("addresses", networks(s));
        f.put("flavor", s.path("flavor").has("original_name") ? s.path("flavor").path("original_name").asText()
                : s.path("flavor").path("id").asText());
        f.put("image", imageName(c, s, new LinkedHashMap<>()) + (s.path("image").isObject() ? " (" + s.path("image").path("id").asText() + ")" : ""));
        f.put("project_id", s.path("tenant_id"));
        f.put("properties", s.path("metadata"));
        f.put("volumes_attached", "");
        return new java.util.TreeMap<>(f);
    }

    static String networks(JsonNode server) {
        List<String> nets = new ArrayList<>();
        server.path("addresses").fields().forEachRemaining(e -> {
            List<String> ips = new ArrayList<>();
            e.getValue().forEach(a -> ips.add(a.path("addr").asText()));
            nets.add(e.getKey() + "=" + String.join(", ", ips));
        });
        return String.join("; ", nets);
    }

    private static String imageName(CloudClient c, JsonNode server, Map<String, String> cache) {
        JsonNode image = server.path("image");
        if (!image.isObject()) {
            return "N/A (booted from volume)";
        }
        String id = image.path("id").asText();
        return cache.computeIfAbsent(id, x -> {
            try {
                return c.get("image", "/images/" + x).path("name").asText(x);
            } catch (CloudException e) {
                return x;
            }
        });
    }

    private static String powerState(int code) {
        return switch (code) {
            case 1 -> "Running";
            case 3 -> "Paused";
            case 4 -> "Shutdown";
            case 6 -> "Crashed";
            case 7 -> "Suspended";
            default -> "NOSTATE";
        };
    }

    static JsonNode parse(String json) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void sleep() {
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudException(0, "interrupted");
        }
    }

    static Output output(ClientOptions o) {
        return o.output();
    }
}
