package io.strata.migration.morphing;

import java.util.LinkedHashMap;
import java.util.Map;

/** The fields of /etc/os-release that morphing decides on (os-release(5): KEY=value, optionally quoted). */
public record OsRelease(String id, String idLike, String name, String versionId, String prettyName) {
    public static OsRelease parse(String text) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int equals = line.indexOf('=');
            if (line.isBlank() || line.startsWith("#") || equals <= 0) {
                continue;
            }
            String value = line.substring(equals + 1).strip();
            if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"") || value.startsWith("'") && value.endsWith("'"))) {
                value = value.substring(1, value.length() - 1);
            }
            fields.put(line.substring(0, equals).strip(), value);
        }
        return new OsRelease(fields.getOrDefault("ID", "linux"), fields.getOrDefault("ID_LIKE", ""), fields.getOrDefault("NAME", "Linux"),
                fields.getOrDefault("VERSION_ID", ""), fields.getOrDefault("PRETTY_NAME", ""));
    }

    /** "Debian GNU/Linux 12 (bookworm) (ID=debian)". */
    public String describe() {
        String shown = prettyName.isEmpty() ? (name + " " + versionId).strip() : prettyName;
        return shown + " (ID=" + id + (idLike.isEmpty() ? "" : ", ID_LIKE=" + idLike) + ")";
    }
}
