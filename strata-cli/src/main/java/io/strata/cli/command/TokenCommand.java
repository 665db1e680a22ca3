package io.strata.cli.command;

import static java.util.Objects.requireNonNull;

import io.strata.cli.client.Token;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code strata token issue}: a token for scripts (curl -H "X-Auth-Token: …"). */
@Command(name = "token", description = "Tokens (Identity).")
final class TokenCommand {
    private static final DateTimeFormatter EXPIRES = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxx");

    private final Cli cli;

    TokenCommand(Cli cli) {
        this.cli = requireNonNull(cli, "cli is null");
    }

    @Command(name = "issue", description = "Issue a new token.")
    void issue(@Mixin ShowOptions format) {
        Token token = cli.session().token();
        Map<String, Object> fields = new TreeMap<>();
        fields.put("expires", expires(token.expiresAt()));
        fields.put("id", token.id());
        if (token.projectId() != null) {
            fields.put("project_id", token.projectId());
        }
        if (token.domainId() != null) {
            fields.put("domain_id", token.domainId());
        }
        fields.put("user_id", token.userId());
        cli.show(format, fields);
    }

    /** The openstack client prints 2026-11-22T20:17:28+0000 for Keystone's 2026-11-22T20:17:28.000000Z. */
    static String expires(String expiresAt) {
        if (expiresAt == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(expiresAt).withOffsetSameInstant(ZoneOffset.UTC).format(EXPIRES);
        } catch (DateTimeParseException e) {
            return expiresAt;
        }
    }
}
