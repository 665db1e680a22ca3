package io.strata.migration.morphing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** The Linux families morphing knows how to adapt, recognised by os-release's ID and ID_LIKE. */
enum OsFamily {
    DEBIAN("Debian", "debian", Set.of("debian", "ubuntu", "linuxmint", "raspbian", "devuan")),
    RHEL("RHEL", "rhel", Set.of("rhel", "centos", "rocky", "almalinux", "fedora", "ol", "scientific"));

    private final String displayName;
    private final String scriptName;
    private final Set<String> ids;

    OsFamily(String displayName, String scriptName, Set<String> ids) {
        this.displayName = displayName;
        this.scriptName = scriptName;
        this.ids = ids;
    }

    String displayName() {
        return displayName;
    }

    /** The family argument of {@link MorphScripts#MORPH}. */
    String scriptName() {
        return scriptName;
    }

    /** The family of {@code os}, or null when morphing does not support it. */
    static OsFamily of(OsRelease os) {
        List<String> names = new ArrayList<>();
        names.add(os.id().toLowerCase());
        names.addAll(Arrays.asList(os.idLike().toLowerCase().split("\\s+")));
        for (String name : names) {
            for (OsFamily family : values()) {
                if (family.ids.contains(name)) {
                    return family;
                }
            }
        }
        return null;
    }
}
