package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sealing of connection info: round trip, binding to the secret's id, key file handling. */
class SecretBoxTest {
    @TempDir
    Path dir;

    @Test
    void sealsAndOpensOnlyWithTheSameIdAndKey() throws Exception {
        Path keyFile = dir.resolve("migration/secret.key");
        SecretBox box = SecretBox.open(keyFile);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");
        SecretBox.Sealed sealed = box.seal("id-1", "{\"password\": \"s3cret\"}");
        assertThat(sealed.ciphertext()).doesNotContain("s3cret");
        assertThat(box.open("id-1", sealed)).isEqualTo("{\"password\": \"s3cret\"}");
        // The same plaintext seals differently each time (fresh nonce).
        assertThat(box.seal("id-1", "{\"password\": \"s3cret\"}").ciphertext()).isNotEqualTo(sealed.ciphertext());
        // Moved to another row, or opened under another data directory's key: refused.
        assertThatThrownBy(() -> box.open("id-2", sealed)).hasMessageContaining("cannot be decrypted");
        SecretBox other = SecretBox.open(dir.resolve("other/secret.key"));
        assertThatThrownBy(() -> other.open("id-1", sealed)).hasMessageContaining("cannot be decrypted");
        // Reopening the same key file finds the same key.
        assertThat(SecretBox.open(keyFile).open("id-1", sealed)).contains("s3cret");
    }
}
