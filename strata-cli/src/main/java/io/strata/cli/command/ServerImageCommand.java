package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CliException;
import io.strata.cli.client.Json;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata server image create}: a snapshot of a server's disk, as a new image. */
@Command(name = "image", description = "Images of servers.")
final class ServerImageCommand {
    private final Cli cli;

    ServerImageCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "create", description = "Create an image (snapshot) of a server.")
    void create(@Mixin ShowOptions format, @Mixin WaitOptions wait,
            @Option(names = "--name", paramLabel = "<image-name>", description = "Name of the image (default: the server's).") String name,
            @Option(names = "--property", paramLabel = "<key=value>", description = "Image property (repeat for several).")
            Map<String, String> properties,
            @Parameters(paramLabel = "<server>", description = "Server (name or ID).") String server) {
        JsonNode found = cli.find().server(server, false);
        ObjectNode body = Json.object();
        ObjectNode action = body.putObject("createImage");
        action.put("name", name == null ? found.path("name").asText() : name);
        if (properties != null) {
            ObjectNode metadata = action.putObject("metadata");
            properties.forEach(metadata::put);
        }
        String imageId = cli.compute().post("/servers/" + found.path("id").asText() + "/action", body).path("image_id").asText(null);
        if (imageId == null) {
            throw new CliException("The cloud did not say which image it is creating (no image_id in the answer)");
        }
        JsonNode image = wait.enabled() ? untilActive(imageId, wait.timeout()) : cli.image().get("/images/" + imageId);
        cli.show(format, ImageCommand.fields(image));
    }

    private JsonNode untilActive(String imageId, Duration timeout) {
        ProgressLine progress = new ProgressLine(cli.terminal());
        long deadline = timeout == null ? 0 : System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode image = cli.image().get("/images/" + imageId);
            String status = image.path("status").asText();
            switch (status) {
                case "active" -> {
                    progress.finish("Image " + image.path("name").asText() + " is active");
                    return image;
                }
                case "killed", "deleted", "deactivated" -> {
                    progress.clear();
                    throw new CliException("Image " + image.path("name").asText() + " went to " + status + " instead of active");
                }
                default -> {
                    if (deadline != 0 && System.nanoTime() > deadline) {
                        progress.clear();
                        throw new CliException("Timed out after " + timeout.toSeconds() + " s waiting for image " + imageId
                                + " to be active; it is " + status);
                    }
                    progress.update("Image " + image.path("name").asText() + ": " + status, null);
                    ServerWaiter.sleep(500);
                }
            }
        }
    }
}
