package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.cli.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code strata status} (admin): one line per part of the cloud, and exit status 1 when any is
 * not well, so that it serves monitoring scripts too. The identity line proves the store works
 * (tokens are kept there); each compute host's line says whether its agent heartbeats.
 */
@Command(name = "status", description = "Health of the cloud: API, store, coordinator and each host's agent (admin).")
final class StatusCommand implements Callable<Integer> {
    private final Cli cli;

    @Mixin
    ListOptions format;

    StatusCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Override
    public Integer call() {
        List<List<Object>> rows = new ArrayList<>();
        boolean healthy = true;
        // Logging in reads and writes the store: if this answers, API and store are up.
        cli.session().token();
        rows.add(List.of("api", "up", cli.session().endpoint("compute")));
        rows.add(List.of("store", "up", "token issued and stored"));
        Response images = cli.image().tryGet("/images?limit=1");
        rows.add(List.of("image service", images.isError() ? "error" : "up", images.isError() ? "HTTP " + images.status() : ""));
        healthy &= !images.isError();
        List<Object> coordinator = coordinator(cli.session().endpoint("compute"));
        healthy &= coordinator.get(1).equals("up");
        rows.add(coordinator);
        for (JsonNode service : cli.compute().get("/os-services?binary=nova-compute").path("services")) {
            boolean up = service.path("state").asText().equals("up");
            healthy &= up;
            String detail = service.path("status").asText() + ", zone " + service.path("zone").asText() + ", last heartbeat "
                    + service.path("updated_at").asText();
            rows.add(List.of("agent " + service.path("host").asText(), up ? "up" : "down", detail));
        }
        cli.list(format, List.of("Component", "State", "Detail"), rows);
        return healthy ? 0 : 1;
    }

    /**
     * Who coordinates the hosts, as the Snooze bootstrap answers (no token needed): the elected
     * group leader when the controllers run on ZooKeeper, the process itself in the all-in-one.
     */
    private static List<Object> coordinator(String computeEndpoint) {
        String base = computeEndpoint.replaceFirst("/compute(/.*)?$", "");
        try {
            java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build();
            java.net.http.HttpResponse<String> response = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(base + "/bootstrap?getGroupLeaderDescription")).timeout(java.time.Duration.ofSeconds(10)).GET().build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return List.of("coordinator", "error", "bootstrap answered HTTP " + response.statusCode());
            }
            JsonNode leader = new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.body());
            if (leader.path("leaderElection").asText().equals("zookeeper")) {
                JsonNode address = leader.path("listenSettings").path("controlDataAddress");
                return List.of("coordinator", "up", "ZooKeeper; group leader " + address.path("address").asText() + ":"
                        + address.path("port").asText());
            }
            return List.of("coordinator", "up", "in-process (all-in-one)");
        } catch (java.io.IOException | RuntimeException e) {
            return List.of("coordinator", "error", "bootstrap at " + base + " did not answer: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of("coordinator", "error", "interrupted");
        }
    }
}
