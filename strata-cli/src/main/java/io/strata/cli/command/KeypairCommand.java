package io.strata.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.cli.client.CloudClient;
import io.strata.cli.client.CloudException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code strata keypair …}: generate (private key printed or saved once) or import. */
@Command(name = "keypair", description = "SSH keypairs (Compute).", mixinStandardHelpOptions = true)
final class KeypairCommand {
    @Command(name = "list", description = "List keypairs.")
    int list(@Mixin ClientOptions o) {
        List<List<Object>> rows = new ArrayList<>();
        for (JsonNode k : o.client().get("compute", "/os-keypairs").path("keypairs")) {
            JsonNode kp = k.path("keypair");
            rows.add(List.of(kp.path("name").asText(), kp.path("fingerprint").asText(), kp.path("type").asText("ssh")));
        }
        o.output().list(List.of("Name", "Fingerprint", "Type"), rows);
        return 0;
    }

    @Command(name = "show", description = "Show a keypair.")
    int show(@Mixin ClientOptions o, @Option(names = "--public-key", description = "Print only the public key.") boolean publicKey,
            @Parameters(paramLabel = "<key>") String name) {
        JsonNode k = o.client().get("compute", "/os-keypairs/" + CloudClient.encode(name)).path("keypair");
        if (publicKey) {
            System.out.println(k.path("public_key").asText().strip());
            return 0;
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("created_at", k.path("created_at").asText());
        fields.put("fingerprint", k.path("fingerprint").asText());
        fields.put("id", k.path("name").asText());
        fields.put("name", k.path("name").asText());
        fields.put("type", k.path("type").asText("ssh"));
        fields.put("user_id", k.path("user_id").asText());
        o.output().show(fields);
        return 0;
    }

    @Command(name = "create", description = "Create a keypair: import --public-key FILE, or generate one and print its private key.")
    int create(@Mixin ClientOptions o, @Option(names = "--public-key", description = "Public key file to import.") Path publicKey,
            @Option(names = "--private-key", description = "Write the generated private key to this file (0600).") Path privateKey,
            @Option(names = "--type", defaultValue = "ssh", description = "ssh or x509.") String type,
            @Parameters(paramLabel = "<name>") String name) throws IOException {
        ObjectNode kp = CloudClient.object();
        kp.put("name", name);
        kp.put("type", type);
        if (publicKey != null) {
            if (!Files.isRegularFile(publicKey)) {
                throw new CloudException(0, "Key file " + publicKey + " not found");
            }
            kp.put("public_key", Files.readString(publicKey).strip());
        }
        ObjectNode body = CloudClient.object();
        body.set("keypair", kp);
        JsonNode created = o.client().post("compute", "/os-keypairs", body).path("keypair");
        String secret = created.path("private_key").asText(null);
        if (secret != null && privateKey == null) {
            System.out.print(secret);
            return 0;
        }
        if (secret != null) {
            Files.writeString(privateKey, secret);
            Files.setPosixFilePermissions(privateKey, PosixFilePermissions.fromString("rw-------"));
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("fingerprint", created.path("fingerprint").asText());
        fields.put("name", created.path("name").asText());
        fields.put("type", created.path("type").asText("ssh"));
        fields.put("user_id", created.path("user_id").asText());
        if (privateKey != null) {
            fields.put("private_key", privateKey.toString());
        }
        o.output().show(fields);
        return 0;
    }

    @Command(name = "delete", description = "Delete keypairs.")
    int delete(@Mixin ClientOptions o, @Parameters(paramLabel = "<key>", arity = "1..*") List<String> names) {
        for (String name : names) {
            o.client().delete("compute", "/os-keypairs/" + CloudClient.encode(name));
        }
        return 0;
    }
}
