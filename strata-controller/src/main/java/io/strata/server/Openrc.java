package io.strata.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The credentials file {@code source <data-dir>/openrc} reads, as devstack writes it. */
public final class Openrc {
    private static final Pattern PASSWORD = Pattern.compile("(?m)^export OS_PASSWORD='?([^'\\n]*)'?$");

    private Openrc() {}

    public static void write(Path file, String baseUrl, String region, String user, String password, String project) throws IOException {
        String text = """
                # Written by strata up: source this file to use the openstack client against this cloud.
                export OS_AUTH_URL=%s/identity
                export OS_IDENTITY_API_VERSION=3
                export OS_AUTH_TYPE=password
                export OS_USERNAME=%s
                export OS_PASSWORD='%s'
                export OS_PROJECT_NAME=%s
                export OS_USER_DOMAIN_NAME=Default
                export OS_PROJECT_DOMAIN_NAME=Default
                export OS_REGION_NAME=%s
                export OS_INTERFACE=public
                """.formatted(baseUrl, user, password.replace("'", "'\\''"), project, region);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system; the file still works
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** The password an earlier start wrote, or null. */
    public static String readPassword(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        Matcher matcher = PASSWORD.matcher(Files.readString(file));
        return matcher.find() ? matcher.group(1).replace("'\\''", "'") : null;
    }
}
