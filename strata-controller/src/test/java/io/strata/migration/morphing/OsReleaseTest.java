package io.strata.migration.morphing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** os-release(5) parsing and the family it maps to. */
class OsReleaseTest {
    @Test
    void quotedUnquotedAndCommentedLines() {
        OsRelease os = OsRelease.parse("""
                # a comment
                NAME='AlmaLinux'
                VERSION_ID="9.4"
                ID=almalinux
                ID_LIKE="rhel centos fedora"

                PRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"
                """);
        assertThat(os).isEqualTo(new OsRelease("almalinux", "rhel centos fedora", "AlmaLinux", "9.4", "AlmaLinux 9.4 (Seafoam Ocelot)"));
        assertThat(os.describe()).isEqualTo("AlmaLinux 9.4 (Seafoam Ocelot) (ID=almalinux, ID_LIKE=rhel centos fedora)");
        assertThat(OsFamily.of(os)).isEqualTo(OsFamily.RHEL);
    }

    @Test
    void familiesComeFromIdThenIdLike() {
        assertThat(OsFamily.of(OsRelease.parse("ID=ubuntu\n"))).isEqualTo(OsFamily.DEBIAN);
        assertThat(OsFamily.of(OsRelease.parse("ID=pop\nID_LIKE=\"ubuntu debian\"\n"))).isEqualTo(OsFamily.DEBIAN);
        assertThat(OsFamily.of(OsRelease.parse("ID=\"ol\"\n"))).isEqualTo(OsFamily.RHEL);
        assertThat(OsFamily.of(OsRelease.parse("ID=alpine\n"))).isNull();
        assertThat(OsFamily.of(OsRelease.parse("ID=opensuse-leap\nID_LIKE=\"suse opensuse\"\n"))).isNull();
        // Nothing but a name: described by NAME and VERSION_ID.
        assertThat(OsRelease.parse("NAME=Gentoo\n").describe()).isEqualTo("Gentoo (ID=linux)");
    }
}
