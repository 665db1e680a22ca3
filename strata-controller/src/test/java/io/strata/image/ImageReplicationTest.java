package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import io.strata.store.Database;
import io.strata.store.TestDatabases;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Two controllers with image directories of their own over one database: an image deleted
 * through A loses B's copy in B's replication rounds, and only when its row stays gone for two
 * rounds (a file committed just before its row is inserted survives one).
 */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ImageReplicationTest {
    @Parameter
    TestDatabases.Kind kind;

    @TempDir
    Path dir;

    private Database database;
    private ImageService throughA;
    private ImageFiles filesB;
    private ImageReplication replicationB;
    private final AuthContext alice = ImageServiceTest.auth("project-a", "member", "reader");

    @BeforeEach
    void start() {
        database = TestDatabases.open(kind);
        ImageStore store = new ImageStore(database.jdbi());
        ImageFiles filesA = new ImageFiles(dir.resolve("a"));
        ImageReplication replicationA = new ImageReplication(store, filesA, "http://127.0.0.1:1", "token", Duration.ofSeconds(2));
        throughA = new ImageService(store, filesA, Policy.defaults(), Clock.systemUTC(), replicationA, ImageService.DEFAULT_SIZE_CAP);
        filesB = new ImageFiles(dir.resolve("b"));
        replicationB = new ImageReplication(store, filesB, "http://127.0.0.1:2", "token", Duration.ofSeconds(2));
    }

    @AfterEach
    void stop() {
        replicationB.close();
        database.close();
    }

    @Test
    void aCopyOfAnImageDeletedThroughAnotherControllerGoesInTwoRounds() throws Exception {
        Image kept = image("kept");
        Image doomed = image("doomed");
        // B holds copies of both, as its replication leaves them.
        Path keptOnB = copyToB(kept);
        Path doomedOnB = copyToB(doomed);

        throughA.delete(alice, doomed.id());
        replicationB.sync();
        assertThat(doomedOnB).as("one round without a row is not enough").exists();
        replicationB.sync();
        assertThat(doomedOnB).doesNotExist();
        assertThat(keptOnB).exists();

        // A file whose row comes after it (createFromFile commits first) survives a round in which it has no row.
        Path early = dir.resolve("b").resolve("0b6f1bb8-3b0e-4d6e-9d1e-8a7c5f2e4a10");
        Files.writeString(early, "data");
        replicationB.sync();
        assertThat(early).exists();
        replicationB.sync();
        assertThat(early).as("still no row the round after: an orphan").doesNotExist();
        replicationB.sync();
        assertThat(keptOnB).exists();
    }

    private Image image(String name) throws Exception {
        Path source = Files.writeString(dir.resolve(name + ".raw"), name.repeat(100), StandardCharsets.UTF_8);
        return throughA.createFromFile(alice, name, Map.of(), "raw", "bare", source);
    }

    private Path copyToB(Image image) throws Exception {
        Path copy = dir.resolve("b").resolve(image.id());
        Files.copy(dir.resolve("a").resolve(image.id()), copy);
        return copy;
    }
}
